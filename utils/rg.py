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

from ._validate import check_array, check_callable, check_int, check_real, float_or_array

#: Exact critical coupling of the 2D square-lattice Ising model, ``sinh(2 K_c) = 1`` (Onsager).
K_C_2D: float = float(np.log1p(np.sqrt(2.0)) / 2.0)
#: Exact correlation-length exponent of the 2D Ising model (Onsager).
NU_2D: float = 1.0


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
    (:func:`decimation_constant_1d`). At ``h = 0`` this is ``tanh K' = tanh(K)^2``. Vectorised.
    """
    K_arr = check_array("K", K)
    h_arr = check_array("h", h)
    a, c, d = _logcosh(2 * K_arr + h_arr), _logcosh(2 * K_arr - h_arr), _logcosh(h_arr)
    K_new = (a + c - 2.0 * d) / 4.0
    h_new = h_arr + (a - c) / 2.0
    return float_or_array(K_new, K, h), float_or_array(h_new, K, h)


def decimation_constant_1d(K: Any, h: Any = 0.0) -> Any:
    """The free-energy constant ``g`` of :func:`decimate_1d`, one per removed spin (chapter 4).

    ``e^{4 g} = 16 cosh(2K + h) cosh(2K - h) cosh(h)^2``, so that ``Z_{2N}(K, h) = e^{N g} Z_N(K', h')``
    for a periodic chain.
    """
    K_arr = check_array("K", K)
    h_arr = check_array("h", h)
    g = (np.log(16.0) + _logcosh(2 * K_arr + h_arr) + _logcosh(2 * K_arr - h_arr) + 2 * _logcosh(h_arr)) / 4.0
    return float_or_array(g, K, h)


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
    y = float(np.log(lam) / np.log(b))
    nu = 1.0 / y if y != 0 else float("inf")
    return Linearization(x_star=x_star, eigenvalue=lam, y=y, nu=nu)
