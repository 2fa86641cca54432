"""Baseline predictors and exact risks for in-context linear regression (chapter 7), numpy only.

A prompt holds ``n`` context pairs ``(x_i, y_i)`` with ``y_i = w . x_i + sigma * eps_i`` and a query
``x_q``; the task ``w`` is drawn from the prior ``N(0, I_d)`` (or from a finite pool of tasks).
Every predictor takes a batch: ``x`` ``[P, n, d]``, ``y`` ``[P, n]``, ``x_query`` ``[P, d]``, and
returns the predictions of ``y_q``, shape ``[P]``. Inputs may be NumPy arrays or CPU tensors.

- :func:`least_squares`: the minimum-norm least-squares fit, ``w = pinv(X) y``.
- :func:`ridge`: ``w = (X^T X + lam I)^-1 X^T y``; with ``lam = sigma^2`` it is the posterior mean
  of ``w``, the Bayes-optimal predictor under the prior ``N(0, I_d)``.
- :func:`gd_step`: one step of preconditioned gradient descent from ``w = 0`` on
  ``L(w) = (1/2n) sum_i (y_i - w . x_i)^2``: ``w_1 = Gamma m``, ``m = (1/n) sum_i y_i x_i``.
- :func:`dmmse`: the posterior mean when the task is one of ``M`` known vectors (Raventos et al. 2023).
- :func:`softmax_smoother`: a kernel smoother ``sum_i softmax_i(beta x_q . x_i) y_i``, what one softmax
  head that reads the labels computes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import check_array, check_int, check_real

__all__ = [
    "dmmse",
    "gd_step",
    "gd_step_risk",
    "least_squares",
    "least_squares_risk",
    "optimal_gamma",
    "ridge",
    "softmax_smoother",
]


def _batch(x: Any, y: Any, x_query: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, xq = check_array("x", x), check_array("y", y), check_array("x_query", x_query)
    if x.ndim != 3 or y.shape != x.shape[:2] or xq.shape != (x.shape[0], x.shape[2]):
        raise ValueError(
            f"x, y, x_query must have shapes [P, n, d], [P, n], [P, d], got {x.shape}, {y.shape}, {xq.shape}"
        )
    return x, y, xq


def least_squares(x: Any, y: Any, x_query: Any) -> np.ndarray:
    """Predictions ``x_q . w`` of the minimum-norm least-squares fit ``w = pinv(X) y`` (exact fit when n <= d)."""
    x, y, xq = _batch(x, y, x_query)
    w = np.einsum("pdn,pn->pd", np.linalg.pinv(x), y)
    return np.einsum("pd,pd->p", w, xq)


def ridge(x: Any, y: Any, x_query: Any, lam: float) -> np.ndarray:
    """Predictions of ridge regression, ``w = (X^T X + lam I)^-1 X^T y`` (``lam > 0``; posterior mean if ``lam = sigma^2``)."""
    lam = check_real("lam", lam, positive=True)
    x, y, xq = _batch(x, y, x_query)
    gram = np.einsum("pni,pnj->pij", x, x) + lam * np.eye(x.shape[2])
    w = np.linalg.solve(gram, np.einsum("pni,pn->pi", x, y)[..., None])[..., 0]
    return np.einsum("pd,pd->p", w, xq)


def gd_step(x: Any, y: Any, x_query: Any, gamma: float | Any) -> np.ndarray:
    """Predictions ``x_q^T Gamma m`` after one GD step from 0, ``m = (1/n) sum_i y_i x_i``; ``gamma`` a scalar or ``[d, d]``."""
    x, y, xq = _batch(x, y, x_query)
    d = x.shape[2]
    g = check_array("gamma", gamma)
    if g.ndim == 0:
        g = float(g) * np.eye(d)
    if g.shape != (d, d):
        raise ValueError(f"gamma must be a scalar or a [{d}, {d}] matrix, got shape {g.shape}")
    n = max(x.shape[1], 1)
    m = np.einsum("pni,pn->pi", x, y) / n
    return np.einsum("pi,ij,pj->p", xq, g, m)


def dmmse(x: Any, y: Any, x_query: Any, tasks: Any, noise: float) -> np.ndarray:
    """Bayes predictor when ``w`` is uniform over the rows of ``tasks`` ``[M, d]``: ``sum_m p(w_m | context) w_m . x_q``.

    ``p(w_m | context)`` is proportional to ``exp(-sum_i (y_i - w_m . x_i)^2 / (2 noise^2))``.
    """
    noise = check_real("noise", noise, positive=True)
    x, y, xq = _batch(x, y, x_query)
    t = check_array("tasks", tasks)
    if t.ndim != 2 or t.shape[1] != x.shape[2] or t.shape[0] == 0:
        raise ValueError(f"tasks must have shape [M, {x.shape[2]}] with M >= 1, got {t.shape}")
    resid = y[:, None, :] - np.einsum("pni,mi->pmn", x, t)  # [P, M, n]
    log_post = -0.5 * np.sum(resid**2, axis=2) / noise**2
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    return np.einsum("pm,mi,pi->p", post, t, xq)


def softmax_smoother(x: Any, y: Any, x_query: Any, beta: float) -> np.ndarray:
    """Nadaraya-Watson predictions ``sum_i a_i y_i`` with ``a = softmax_i(beta x_q . x_i)`` (weights sum to 1)."""
    beta = check_real("beta", beta)
    x, y, xq = _batch(x, y, x_query)
    if x.shape[1] == 0:
        raise ValueError("x must hold at least one context point, got n = 0")
    logits = beta * np.einsum("pni,pi->pn", x, xq)
    logits -= logits.max(axis=1, keepdims=True)
    a = np.exp(logits)
    return np.sum(a * y, axis=1) / a.sum(axis=1)


def optimal_gamma(num_context: int, dim: int, noise: float = 0.0) -> float:
    """The best scalar step of one GD step for ``w, x ~ N(0, I)``: ``Gamma* = N / (N + d + 1 + sigma^2)`` (times I)."""
    n = check_int("num_context", num_context, minimum=1)
    d = check_int("dim", dim, minimum=1)
    s2 = check_real("noise", noise, nonnegative=True) ** 2
    return n / (n + d + 1 + s2)


def gd_step_risk(gamma: float | Any, num_context: int, dim: int, noise: float = 0.0) -> float:
    """Expected squared error ``E (y_hat - y_q)^2`` of one GD step with preconditioner ``gamma`` (prior ``N(0, I)``).

    ``gamma`` a scalar (``Gamma = gamma I``) or a ``[d, d]`` matrix:
    ``(N + d + 1 + sigma^2) / N ||Gamma||_F^2 - 2 tr Gamma + d + sigma^2``, from ``E S^2 = (N + d + 1)/N I``.
    """
    n = check_int("num_context", num_context, minimum=1)
    d = check_int("dim", dim, minimum=1)
    s2 = check_real("noise", noise, nonnegative=True) ** 2
    g = np.asarray(gamma, dtype=np.float64)
    if g.ndim == 0:
        g = check_real("gamma", float(g)) * np.eye(d)
    if g.shape != (d, d) or not np.all(np.isfinite(g)):
        raise ValueError(f"gamma must be a finite scalar or a [{d}, {d}] matrix, got shape {g.shape}")
    return float(np.sum(g * g) * (n + d + 1 + s2) / n - 2 * np.trace(g) + d + s2)


def least_squares_risk(num_context: int, dim: int, noise: float = 0.0) -> float:
    """Expected squared error of minimum-norm least squares on the query (prior ``N(0, I)``), ``inf`` where it diverges.

    ``n <= d - 2``: ``(d - n) + sigma^2 (1 + n / (d - n - 1))``; ``n >= d + 2``: ``sigma^2 (1 + d / (n - d - 1))``
    (inverse-Wishart means); at ``|n - d| <= 1`` it is infinite if ``sigma > 0``.
    """
    n = check_int("num_context", num_context, minimum=0)
    d = check_int("dim", dim, minimum=1)
    s2 = check_real("noise", noise, nonnegative=True) ** 2
    if n < d:
        bias = d - n
        if s2 == 0:
            return float(bias)
        return bias + s2 * (1 + n / (d - n - 1)) if n <= d - 2 else float("inf")
    if s2 == 0:
        return 0.0
    return s2 * (1 + d / (n - d - 1)) if n >= d + 2 else float("inf")
