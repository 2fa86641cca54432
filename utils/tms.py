"""The toy model of superposition (TMS) and its exact high-sparsity loss (chapter 10).

The model (Elhage et al. 2022) compresses ``c`` features into ``m`` hidden dimensions and
reads them back out: ``f(x) = ReLU(W^T W x + b)`` with ``W`` of shape ``(m, c)`` (column
``w_i`` is feature ``i``'s direction) and ``b`` of shape ``(c,)``. The chapter uses ``m = 2``.

**The high-sparsity limit** (Chen et al. 2023): each input has exactly one active feature,
``x = t e_i`` with ``i`` uniform on the ``c`` features and ``t ~ U[0, 1]``. Then output ``j``
is ``ReLU(t G_ji + b_j)`` with ``G = W^T W``, and the loss, summed over the ``c`` outputs and
averaged over ``x``, is::

    loss(W, b) = (1/c) sum_i sum_j  int_0^1 (t delta_ij - ReLU(t G_ji + b_j))^2 dt.

Each integral is a polynomial in ``t`` integrated over the interval where the ReLU is on
(``a t + b > 0`` for ``a = G_ji``), so the loss has a closed form, piecewise polynomial in
``(G, b)``. It is continuously differentiable (the integrand vanishes where the interval ends),
so torch tensors get exact gradients and Hessians through it.

**k-gons.** ``kgon(k, c)`` puts ``k`` columns of equal length ``l`` at angles ``2 pi j / k``
with one shared bias ``beta`` on those ``k`` features and chooses ``(l, beta)`` to minimise
the loss; the other ``c - k`` columns and biases are zero. For ``k <= 4`` the neighbours do not
interfere (their inner products are ``<= 0``) and the optimum is exact reconstruction,
``l = 1, beta = 0``, with loss ``(c - k) / (3c)``. For ``k >= 5`` the neighbours interfere and
the optimal bias is negative. A feature left out of the k-gon (zero column) is best served by
the bias ``1 / (2c)`` (its output is then that constant): ``kgon(k, c, inactive_bias=1 / (2 * c))``
is the critical point that gradient descent from a small initialisation reaches, with loss
``loss(kgon(k, c)) - (c - k) / (4 c^2)``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import optimize

from ._validate import check_array, check_int, check_real, check_seed

__all__ = ["kgon", "kgon_parameters", "loss", "sample_inputs"]


def _namespace(x: Any) -> Any:
    """``torch`` for a torch tensor, else ``numpy`` (torch is never imported here otherwise)."""
    if type(x).__module__.split(".")[0] == "torch":
        import torch

        return torch
    return np


def _interval_loss(a: Any, b: Any, delta: Any, xp: Any) -> Any:
    """``int_0^1 (delta t - ReLU(a t + b))^2 dt`` elementwise, for ``delta`` in {0, 1}.

    The ReLU is on for ``t`` in ``[lo, hi]``: ``[clip(-b/a), 1]`` if ``a > 0``,
    ``[0, clip(-b/a)]`` if ``a < 0``, all of ``[0, 1]`` (or none) if ``a = 0`` and ``b > 0``
    (``b <= 0``). The integral is ``delta/3 + F(hi) - F(lo)`` with ``F`` the antiderivative of
    ``((a - delta) t + b)^2 - delta t^2``.
    """
    zero, one = xp.zeros_like(a), xp.ones_like(a)
    safe_a = xp.where(a == 0, one, a)  # avoids 0/0 in the branch that where() throws away
    root = xp.clip(-b / safe_a, 0.0, 1.0)
    lo = xp.where(a > 0, root, zero)
    hi = xp.where(a > 0, one, xp.where(a < 0, root, xp.where(b > 0, one, zero)))
    p = a - delta

    def antiderivative(t: Any) -> Any:
        return (p * p - delta) * t**3 / 3 + p * b * t**2 + b * b * t

    return delta / 3 + antiderivative(hi) - antiderivative(lo)


def loss(W: Any, b: Any) -> Any:
    """Exact high-sparsity TMS loss ``(1/c) sum_ij int_0^1 (t delta_ij - ReLU(t (W^T W)_ji + b_j))^2 dt`` (chapter 10).

    ``W`` has shape ``(..., m, c)`` and ``b`` shape ``(..., c)`` (leading axes broadcast: a batch of
    models). NumPy arrays give a float or array; torch tensors give a tensor that autograd can
    differentiate (twice).
    """
    xp = _namespace(W)
    if xp is np:
        W = check_array("W", W)
        b = check_array("b", b)
    elif _namespace(b) is not xp:
        raise TypeError("b must be a torch tensor when W is one")
    elif not (W.dtype.is_floating_point and b.dtype.is_floating_point):
        raise TypeError(f"W and b must be floating-point tensors, got {W.dtype} and {b.dtype}")
    if W.ndim < 2:
        raise ValueError(f"W must have shape (..., m, c), got {tuple(W.shape)}")
    c = W.shape[-1]
    if b.ndim < 1 or b.shape[-1] != c:
        raise ValueError(f"b must have shape (..., {c}) to match W of shape {tuple(W.shape)}, got {tuple(b.shape)}")
    gram = W.mT @ W  # gram[..., j, i] = w_j . w_i: output j's slope for input feature i
    eye = xp.eye(c, dtype=W.dtype) if xp is np else xp.eye(c, dtype=W.dtype, device=W.device)
    per_pair = _interval_loss(gram, b[..., :, None], eye, xp)
    total = per_pair.sum(axis=(-2, -1)) if xp is np else per_pair.sum(dim=(-2, -1))
    return total / c


def _kgon_columns(k: int, c: int, length: float) -> np.ndarray:
    angles = 2 * math.pi * np.arange(k) / k
    W = np.zeros((2, c))
    W[0, :k] = length * np.cos(angles)
    W[1, :k] = length * np.sin(angles)
    return W


def _kgon_loss(params: np.ndarray, k: int, c: int) -> float:
    """The loss of a k-gon of length ``l`` and shared bias ``beta`` (the other features off), fast.

    By symmetry every active input sees the same ``k`` slopes ``l^2 cos(2 pi j / k)``; an inactive
    input (target ``t``, output 0) costs ``1/3`` and makes each active output ``ReLU(beta)``.
    """
    length, beta = float(params[0]), float(params[1])
    slopes = length**2 * np.cos(2 * math.pi * np.arange(k) / k)
    delta = (np.arange(k) == 0).astype(float)
    active = k * _interval_loss(slopes, np.full(k, beta), delta, np).sum()
    inactive = (c - k) * (1 / 3 + k * max(beta, 0.0) ** 2)
    return float((active + inactive) / c)


def _kgon_gradient(params: np.ndarray, k: int, c: int, h: float = 1e-6) -> np.ndarray:
    """Central differences of :func:`_kgon_loss` (exact up to O(h^2): the loss is piecewise cubic)."""
    e = np.eye(2) * h
    return np.array([(_kgon_loss(params + e[i], k, c) - _kgon_loss(params - e[i], k, c)) / (2 * h) for i in range(2)])


def kgon_parameters(k: int, c: int) -> tuple[float, float]:
    """The length ``l`` and shared bias ``beta`` of the optimal regular k-gon among ``c`` features (chapter 10).

    Minimises the exact loss over ``(l, beta)``: Nelder-Mead from ``(1, 0)`` (exact reconstruction),
    then the root of the gradient (``scipy.optimize.root``), kept if it is at least as good.
    """
    k = check_int("k", k, minimum=1)
    c = check_int("c", c, minimum=1)
    if k > c:
        raise ValueError(f"k must be <= c = {c}, got {k}")
    return _optimal_kgon(k, c)


@functools.cache
def _optimal_kgon(k: int, c: int) -> tuple[float, float]:
    x = optimize.minimize(
        _kgon_loss,
        (1.0, 0.0),
        args=(k, c),
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 2000},
    ).x
    root = optimize.root(_kgon_gradient, x, args=(k, c), method="hybr", tol=1e-14)
    if root.success and _kgon_loss(root.x, k, c) <= _kgon_loss(x, k, c) + 1e-15:
        x = root.x
    return float(abs(x[0])), float(x[1])


def kgon(k: int, c: int, *, inactive_bias: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` at the optimal regular k-gon: ``k`` columns of length ``l`` at angles ``2 pi j / k`` (chapter 10).

    The ``k`` active features share the bias ``beta``; ``(l, beta)`` minimise :func:`loss`
    (see :func:`kgon_parameters`). The other ``c - k`` columns are zero with bias
    ``inactive_bias`` (default 0; ``1 / (2c)`` is the best bias for a feature the model does not
    represent, a negative one switches its output off). ``W`` has shape ``(2, c)``, ``b`` shape
    ``(c,)``, both float64.
    """
    inactive_bias = check_real("inactive_bias", inactive_bias)
    length, beta = kgon_parameters(k, c)
    b = np.full(c, inactive_bias)
    b[:k] = beta
    return _kgon_columns(k, c, length), b


def sample_inputs(num_samples: int, c: int, *, sparsity: float | None = None, seed: int = 0) -> np.ndarray:
    """``num_samples`` TMS inputs of ``c`` features, shape ``(num_samples, c)`` (chapter 10).

    ``sparsity=None``: the high-sparsity limit, ``x = t e_i`` with ``i`` uniform and
    ``t ~ U[0, 1]`` (its population loss is exactly :func:`loss`). A number ``S`` in ``[0, 1)``:
    Elhage et al.'s finite sparsity, each feature independently zero with probability ``S``,
    else ``U[0, 1]``.
    """
    n = check_int("num_samples", num_samples, minimum=1)
    c = check_int("c", c, minimum=1)
    seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    if sparsity is None:
        x = np.zeros((n, c))
        x[np.arange(n), rng.integers(0, c, size=n)] = rng.uniform(0.0, 1.0, size=n)
        return x
    s = check_real("sparsity", sparsity, low=0.0)
    if s >= 1:
        raise ValueError(f"sparsity must be < 1 (the probability that a feature is zero), got {s}")
    return rng.uniform(0.0, 1.0, size=(n, c)) * (rng.uniform(size=(n, c)) >= s)
