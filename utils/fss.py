"""Finite-size scaling: curve crossings and power-law fits in the lattice size (chapter 3).

Numpy only. These are the fits chapter 3 uses to turn simulations of several lattice sizes
``L`` into a critical temperature (Binder-cumulant crossings) and critical exponents
(``y ~ L^slope`` at ``T_c``: ``|m| ~ L^(-beta/nu)``, ``chi ~ L^(gamma/nu)``,
``G(L/2) ~ L^(-eta)``, ``tau_int ~ L^z``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_array

__all__ = ["PowerLawFit", "crossing", "power_law_fit"]


def crossing(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``(x*, a(x*))`` where the curves ``a(x)`` and ``b(x)`` first cross, linear between grid points (chapter 3).

    The crossing is taken in the first grid interval where ``a - b`` changes sign (or is 0).
    """
    x = check_array("x", x)
    a = check_array("a", a)
    b = check_array("b", b)
    if not (x.ndim == a.ndim == b.ndim == 1 and x.size == a.size == b.size >= 2):
        raise ValueError(f"x, a and b must be 1-D arrays of one length >= 2, got {x.size}, {a.size}, {b.size}")
    d = a - b
    k = np.flatnonzero(d[:-1] * d[1:] <= 0)
    if k.size == 0:
        raise ValueError("a and b must cross on the grid x (a - b never changes sign)")
    k = int(k[0])
    w = 0.0 if d[k] == d[k + 1] else d[k] / (d[k] - d[k + 1])
    return float(x[k] + w * (x[k + 1] - x[k])), float(a[k] + w * (a[k + 1] - a[k]))


@dataclass(frozen=True)
class PowerLawFit:
    """``y ~ amplitude * x^slope`` fitted in log-log coordinates, with standard errors."""

    slope: float  #: the exponent
    slope_err: float  #: its standard error (from the error bars of ``y``)
    amplitude: float  #: the prefactor
    chi2: float  #: sum of squared, error-weighted residuals in log y (about ``len(x) - 2`` for a good fit)

    def z_score(self, exact: float) -> float:
        """``(slope - exact) / slope_err``: how many error bars the fit lies from ``exact``."""
        return (self.slope - exact) / self.slope_err


def power_law_fit(x: np.ndarray, y: np.ndarray, y_err: np.ndarray) -> PowerLawFit:
    """Weighted least squares of ``log y`` on ``log x`` with ``var(log y) = (y_err / y)^2`` (chapter 3)."""
    x = check_array("x", x, positive=True)
    y = check_array("y", y, positive=True)
    y_err = check_array("y_err", y_err, positive=True)
    if not (x.ndim == y.ndim == y_err.ndim == 1 and x.size == y.size == y_err.size >= 3):
        raise ValueError(f"x, y and y_err must be 1-D arrays of one length >= 3, got {x.size}, {y.size}, {y_err.size}")
    if np.ptp(x) == 0:
        raise ValueError(f"x must hold at least two different values to fit a slope, got {x.tolist()}")
    lx, ly, w = np.log(x), np.log(y), (y / y_err) ** 2
    xm, ym = np.average(lx, weights=w), np.average(ly, weights=w)
    sxx = float(np.sum(w * (lx - xm) ** 2))
    slope = float(np.sum(w * (lx - xm) * (ly - ym)) / sxx)
    intercept = ym - slope * xm
    chi2 = float(np.sum(w * (ly - intercept - slope * lx) ** 2))
    return PowerLawFit(slope=slope, slope_err=float(1 / np.sqrt(sxx)), amplitude=float(np.exp(intercept)), chi2=chi2)
