"""Curvature of the loss at a network's parameters: Hessian and empirical Fisher (chapter 10).

``L(w) = loss_fn(model(x), y)`` is the mean per-sample loss on ``data = (x, y)`` and ``w`` all
trainable parameters of ``model``, flattened in ``model.named_parameters()`` order (``d`` of them).

- :func:`hessian` builds the full ``d x d`` Hessian (small models only).
- :func:`hessian_trace` is Hutchinson's estimator ``tr H ~ (1/m) sum_k v_k^T H v_k`` with
  Rademacher vectors ``v_k`` (``E[v v^T] = I``), each ``H v`` a reverse-over-reverse
  Hessian-vector product; its standard error is ``hessian_trace_error``.
- :func:`fisher_trace` is the trace of the empirical Fisher ``F = (1/n) sum_i g_i g_i^T`` with
  ``g_i`` the gradient of the loss on sample ``i`` alone, i.e. ``(1/n) sum_i ||g_i||^2``, exact,
  from per-sample gradients (``torch.func.vmap`` of ``torch.func.grad``).

All derivatives are reverse over reverse (the pullback of the gradient), which every torch
layer and loss supports; forward-mode (``jvp``) is missing for some (``F.soft_margin_loss``) and
fails inside others (``F.mse_loss``: "ZeroTensors are immutable"). The model is evaluated in eval
mode, as :func:`utils.training.evaluate` does: dropout off and batch norm on its running
statistics, so that ``L`` is a deterministic mean of per-sample losses.

None of them changes the model's parameters or buffers (they evaluate
``torch.func.functional_call`` on detached copies). ``loss_fn`` must average over samples, so
that on one sample it is that sample's loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, grad, vjp, vmap

from ._validate import (
    as_rectangular,
    check_callable,
    check_data,
    check_int,
    check_mean_loss,
    check_module,
    check_real,
    check_seed,
    eval_mode,
)

__all__ = ["fisher_trace", "hessian", "hessian_rank", "hessian_trace", "hessian_trace_error"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _flat_loss(model: Any, loss_fn: Any, data: Any) -> tuple[Callable[..., torch.Tensor], torch.Tensor]:
    """``(f, w)``: ``f(flat, x, y)`` is the loss at flat parameters ``flat``; ``w`` the model's flat parameters."""
    check_module("model", model)
    check_callable("loss_fn", loss_fn, "loss_fn(model(x), y)")
    x, y = check_data("data", data)
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model must have trainable parameters (requires_grad), found none")
    check_mean_loss(model, loss_fn, x, y)  # in eval mode (it sets it itself)
    names = [k for k, _ in named]
    shapes = [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]
    frozen = {k: v.detach() for k, v in model.named_parameters() if k not in names}
    # copies of the buffers: nothing writes to the model's own
    frozen.update({k: b.detach().clone() for k, b in model.named_buffers()})
    w = torch.cat([p.detach().reshape(-1) for _, p in named]).clone()

    def f(flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        params = dict(frozen)
        for k, piece, shape in zip(names, torch.split(flat, sizes), shapes, strict=True):
            params[k] = piece.reshape(shape)
        return loss_fn(functional_call(model, params, (x,)), y)

    return f, w


def hessian(model: torch.nn.Module, loss_fn: LossFn, data: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The full Hessian ``d^2 L / dw dw`` at the model's parameters, shape ``(d, d)`` (chapter 10)."""
    with eval_mode(check_module("model", model)):
        f, w = _flat_loss(model, loss_fn, data)
        x, y = data
        _, pullback = vjp(grad(lambda flat: f(flat, x, y)), w)
        basis = torch.eye(w.numel(), dtype=w.dtype)
        try:
            rows = vmap(lambda e: pullback(e)[0], chunk_size=256)(basis)
        except RuntimeError:  # a model that vmap cannot batch: one row at a time
            rows = torch.stack([pullback(e)[0] for e in basis])
        return rows.detach()


def hessian_rank(H: torch.Tensor | np.ndarray, *, rtol: float = 1e-6) -> int:
    """Number of Hessian eigenvalues with ``|e| > rtol * max |e|`` (a numerical rank, chapter 10)."""
    rtol = check_real("rtol", rtol, positive=True)
    h = as_rectangular("H", H, "a square matrix of real numbers")
    if h.ndim != 2 or h.shape[0] != h.shape[1] or h.size == 0:
        raise ValueError(f"H must be a non-empty square matrix (d, d), got shape {h.shape}")
    if h.dtype.kind not in "iuf":
        raise TypeError(f"H must be a square matrix of real numbers, got dtype {h.dtype}")
    if not np.all(np.isfinite(h)):
        raise ValueError("H must be finite")
    e = np.linalg.eigvalsh(h.astype(float))
    top = np.abs(e).max()
    return int(np.sum(np.abs(e) > rtol * top)) if top > 0 else 0


def _hutchinson(model: Any, loss_fn: Any, data: Any, num_samples: Any, seed: Any) -> torch.Tensor:
    """The ``num_samples`` values ``v^T H v`` for Rademacher ``v`` drawn with ``seed``."""
    num_samples = check_int("num_samples", num_samples, minimum=1)
    seed = check_seed("seed", seed)
    with eval_mode(check_module("model", model)):
        return _quadratic_forms(model, loss_fn, data, num_samples, seed)


def _quadratic_forms(model: Any, loss_fn: Any, data: Any, num_samples: int, seed: int) -> torch.Tensor:
    f, w = _flat_loss(model, loss_fn, data)
    x, y = data
    gen = torch.Generator().manual_seed(seed)
    v = (torch.randint(0, 2, (num_samples, w.numel()), generator=gen) * 2 - 1).to(w.dtype)
    # H v as the pullback of the gradient (reverse over reverse): forward over reverse (jvp) fails
    # inside F.mse_loss's backward ("ZeroTensors are immutable", torch 2.13)
    _, pullback = vjp(grad(lambda flat: f(flat, x, y)), w)

    def quad(vec: torch.Tensor) -> torch.Tensor:  # v^T H v (H is symmetric, so v^T H = (H v)^T)
        return torch.dot(vec, pullback(vec)[0])

    try:
        return vmap(quad)(v).detach()
    except RuntimeError:  # a model that vmap cannot batch: one vector at a time
        return torch.stack([quad(vec) for vec in v]).detach()


def hessian_trace(
    model: torch.nn.Module,
    loss_fn: LossFn,
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    num_samples: int = 100,
    seed: int = 0,
) -> float:
    """Hutchinson's estimate ``(1/m) sum_k v_k^T H v_k`` of ``tr H`` (Rademacher ``v_k``, ``m = num_samples``) (chapter 10).

    Unbiased; its variance is ``(2/m) (||H||_F^2 - sum_i H_ii^2)``, so it is exact for a
    diagonal Hessian. See :func:`hessian_trace_error` for the standard error.
    """
    return float(_hutchinson(model, loss_fn, data, num_samples, seed).mean())


def hessian_trace_error(
    model: torch.nn.Module,
    loss_fn: LossFn,
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    num_samples: int = 100,
    seed: int = 0,
) -> float:
    """Standard error of :func:`hessian_trace` with the same arguments: ``std(v^T H v) / sqrt(m)`` (chapter 10)."""
    num_samples = check_int("num_samples", num_samples, minimum=2)  # a standard error needs two values
    values = _hutchinson(model, loss_fn, data, num_samples, seed)
    return float(values.std() / values.numel() ** 0.5)


def fisher_trace(model: torch.nn.Module, loss_fn: LossFn, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Trace of the empirical Fisher, ``(1/n) sum_i ||grad_w loss_i||^2``, exact via per-sample gradients (chapter 10).

    ``loss_i = loss_fn(model(x[i:i+1]), y[i:i+1])``. At a minimum with zero residuals (a
    noiseless teacher fitted exactly) every ``grad loss_i`` vanishes, so this trace is 0 even
    where the Hessian is not.
    """
    with eval_mode(check_module("model", model)):
        return _fisher_trace(model, loss_fn, data)


def _fisher_trace(model: Any, loss_fn: Any, data: Any) -> float:
    f, w = _flat_loss(model, loss_fn, data)
    x, y = data

    def per_sample(xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return grad(f)(w, xi.unsqueeze(0), yi.unsqueeze(0))

    try:
        grads = vmap(per_sample, chunk_size=1024)(x, y)
    except RuntimeError:  # a model that vmap cannot batch: one sample at a time
        grads = torch.stack([per_sample(xi, yi) for xi, yi in zip(x, y, strict=True)])
    return float(grads.detach().pow(2).sum() / x.shape[0])
