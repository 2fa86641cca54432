"""Deep linear networks at an exact factorisation of a teacher, and their loss (chapter 9).

The exact learning coefficient of such a network is :func:`utils.slt.learning_coefficient_dln`
(exact, without torch); chapter 9 holds the LLC estimates of :func:`utils.llc.estimate_llc` on
these networks against it. :func:`half_squared_error` is the loss that
:func:`~utils.llc.estimate_llc` evaluates for all chains in one fused operation.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validate import check_int, check_int_sequence, check_real, check_seed, check_tensor

__all__ = ["deep_linear_network", "half_squared_error"]


def deep_linear_network(
    widths: list[int],
    rank: int,
    *,
    n: int = 10_000,
    seed: int = 0,
    surplus_out: float = 0.0,
    whiten: bool = False,
    dtype: torch.dtype = torch.float32,
) -> tuple[nn.Sequential, tuple[torch.Tensor, torch.Tensor]]:
    """A bias-free linear network at an exact factorisation of a noiseless rank-``rank`` teacher (chapter 9).

    ``widths = [H_1, ..., H_{L+1}]`` from input to output. The teacher is ``y = B A x`` with
    random ``A`` (``rank x H_1``) and ``B`` (``H_{L+1} x rank``) and ``x ~ N(0, I)`` (``n`` samples).
    The returned network computes ``B A`` exactly: its first layer holds ``A`` in its first
    ``rank`` rows, middle layers pass those ``rank`` units on (identity block), the last layer
    holds ``B`` in its first ``rank`` columns, and every other ("surplus") unit has zero in- and
    out-weights, unless ``surplus_out > 0``: then the surplus units of the last hidden layer get
    random out-weights of that scale (the function is unchanged, the point is a different one).
    Its loss is :func:`half_squared_error`, zero at these parameters. ``whiten=True`` makes the
    inputs' empirical second moment exactly ``I`` (``x -> x M^(-1/2)``, in float64 before the cast):
    with ``rank=0`` that is the zero-teacher network of :func:`utils.slt.exact_llc_target`.
    """
    hs = check_int_sequence("widths", widths, minimum=1, min_length=3)
    if not isinstance(whiten, bool):
        raise TypeError(f"whiten must be True or False, got {whiten!r}")
    rank = check_int("rank", rank, minimum=0)
    if rank > min(hs):
        raise ValueError(f"rank must be <= min(widths) = {min(hs)}, got {rank}")
    n = check_int("n", n, minimum=1)
    surplus_out = check_real("surplus_out", surplus_out, nonnegative=True)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    layers = [nn.Linear(a, b, bias=False) for a, b in zip(hs[:-1], hs[1:], strict=True)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
        layers[0].weight[:rank] = torch.randn(rank, hs[0], generator=gen)
        for layer in layers[1:-1]:
            layer.weight[:rank, :rank] = torch.eye(rank)
        layers[-1].weight[:, :rank] = torch.randn(hs[-1], rank, generator=gen)
        if surplus_out > 0:
            layers[-1].weight[:, rank:] = surplus_out * torch.randn(hs[-1], hs[-2] - rank, generator=gen)
    model = nn.Sequential(*layers).to(dtype)
    x = torch.randn(n, hs[0], generator=gen, dtype=torch.float64 if whiten else dtype)
    if whiten:
        if n < hs[0]:
            raise ValueError(f"n must be >= widths[0] = {hs[0]} to whiten the inputs, got {n}")
        evals, evecs = torch.linalg.eigh(x.T @ x / n)
        x = (x @ evecs @ torch.diag(evals.rsqrt()) @ evecs.T).to(dtype)
    with torch.no_grad():
        y = model(x)
    return model, (x, y)


def half_squared_error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mean_i ||out_i - y_i||^2 / 2``: the Gaussian negative log-likelihood (unit variance, up to a constant; chapter 9).

    ``out`` and ``y`` are ``[n, d]`` tensors of one shape: a target that would broadcast against
    the output (``y`` of shape ``[n]`` against ``[n, 1]``) is an error.
    """
    check_tensor("out", out, kind="float")
    check_tensor("y", y, kind="float")
    if out.shape != y.shape or out.ndim != 2:
        raise ValueError(
            f"y must have the shape of out, [n, d], got {tuple(y.shape)} and out {tuple(out.shape)}"
            + (": use y.unsqueeze(-1)" if out.ndim == 2 and tuple(y.shape) == tuple(out.shape[:1]) else "")
        )
    return 0.5 * (out - y).square().sum(dim=-1).mean()
