"""Renormalization-group maps: exact 1D decimation, Migdal-Kadanoff, fixed points and their linearization (chapter 4).

Conventions: the reduced Ising Hamiltonian is ``-H / (k_B T) = K sum_<ij> s_i s_j + h sum_i s_i`` with
``K = J / (k_B T)`` and ``h = H / (k_B T)`` dimensionless; ``b`` is the length rescaling factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import comb

from ._validate import check_array, check_callable, check_int, check_real, float_or_array

__all__ = [
    "K_C_2D",
    "Linearization",
    "LinearizationND",
    "NU_2D",
    "Y_H_2D",
    "Y_T_2D",
    "compounding_map",
    "critical_coupling",
    "decimate_1d",
    "decimate_square_nnn",
    "exponents_from_eigenvalues",
    "fixed_point",
    "linearize",
    "linearize_map",
    "majority_vote",
    "migdal_kadanoff",
    "neighbour_correlation",
]

#: Exact critical coupling of the 2D square-lattice Ising model, ``sinh(2 K_c) = 1`` (Onsager).
K_C_2D: float = float(np.log1p(np.sqrt(2.0)) / 2.0)
#: Exact correlation-length exponent of the 2D Ising model (Onsager).
NU_2D: float = 1.0
#: Exact RG eigenvalue exponents of the 2D Ising fixed point: thermal ``y_t = 1 / nu`` and magnetic ``y_h = 15/8``.
Y_T_2D: float = 1.0
Y_H_2D: float = 15.0 / 8.0


def _check_rescaling(b: Any) -> float:
    """The length rescaling factor ``b > 1`` as a float."""
    b = check_real("b", b, low=1.0)
    if b == 1.0:
        raise ValueError("b must be > 1 (the length rescaling factor), got 1.0")
    return b


def _logcosh(x: np.ndarray) -> np.ndarray:
    """``ln cosh x`` without overflow."""
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax)) - np.log(2.0)


def decimate_1d(K: Any, h: Any = 0.0) -> tuple[Any, Any]:
    """Exact ``b = 2`` decimation of the 1D Ising chain: ``(K, h) -> (K', h')`` (chapter 4).

    Summing over every second spin of ``K sum s_i s_{i+1} + h sum s_i`` gives the same form with
    ``K' = [ln cosh(2K + h) + ln cosh(2K - h) - 2 ln cosh h] / 4`` and
    ``h' = h + [ln cosh(2K + h) - ln cosh(2K - h)] / 2``, plus a constant per removed spin
    (``g`` with ``e^{4 g} = 16 cosh(2K + h) cosh(2K - h) cosh(h)^2``). At ``h = 0`` this is ``tanh K' = tanh(K)^2``. Vectorised.
    """
    K_arr = check_array("K", K)
    h_arr = check_array("h", h)
    a, c, d = _logcosh(2 * K_arr + h_arr), _logcosh(2 * K_arr - h_arr), _logcosh(h_arr)
    K_new = (a + c - 2.0 * d) / 4.0
    h_new = h_arr + (a - c) / 2.0
    return float_or_array(K_new, K, h), float_or_array(h_new, K, h)


def _chain_bond(x: np.ndarray, b: float) -> np.ndarray:
    """``atanh(tanh(x)^b)``: ``b`` bonds of strength ``x`` in series, summed out exactly; stable for large ``x``."""
    with np.errstate(divide="ignore", over="ignore"):
        e = np.exp(-2.0 * x)
        log_t = np.log1p(-e) - np.log1p(e)  # ln tanh x, accurate for all x >= 0
        u = b * log_t  # ln tanh(x)^b <= 0
        exact = 0.5 * (np.log1p(np.exp(u)) - np.log(-np.expm1(u)))
    # For x > 20, atanh(tanh(x)^b) = x - ln(b)/2 + O(e^{-2x}), below double precision.
    return np.where(x > 20.0, x - 0.5 * np.log(b), exact)


def migdal_kadanoff(K: Any, b: float = 2, d: int = 2) -> Any:
    """Migdal-Kadanoff bond-moving RG for the Ising model on the ``d``-dimensional cubic lattice (chapter 4).

    Bond moving gathers ``b^(d-1)`` parallel bonds into one of strength ``b^(d-1) K``; decimating the
    ``b - 1`` inner spins of the resulting chain of ``b`` bonds gives
    ``tanh K' = tanh(b^(d-1) K)^b``. For ``b = 2, d = 2``: ``K' = atanh(tanh(2K)^2)``; ``d = 1`` is exact
    decimation. ``b`` is the (integer) rescaling factor; real ``b > 1`` is accepted as the usual
    continuation. ``K >= 0``, vectorised.
    """
    K_arr = check_array("K", K, nonnegative=True, meaning="ferromagnetic coupling")
    b = _check_rescaling(b)
    d = check_int("d", d, minimum=1)
    return float_or_array(_chain_bond(b ** (d - 1) * K_arr, b), K)


def compounding_map(p: Any, b: float = 2) -> Any:
    """Chapter 1's compounding as an RG map: a task of ``b L`` steps is ``b`` tasks of ``L``, so ``p -> p^b`` (chapter 4).

    With ``p = tanh K`` this is the 1D Ising decimation ``tanh K' = tanh(K)^b``.
    """
    p_arr = check_array("p", p, low=0.0, high=1.0, meaning="a success probability")
    b = check_real("b", b, low=1.0)
    return float_or_array(p_arr**b, p)


def fixed_point(
    f: Callable[[float], float],
    x0: float,
    *,
    bracket: tuple[float, float] | None = None,
    tol: float = 1e-12,
    maxiter: int = 100,
) -> float:
    """A fixed point ``x* = f(x*)`` of a scalar map, by Brent's method on a bracket or Newton/secant from ``x0`` (chapter 4).

    With ``bracket=(a, b)``, ``f(x) - x`` must change sign on ``[a, b]`` and the root is found by
    ``scipy.optimize.brentq`` (guaranteed). Without it, the secant method starts at ``x0``; the
    result is accepted only if ``|f(x*) - x*| <= 1e-9 (1 + |x*|)``, else a ``RuntimeError`` says to
    pass a bracket.
    """
    check_callable("f", f, "a map x -> f(x)")
    x0 = check_real("x0", x0)
    tol = check_real("tol", tol, positive=True)
    maxiter = check_int("maxiter", maxiter, minimum=1)

    def g(x: float) -> float:
        return float(f(x)) - x

    if bracket is not None:
        if not isinstance(bracket, (tuple, list)) or len(bracket) != 2:
            raise ValueError(f"bracket must be a pair (a, b), got {bracket!r}")
        a = check_real("bracket[0]", bracket[0])
        b = check_real("bracket[1]", bracket[1])
        ga, gb = g(a), g(b)
        if ga == 0.0:
            return a
        if gb == 0.0:
            return b
        if np.sign(ga) == np.sign(gb):
            raise ValueError(
                f"bracket ({a}, {b}) does not enclose a fixed point: f(x) - x has the same sign at both ends "
                f"({ga:.3g}, {gb:.3g}); widen or move it"
            )
        return float(optimize.brentq(g, a, b, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=maxiter))
    try:
        x = float(optimize.newton(g, x0, tol=tol, maxiter=maxiter))
    except (RuntimeError, OverflowError, ZeroDivisionError, FloatingPointError) as exc:
        raise RuntimeError(
            f"fixed_point did not converge from x0 = {x0} ({exc}); pass bracket=(a, b) with f(x) - x of opposite "
            "signs at a and b"
        ) from None
    if not np.isfinite(x) or abs(g(x)) > 1e-9 * (1.0 + abs(x)):
        raise RuntimeError(
            f"fixed_point did not converge from x0 = {x0} (ended at {x}); pass bracket=(a, b) with f(x) - x "
            "of opposite signs at a and b"
        )
    return x


#: How far ``f(x_star)`` may lie from ``x_star`` (relative to ``1 + |x_star|``) for :func:`linearize`.
_FIXED_POINT_TOL = 1e-6


def _check_fixed(image: Any, x_star: Any) -> None:
    """Raise ValueError naming ``x_star`` unless ``f(x_star) = x_star`` to ``_FIXED_POINT_TOL``."""
    gap = float(np.linalg.norm(np.asarray(image, dtype=float) - np.asarray(x_star, dtype=float)))
    if not gap <= _FIXED_POINT_TOL * (1.0 + float(np.linalg.norm(x_star))):
        raise ValueError(
            f"x_star must be a fixed point of f, but |f(x_star) - x_star| = {gap:.3g} at x_star = "
            f"{np.asarray(x_star).tolist()}: find it first, e.g. with fixed_point(f, x0)"
        )


@dataclass(frozen=True)
class Linearization:
    """The linearized RG map at a fixed point: ``f(x* + dx) ~ x* + eigenvalue * dx``."""

    x_star: float
    eigenvalue: float  #: Lambda = f'(x*)
    y: float  #: RG eigenvalue exponent, Lambda = b**y (relevant if y > 0)
    nu: float  #: correlation-length exponent 1 / y (meaningful for a relevant direction)


def linearize(f: Callable[[float], float], x_star: float, *, b: float = 2, step: float = 1e-4) -> Linearization:
    """Linearize a 1-coupling RG map at its fixed point: ``Lambda = f'(x*)``, ``y = ln Lambda / ln b``, ``nu = 1 / y`` (chapter 4).

    The derivative is a fourth-order central difference with spacing ``step`` (error ~ ``step^4``).
    ``nu = ln b / ln Lambda`` is the exponent of the correlation length, ``xi ~ |x - x*|^(-nu)``.
    ``x_star`` must be a fixed point: ``|f(x*) - x*| <= 1e-6 (1 + |x*|)``.
    """
    check_callable("f", f, "a map x -> f(x)")
    x_star = check_real("x_star", x_star)
    b = _check_rescaling(b)
    h = check_real("step", step, positive=True)
    lam = (
        -float(f(x_star + 2 * h)) + 8 * float(f(x_star + h)) - 8 * float(f(x_star - h)) + float(f(x_star - 2 * h))
    ) / (12 * h)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"f must have a positive, finite slope at x_star = {x_star}, got f'(x_star) = {lam}")
    _check_fixed(float(f(x_star)), x_star)
    y = float(np.log(lam) / np.log(b))
    nu = 1.0 / y if y != 0 else float("inf")
    return Linearization(x_star=x_star, eigenvalue=lam, y=y, nu=nu)


def majority_vote(p: Any, num_votes: int = 3) -> Any:
    """Probability that a majority of ``num_votes`` independent votes, each right with probability ``p``, is right (chapter 2).

    ``sum_{k > N/2} C(N, k) p^k (1 - p)^(N - k)`` for an odd number ``N`` of votes; ``N = 3`` gives
    ``3 p^2 - 2 p^3``, with fixed points 0, 1/2 and 1. For ``N = 3`` it is the Reynolds-Klein-Stanley RG
    of site percolation on the triangular lattice (a triangle of sites becomes one site, occupied if most
    of its sites are; lengths grow by ``b = sqrt 3``): ``p* = 1/2`` is the exact threshold and
    ``ln sqrt 3 / ln(3/2) = 1.355`` estimates the exact ``nu = 4/3``. Vectorised over ``p`` in [0, 1].
    """
    p_arr = check_array("p", p, low=0.0, high=1.0, meaning="a probability")
    num_votes = check_int("num_votes", num_votes, minimum=1)
    if num_votes % 2 == 0:
        raise ValueError(f"num_votes must be odd (no ties in a majority vote), got {num_votes}")
    k = np.arange(num_votes // 2 + 1, num_votes + 1)
    terms = (
        comb(num_votes, k)[:, None]
        * p_arr.reshape(1, -1) ** k[:, None]
        * (1.0 - p_arr.reshape(1, -1)) ** (num_votes - k)[:, None]
    )
    return float_or_array(terms.sum(axis=0).reshape(p_arr.shape), p)


def decimate_square_nnn(K: Any, L: Any) -> tuple[Any, Any]:
    """Approximate decimation of the square-lattice Ising model with couplings ``(K, L)`` (chapter 4).

    ``K`` couples nearest neighbours, ``L`` next-nearest (diagonal) neighbours. Summing out every second
    spin (a checkerboard, ``b = sqrt 2``) to second order in the couplings gives
    ``K' = 2 K^2 + L`` and ``L' = K^2`` (Maris and Kadanoff 1978). Fixed point ``(1/3, 1/9)``; its
    linearization has eigenvalues ``(2 +- sqrt 10) / 3``: one relevant (1.72) and one irrelevant (-0.39).
    An approximation (a high-temperature expansion), used to show a genuine two-coupling flow. Vectorised.
    """
    K_arr = check_array("K", K)
    L_arr = check_array("L", L)
    return float_or_array(2.0 * K_arr**2 + L_arr, K, L), float_or_array(K_arr**2 + 0.0 * L_arr, K, L)


@dataclass(frozen=True)
class LinearizationND:
    """The linearized RG map ``x* + dx -> x* + M dx`` at a fixed point of a map of several couplings."""

    x_star: np.ndarray
    matrix: np.ndarray  #: M = df_i / dx_j at x*
    eigenvalues: np.ndarray  #: sorted by decreasing ``|Lambda|``
    eigenvectors: np.ndarray  #: columns, unit length, in the order of the eigenvalues
    y: np.ndarray  #: ``ln |Lambda| / ln b``: > 0 relevant, < 0 irrelevant


def linearize_map(f: Callable[[np.ndarray], Any], x_star: Any, *, b: float = 2, step: float = 1e-5) -> LinearizationND:
    """Linearize a map of several couplings at its fixed point: eigenvalues ``b^y`` of ``df_i/dx_j`` (chapter 4).

    The Jacobian is a central difference with spacing ``step`` (error ~ ``step^2``). Directions with
    ``y > 0`` grow under the flow (relevant), those with ``y < 0`` shrink (irrelevant); a negative
    eigenvalue flips sign each step. ``x_star`` must be a fixed point, as in :func:`linearize`.
    """
    check_callable("f", f, "a map x -> f(x) on arrays of couplings")
    x = check_array("x_star", x_star).ravel()
    if x.size == 0:
        raise ValueError("x_star must hold at least one coupling, got an empty array")
    b = _check_rescaling(b)
    h = check_real("step", step, positive=True)
    n = x.size
    M = np.empty((n, n))
    with np.errstate(invalid="ignore", over="ignore"):
        for j in range(n):
            e = np.zeros(n)
            e[j] = h
            M[:, j] = (np.asarray(f(x + e), dtype=float) - np.asarray(f(x - e), dtype=float)) / (2 * h)
    if not np.all(np.isfinite(M)):
        raise ValueError(f"f must be differentiable at x_star = {x}, got a Jacobian with non-finite entries")
    _check_fixed(np.asarray(f(x), dtype=float).ravel(), x)
    lam, vec = np.linalg.eig(M)
    if np.any(np.abs(lam.imag) > 1e-9 * np.abs(lam).max()):
        raise ValueError(f"f must have real eigenvalues at x_star = {x}, got {lam}")
    order = np.argsort(-np.abs(lam.real))
    lam, vec = lam.real[order], vec.real[:, order]
    with np.errstate(divide="ignore"):
        y = np.log(np.abs(lam)) / np.log(b)
    return LinearizationND(x_star=x, matrix=M, eigenvalues=lam, eigenvectors=vec / np.linalg.norm(vec, axis=0), y=y)


def exponents_from_eigenvalues(y_t: float, y_h: float, d: int) -> dict[str, float]:
    """Critical exponents from the RG eigenvalues of a fixed point in ``d`` dimensions (chapter 4).

    The scaling relations: ``nu = 1 / y_t``, ``alpha = 2 - d / y_t``, ``beta = (d - y_h) / y_t``,
    ``gamma = (2 y_h - d) / y_t``, ``delta = y_h / (d - y_h)``, ``eta = d + 2 - 2 y_h``. Finite-size scaling
    reads the ratios off directly: ``beta / nu = d - y_h``, ``gamma / nu = 2 y_h - d``.
    """
    y_t = check_real("y_t", y_t, positive=True)
    y_h = check_real("y_h", y_h, positive=True)
    d = check_int("d", d, minimum=1)
    if not d / 2 < y_h < d:
        raise ValueError(f"y_h must lie in (d/2, d) = ({d / 2}, {d}) for finite beta, gamma and delta, got {y_h}")
    return {
        "nu": 1.0 / y_t,
        "alpha": 2.0 - d / y_t,
        "beta": (d - y_h) / y_t,
        "gamma": (2.0 * y_h - d) / y_t,
        "delta": y_h / (d - y_h),
        "eta": d + 2.0 - 2.0 * y_h,
    }


def neighbour_correlation(spins: Any) -> np.ndarray:
    """Mean nearest-neighbour product ``<s_i s_j>`` of each ``L x L`` configuration (periodic), shape ``spins.shape[:-2]`` (chapter 4).

    Averaged over both lattice directions. Tends to 1 in an ordered configuration and to 0 for
    independent spins; applied to block spins it shows where coarse-graining flows.
    """
    s = check_array("spins", spins)
    if s.ndim < 2 or s.shape[-1] != s.shape[-2]:
        raise ValueError(f"spins must end in two equal axes (L, L), got shape {s.shape}")
    right = np.mean(s * np.roll(s, 1, axis=-1), axis=(-2, -1))
    down = np.mean(s * np.roll(s, 1, axis=-2), axis=(-2, -1))
    return 0.5 * (right + down)


def critical_coupling(
    step: Callable[[np.ndarray], Any],
    start: Callable[[float], Any],
    bracket: tuple[float, float],
    *,
    ordered: Callable[[np.ndarray], bool],
    disordered: Callable[[np.ndarray], bool],
    max_steps: int = 1000,
) -> float:
    """The parameter ``t`` in ``bracket`` at which ``start(t)`` lies on the critical surface of the flow ``step`` (chapter 4).

    Bisection on the fate of the flow: iterate ``x -> step(x)`` from ``start(t)`` until ``ordered(x)``
    or ``disordered(x)``; the critical surface separates the two basins, and a start on it flows to the
    critical fixed point instead. ``start(bracket[0])`` must flow to disorder and ``start(bracket[1])``
    to order. Converges to the last representable ``t``, or stops at a start whose flow stays
    near the fixed point for ``max_steps`` steps.
    """
    check_callable("step", step, "a map x -> x' on arrays of couplings")
    check_callable("start", start, "a map t -> couplings")
    check_callable("ordered", ordered, "a test x -> bool")
    check_callable("disordered", disordered, "a test x -> bool")
    if not isinstance(bracket, (tuple, list)) or len(bracket) != 2:
        raise ValueError(f"bracket must be a pair (a, b), got {bracket!r}")
    lo = check_real("bracket[0]", bracket[0])
    hi = check_real("bracket[1]", bracket[1])
    max_steps = check_int("max_steps", max_steps, minimum=1)

    def fate(t: float) -> bool | None:
        x = np.asarray(start(t), dtype=float)
        for _ in range(max_steps):
            if ordered(x):
                return True
            if disordered(x):
                return False
            x = np.asarray(step(x), dtype=float)
        return None  # still near the fixed point: on the critical surface to rounding

    ends = fate(lo), fate(hi)
    if None in ends:
        raise RuntimeError(
            f"the flow from start({lo if ends[0] is None else hi}) reached neither phase in max_steps = {max_steps}; "
            "raise it or move the bracket"
        )
    if ends != (False, True):
        raise ValueError(f"bracket must flow to disorder at {lo} and to order at {hi}; widen or move it")
    while True:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            return mid
        outcome = fate(mid)
        if outcome is None:
            return mid
        lo, hi = (lo, mid) if outcome else (mid, hi)
