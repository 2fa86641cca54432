"""Exact results for the 2D Ising model, numpy/scipy only (chapters 3-4).

Onsager's (1944) energy and specific heat, Yang's (1952) spontaneous magnetization,
Kaufman's (1949) exact finite-lattice partition function, the critical temperature and the
2D Ising critical exponents; below ``T_C``, the exact angle-dependent surface tension (Avron,
van Beijeren, Schulman & Zia 1982) and, from its Wulff shape, the classical nucleation barrier.
Conventions as in :mod:`utils.ising`: square lattice, ``J = 1``, ``k_B = 1``, temperatures in
units of ``J / k_B``; a field enters only the barrier, as ``-h sum s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import integrate
from scipy.special import ellipe, ellipk

from ._validate import check_array, check_int, check_temperature, float_or_array

__all__ = [
    "EXPONENTS",
    "T_C",
    "finite_lattice_energy",
    "nucleation_barrier",
    "onsager_energy",
    "onsager_magnetization",
    "onsager_specific_heat",
    "surface_tension",
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


# ----------------------------------------------------------------------------------------------
# Interfaces and nucleation below T_C
# ----------------------------------------------------------------------------------------------


def _wulff_parameter(T: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``ln alpha`` of the exact surface tension, ``alpha >= 0`` solving
    ``sqrt(1 + alpha^2 cos^2 theta) + sqrt(1 + alpha^2 sin^2 theta) = A = cosh(2K) coth(2K)``, ``K = 1/T``.

    Squaring twice gives ``alpha^2 = (A^2 - 4) / (1 + sqrt(sin^2 2theta + cos^2 2theta 4 / A^2))``,
    evaluated in logarithms so that low temperatures (``A ~ e^{2K} / 2``) do not overflow.
    """
    K = 1.0 / T
    # ln A = ln cosh 2K + ln coth 2K, both without overflow
    log_a = 2 * K + np.log1p(np.exp(-4 * K)) - np.log(2.0) - np.log(-np.expm1(-4 * K)) + np.log1p(np.exp(-4 * K))
    inv_a2 = np.exp(-2 * log_a)
    with np.errstate(divide="ignore"):
        log_num = 2 * log_a + np.log(np.clip(-np.expm1(np.log(4.0) - 2 * log_a), 0.0, None))  # ln(A^2 - 4)
    root = np.sqrt(np.sin(2 * theta) ** 2 + np.cos(2 * theta) ** 2 * 4 * inv_a2)
    return 0.5 * (log_num - np.log1p(root))


def _asinh_of_exp(log_z: np.ndarray) -> np.ndarray:
    """``arcsinh(e^log_z)`` without overflow (``-inf`` gives 0)."""
    big = log_z > 20
    with np.errstate(over="ignore"):
        small = np.arcsinh(np.exp(np.minimum(log_z, 20.0)))
    return np.where(big, log_z + np.log(2.0) + np.log1p(np.exp(-2 * np.maximum(log_z, 20.0)) / 4), small)


def _wulff_boundary(T: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The point ``(x, y)`` (units of the lattice spacing) of the Wulff shape whose normal is at angle ``theta``.

    ``sinh(x / T) = alpha cos theta``, ``sinh(y / T) = alpha sin theta``: the shape
    ``cosh(x/T) + cosh(y/T) = A`` of Rottman & Wortis (1981) and Zia & Avron (1982).
    """
    log_alpha = _wulff_parameter(T, theta)
    c, s = np.cos(theta), np.sin(theta)
    with np.errstate(divide="ignore"):
        x = np.sign(c) * _asinh_of_exp(log_alpha + np.log(np.abs(c)))
        y = np.sign(s) * _asinh_of_exp(log_alpha + np.log(np.abs(s)))
    return T * x, T * y


def surface_tension(T: float | np.ndarray, theta: float | np.ndarray = 0.0) -> float | np.ndarray:
    """Exact interface free energy per unit length ``tau(T, theta)`` (J per lattice spacing) (chapter 3).

    ``tau / T = |cos| arcsinh(alpha |cos|) + |sin| arcsinh(alpha |sin|)`` for an interface whose
    normal makes the angle ``theta`` with a lattice axis, with ``alpha >= 0`` solving
    ``sqrt(1 + alpha^2 cos^2) + sqrt(1 + alpha^2 sin^2) = cosh(2/T) coth(2/T)`` (Avron, van
    Beijeren, Schulman & Zia 1982); ``theta = 0`` gives Onsager's ``2 + T ln tanh(1/T)``. Zero at
    and above ``T_C``; ``T`` and ``theta`` broadcast.
    """
    T_arr = check_temperature("T", T)
    th = np.asarray(check_array("theta", theta))
    T_b, th_b = np.broadcast_arrays(np.minimum(T_arr, T_C), th)
    x, y = _wulff_boundary(T_b, th_b)
    tau = np.where(T_b < T_C, x * np.cos(th_b) + y * np.sin(th_b), 0.0)
    return float_or_array(tau, T, theta)


def _wulff_area(T: float) -> float:
    """Area of the Wulff shape of :func:`surface_tension` at ``T < T_C``: ``(1/2) int (tau^2 - tau'^2) dtheta``.

    The boundary point with normal ``n(theta)`` is ``r = tau n + tau' n_perp``, so
    ``tau' = r . n_perp``; the square's symmetry gives 8 copies of ``[0, pi/4]``.
    """

    def integrand(theta: float) -> float:
        x, y = _wulff_boundary(np.asarray(T), np.asarray(theta))
        tau = x * math.cos(theta) + y * math.sin(theta)
        dtau = -x * math.sin(theta) + y * math.cos(theta)
        return float(tau * tau - dtau * dtau)

    value, _ = integrate.quad(integrand, 0.0, math.pi / 4, limit=200, epsabs=0.0, epsrel=1e-11)
    return 4.0 * value


def nucleation_barrier(T: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
    """``Xi(T) = |W| / (2 M)``: the 2D single-droplet nucleation barrier is ``Xi / |h|`` (chapter 3).

    ``W`` is the Wulff shape of Onsager's angle-dependent :func:`surface_tension`, ``M`` Yang's
    :func:`onsager_magnetization`; ``J = 1``, field energy ``-h sum s``. A droplet ``lambda W`` of the
    stable phase costs ``2 lambda |W| - 2 M |h| lambda^2 |W|``, maximal ``|W| / (2 M |h|)`` at
    ``lambda = 1 / (2 M |h|)``. ``Xi -> 8`` as ``T -> 0`` (a square droplet) and ``-> 0`` at ``T_C``.
    """
    T_arr = check_temperature("T", T)
    out = np.zeros(T_arr.shape)
    flat = out.reshape(-1)
    for k, t in enumerate(T_arr.ravel()):
        if t < T_C:
            flat[k] = _wulff_area(float(t)) / (2.0 * onsager_magnetization(float(t)))
    return float_or_array(out, T)
