"""Exact free energies of the chapter's toy models, the Laplace approximation, and ``n*`` (chapter 8).

Same convention as :mod:`utils.bayes`: uniform prior on a box ``B``, potential ``K``, and
``F_n = -log((1/|B|) * integral over B of exp(-n K(w)) dw)`` in nats. These closed forms are
what :func:`utils.bayes.free_energy` is tested against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, special

from ._validate import check_array, check_real

__all__ = ["crossover_n", "free_energy_crossing", "free_energy_power", "laplace_free_energy"]


def free_energy_power(n: Any, power: float = 4.0, *, half_width: float = 1.0) -> Any:
    """``F_n`` of ``K = |w|^p`` on ``[-a, a]``: ``-log(Gamma(1 + 1/p) n^(-1/p) P(1/p, n a^p) / a)``.

    ``P`` is the regularised lower incomplete gamma function; for large ``n``,
    ``F_n -> (1/p) log n - log Gamma(1 + 1/p) + log a``, so ``lambda = 1/p`` (chapter 8).
    """
    n = check_array("n", n)
    p = check_real("power", power, positive=True)
    a = check_real("half_width", half_width, positive=True)
    if np.any(n <= 0):
        raise ValueError(f"n must be > 0, got {n}")
    z = special.gamma(1 + 1 / p) * n ** (-1 / p) * special.gammainc(1 / p, n * a**p) / a
    out = -np.log(z)
    return float(out) if out.ndim == 0 else out


def _erf_over_t(t: float) -> float:
    return special.erf(t) / t if t > 0 else 2 / math.sqrt(math.pi)


def _integral_erf_over_t(top: float) -> float:
    """``E(T) = integral from 0 to T of erf(t)/t dt``, to about 1e-15 relative."""
    if top <= 1.0:
        return integrate.quad(_erf_over_t, 0.0, top, epsabs=0.0, epsrel=1e-13)[0]
    # E(T) = log T + gamma/2 + log 2 + integral from T to infinity of erfc(t)/t dt (integrate by
    # parts: integral of log t * 2/sqrt(pi) exp(-t^2) over (0, inf) is -(gamma + 2 log 2)/2).
    tail = integrate.quad(lambda t: special.erfc(t) / t, top, top + 30.0, epsabs=0.0, epsrel=1e-13)[0]
    return math.log(top) + np.euler_gamma / 2 + math.log(2.0) + tail


def free_energy_crossing(n: Any, *, half_width: float = 1.0) -> Any:
    """``F_n`` of ``K = w1^2 w2^2`` on ``[-a, a]^2``: a 1-D integral of ``erf`` (chapter 8).

    The ``w2`` integral is Gaussian, ``Z_n = sqrt(pi) / (2 a^2 sqrt(n)) E(a^2 sqrt(n))`` with
    ``E(T) = integral from 0 to T of erf(t)/t dt = log T + gamma/2 + log 2 + o(1)``, so
    ``F_n = (1/2) log n - log log n + O(1)``: ``lambda = 1/2``, ``m = 2``.
    """
    n = check_array("n", n)
    a = check_real("half_width", half_width, positive=True)
    if np.any(n <= 0):
        raise ValueError(f"n must be > 0, got {n}")
    out = np.array(
        [
            -math.log(math.sqrt(math.pi) / (2 * a * a * math.sqrt(k)) * _integral_erf_over_t(a * a * math.sqrt(k)))
            for k in n.ravel()
        ]
    ).reshape(n.shape)
    return float(out) if out.ndim == 0 else out


def laplace_free_energy(n: Any, hessian: Any, *, volume: float, min_loss: float = 0.0) -> Any:
    """Laplace's ``F_n ~ n K0 + (d/2) log(n / 2 pi) + (1/2) log det H + log |B|`` (chapter 8).

    ``hessian`` is ``H = Hessian of K`` at the minimum (``d x d``), ``volume`` the prior box's
    volume ``|B|`` and ``min_loss`` is ``K0``. A singular ``H`` (``det H = 0``) makes the
    Gaussian integral infinite: the result is then ``-inf``.
    """
    n = check_array("n", n)
    h = check_array("hessian", hessian)
    vol = check_real("volume", volume, positive=True)
    k0 = check_real("min_loss", min_loss)
    if h.ndim != 2 or h.shape[0] != h.shape[1] or not np.allclose(h, h.T):
        raise ValueError(f"hessian must be a symmetric square matrix, got shape {h.shape}")
    if np.any(n <= 0):
        raise ValueError(f"n must be > 0, got {n}")
    d = h.shape[0]
    eig = np.linalg.eigvalsh(h)
    if np.any(eig < -1e-12 * max(1.0, np.abs(eig).max())):
        raise ValueError(f"hessian must be positive semi-definite at a minimum, got eigenvalues {eig}")
    log_det = -np.inf if eig.min() <= 1e-12 * max(1.0, eig.max()) else float(np.sum(np.log(eig)))
    out = n * k0 + d / 2 * np.log(n / (2 * np.pi)) + 0.5 * log_det + math.log(vol)
    return float(out) if out.ndim == 0 else out


def crossover_n(delta_loss: float, delta_lambda: float, delta_const: float = 0.0) -> float:
    """The largest ``n*`` with ``n dL = dlambda log n + dc`` (chapter 8), or NaN if there is none.

    Two regions A and B with local free energies ``F_X = n L_X + lambda_X log n + c_X``;
    ``dL = L_B - L_A > 0`` (A fits better), ``dlambda = lambda_A - lambda_B > 0`` (A is more
    complex), ``dc = c_A - c_B``. Beyond ``n*`` A has the lower free energy for good. With
    ``z = (dL/dlambda) exp(-dc/dlambda)``: ``n* = -(dlambda/dL) W_{-1}(-z)``, Lambert's W.
    """
    dl = check_real("delta_loss", delta_loss, positive=True)
    dlam = check_real("delta_lambda", delta_lambda, positive=True)
    dc = check_real("delta_const", delta_const)
    z = dl / dlam * math.exp(-dc / dlam)
    if z > math.exp(-1.0):
        return math.nan  # n dL - dlambda log n - dc > 0 for every n: A always wins
    return float(-(dlam / dl) * special.lambertw(-z, k=-1).real)
