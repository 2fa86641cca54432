"""Exact results for the 2D Ising model, numpy/scipy only (chapters 3-4).

Onsager's (1944) energy and specific heat, Yang's (1952) spontaneous magnetization,
Kaufman's (1949) exact finite-lattice partition function, the critical temperature and the
2D Ising critical exponents. Conventions as in :mod:`utils.ising`: square lattice, ``J = 1``,
``k_B = 1``, no field, temperatures in units of ``J / k_B``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import ellipe, ellipk

from ._validate import check_int, check_temperature, float_or_array

__all__ = [
    "EXPONENTS",
    "T_C",
    "finite_lattice_energy",
    "onsager_energy",
    "onsager_magnetization",
    "onsager_specific_heat",
]

#: The exact critical temperature of the square-lattice Ising model, ``2 / ln(1 + sqrt 2)`` (Onsager).
T_C: float = 2.0 / math.log(1.0 + math.sqrt(2.0))

#: The exact critical exponents of the 2D Ising universality class.
EXPONENTS: dict[str, float] = {"beta": 1 / 8, "nu": 1.0, "gamma": 7 / 4, "alpha": 0.0, "eta": 1 / 4, "delta": 15.0}


def onsager_magnetization(T: float | np.ndarray) -> float | np.ndarray:
    """Exact spontaneous magnetization ``(1 - sinh(2/T)^-4)^(1/8)`` for ``T < T_C``, 0 above (Yang 1952)."""
    T_arr = check_temperature("T", T)
    with np.errstate(over="ignore"):
        x = 1.0 - np.sinh(2.0 / T_arr) ** -4.0
    return float_or_array(np.where(T_arr < T_C, np.clip(x, 0.0, None) ** 0.125, 0.0), T)


def _elliptic_parts(T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(beta, coth 2beta, tanh^2 2beta, k^2)`` with ``k = 2 sinh 2beta / cosh^2 2beta``."""
    beta = 1.0 / T
    with np.errstate(over="ignore"):
        t2 = np.tanh(2.0 * beta) ** 2
        coth = 1.0 / np.tanh(2.0 * beta)
        k = 2.0 * np.tanh(2.0 * beta) / np.cosh(2.0 * beta)  # = 2 sinh / cosh^2, without overflow
    return beta, coth, t2, np.clip(k * k, 0.0, 1.0)


def onsager_energy(T: float | np.ndarray) -> float | np.ndarray:
    """Exact energy per spin ``-coth(2b) [1 + (2/pi)(2 tanh^2(2b) - 1) K(k)]``, ``b = 1/T`` (Onsager 1944).

    ``K`` is the complete elliptic integral of the first kind with modulus
    ``k = 2 sinh(2b) / cosh^2(2b)`` (``scipy.special.ellipk`` takes ``k^2``). At ``T_C``,
    ``K`` diverges but its prefactor vanishes and ``u(T_C) = -sqrt 2``.
    """
    _, coth, t2, k2 = _elliptic_parts(check_temperature("T", T))
    with np.errstate(invalid="ignore"):  # the k = 1 branch (0 * inf) is discarded by np.where
        term = np.where(k2 < 1.0, (2.0 * t2 - 1.0) * ellipk(k2), 0.0)
    return float_or_array(-coth * (1.0 + (2.0 / np.pi) * term), T)


def onsager_specific_heat(T: float | np.ndarray) -> float | np.ndarray:
    """Exact specific heat per spin ``du/dT`` (Onsager 1944); it diverges logarithmically at ``T_C``.

    ``c = (4/pi) (b coth 2b)^2 [K - E - (1 - tanh^2 2b)(pi/2 + (2 tanh^2 2b - 1) K)]`` with
    ``K, E`` the complete elliptic integrals of modulus ``k`` as in :func:`onsager_energy`;
    ``inf`` exactly at ``T_C``.
    """
    beta, coth, t2, k2 = _elliptic_parts(check_temperature("T", T))
    with np.errstate(divide="ignore", invalid="ignore"):
        K = ellipk(k2)
        E = ellipe(k2)
        bracket = K - E - (1 - t2) * (np.pi / 2 + (2 * t2 - 1) * K)
        c = (4 / np.pi) * (beta * coth) ** 2 * bracket
    return float_or_array(np.where(k2 < 1.0, c, np.inf), T)


def _log_partition_function(L: int, K: float) -> float:
    """``ln Z`` of the periodic ``L x L`` lattice at coupling ``K = 1/T`` (Kaufman 1949)."""
    l = np.arange(2 * L)
    with np.errstate(divide="ignore"):
        gamma = np.arccosh(np.cosh(2 * K) / np.tanh(2 * K) - np.cos(np.pi * l / L))
        gamma[0] = 2 * K + np.log(np.tanh(K))  # signed: negative above T_c

        def log_cosh_prod(g: np.ndarray) -> float:  # sum of ln(2 cosh(L g / 2)), overflow-free
            x = np.abs(L * g / 2)
            return float(np.sum(x + np.log1p(np.exp(-2 * x))))

        def log_sinh_prod(g: np.ndarray) -> tuple[float, float]:  # ln|prod 2 sinh(L g / 2)| and its sign
            x = L * g / 2
            return float(np.sum(np.abs(x) + np.log(-np.expm1(-2 * np.abs(x))))), float(np.prod(np.sign(x)))

        odd, even = gamma[1::2], gamma[0::2]
        s_odd, sign_odd = log_sinh_prod(odd)
        s_even, sign_even = log_sinh_prod(even)
        terms = np.array([log_cosh_prod(odd), s_odd, log_cosh_prod(even), s_even])
        signs = np.array([1.0, sign_odd, 1.0, sign_even])
        keep = np.isfinite(terms)
    # ln(sum_k sign_k e^term_k) by hand: scipy's signed logsumexp returns nan when two of the
    # terms cancel exactly (large L above T_c, where the even products are equal in size).
    top = terms[keep].max()
    total = float(np.sum(signs[keep] * np.exp(terms[keep] - top)))
    return float(L * L / 2 * np.log(2 * np.sinh(2 * K)) - np.log(2) + top + np.log(total))


def finite_lattice_energy(L: int, T: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Exact energy per spin of the periodic ``L x L`` lattice, ``-(1/L^2) d ln Z / d(1/T)`` (chapter 3).

    ``Z`` is Kaufman's (1949) exact finite-lattice partition function; the derivative is a
    central difference (absolute error below ``1e-7``). It tends to :func:`onsager_energy` as
    ``L -> inf``; at ``T_C`` the finite-size shift is of order ``1/L``.
    """
    L = check_int("L", L, minimum=2)
    T_arr = check_temperature("T", T)
    h = 1e-5
    out = np.array(
        [
            -(_log_partition_function(L, 1 / t + h) - _log_partition_function(L, 1 / t - h)) / (2 * h * L * L)
            for t in T_arr.ravel()
        ]
    ).reshape(T_arr.shape)
    return float_or_array(out, T)
