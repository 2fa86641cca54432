"""Finite-size scaling: curve crossings, fits with goodness of fit, histogram reweighting (chapter 3).

Numpy/scipy only. These are the tools chapter 3 uses to turn simulations of several lattice
sizes ``L`` into a critical temperature (Binder-cumulant crossings) and critical exponents
(``y ~ L^slope`` at ``T_c``: ``|m| ~ L^(-beta/nu)``, ``chi ~ L^(gamma/nu)``, ``dU4/dbeta ~ L^(1/nu)``,
``G(L/2) ~ L^(-eta)``, ``tau_int ~ L^z``).

* :func:`linear_fit` and :func:`power_law_fit`: weighted least squares with the fit's
  ``chi^2``, its degrees of freedom and the p-value ``P(chi^2_dof >= chi^2)``.
* :func:`reweight`, :func:`reweighted_binder` and :func:`binder_slope`: single-histogram
  reweighting (Ferrenberg & Swendsen 1988). Samples drawn at inverse temperature ``beta0``
  with total energies ``E_i`` give averages at a nearby ``beta`` with weights
  ``exp(-(beta - beta0) E_i)``; :func:`reweighting_ess` says how many samples still count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validate import check_array, check_real

__all__ = [
    "LinearFit",
    "PowerLawFit",
    "binder_slope",
    "crossing",
    "linear_fit",
    "power_law_fit",
    "reweight",
    "reweighted_binder",
    "reweighting_ess",
]


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


# ----------------------------------------------------------------------------------------------
# Fits with a goodness of fit
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearFit:
    """``y = intercept + slope * x`` by weighted least squares, with standard errors and goodness of fit."""

    slope: float  #: the fitted slope
    slope_err: float  #: its standard error (from the error bars of ``y``)
    intercept: float  #: the fitted intercept
    intercept_err: float  #: its standard error
    chi2: float  #: sum of squared, error-weighted residuals
    dof: int  #: degrees of freedom, ``len(x) - 2``
    p_value: float  #: ``P(chi^2_dof >= chi2)``: small means the line does not describe the data

    def z_score(self, exact: float) -> float:
        """``(slope - exact) / slope_err``: how many error bars the fit lies from ``exact``."""
        return (self.slope - exact) / self.slope_err


@dataclass(frozen=True)
class PowerLawFit:
    """``y ~ amplitude * x^slope`` fitted in log-log coordinates, with standard errors and goodness of fit."""

    slope: float  #: the exponent
    slope_err: float  #: its standard error (from the error bars of ``y``)
    amplitude: float  #: the prefactor
    chi2: float  #: sum of squared, error-weighted residuals in log y (about ``dof`` for a good fit)
    dof: int  #: degrees of freedom, ``len(x) - 2``
    p_value: float  #: ``P(chi^2_dof >= chi2)``: small means no single power law describes the data

    def z_score(self, exact: float) -> float:
        """``(slope - exact) / slope_err``: how many error bars the fit lies from ``exact``."""
        return (self.slope - exact) / self.slope_err


def linear_fit(x: np.ndarray, y: np.ndarray, y_err: np.ndarray, *, slope: float | None = None) -> LinearFit:
    """Weighted least squares ``y = a + b x`` with weights ``1 / y_err^2``; chi^2 and its p-value (chapter 3).

    The errors of ``y`` are taken as independent (e.g. different lattice sizes, each from its
    own runs). With 2 points the line fits exactly: ``dof = 0`` and the p-value is 1. A given
    ``slope`` (a prediction) is held fixed: only ``a`` is fitted, ``dof = len(x) - 1`` and
    ``slope_err = 0``, so the chi^2 tests the predicted slope.
    """
    x = check_array("x", x)
    y = check_array("y", y)
    y_err = check_array("y_err", y_err, positive=True)
    if not (x.ndim == y.ndim == y_err.ndim == 1 and x.size == y.size == y_err.size >= 2):
        raise ValueError(f"x, y and y_err must be 1-D arrays of one length >= 2, got {x.size}, {y.size}, {y_err.size}")
    w = 1.0 / y_err**2
    if slope is not None:
        b = check_real("slope", slope)
        intercept = float(np.average(y - b * x, weights=w))
        chi2 = float(np.sum(w * (y - intercept - b * x) ** 2))
        dof = x.size - 1
        p_value = float(stats.chi2.sf(chi2, dof))
        return LinearFit(b, 0.0, intercept, float(1 / np.sqrt(np.sum(w))), chi2, dof, p_value)
    if np.ptp(x) == 0:
        raise ValueError("x must not be constant (the slope is undefined)")
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    b = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    intercept = float(ym - b * xm)
    chi2 = float(np.sum(w * (y - intercept - b * x) ** 2))
    dof = x.size - 2
    p_value = float(stats.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    intercept_err = float(np.sqrt(1.0 / np.sum(w) + xm**2 / sxx))
    return LinearFit(b, float(1 / np.sqrt(sxx)), intercept, intercept_err, chi2, dof, p_value)


def power_law_fit(x: np.ndarray, y: np.ndarray, y_err: np.ndarray) -> PowerLawFit:
    """Weighted least squares of ``log y`` on ``log x`` with ``var(log y) = (y_err / y)^2``; chi^2 and p-value (chapter 3)."""
    x = check_array("x", x, positive=True)
    y = check_array("y", y, positive=True)
    y_err = check_array("y_err", y_err, positive=True)
    if not (x.ndim == y.ndim == y_err.ndim == 1 and x.size == y.size == y_err.size >= 3):
        raise ValueError(f"x, y and y_err must be 1-D arrays of one length >= 3, got {x.size}, {y.size}, {y_err.size}")
    if np.ptp(x) == 0:
        raise ValueError(f"x must hold at least two different values to fit a slope, got {x.tolist()}")
    f = linear_fit(np.log(x), np.log(y), y_err / y)
    return PowerLawFit(f.slope, f.slope_err, float(np.exp(f.intercept)), f.chi2, f.dof, f.p_value)


# ----------------------------------------------------------------------------------------------
# Single-histogram reweighting
# ----------------------------------------------------------------------------------------------


def _grouped_weights(energy: np.ndarray, beta: np.ndarray, beta0: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``exp(-(beta - beta0) E)`` of the distinct energies, shape ``(len(beta), k)``, normalised
    so that each row sums to 1 over the samples, and the index of each sample's energy (shape ``(n,)``).

    Lattice energies take few distinct values, so the exponentials are computed once per value.
    """
    values, index = np.unique(energy, return_inverse=True)
    counts = np.bincount(index, minlength=values.size)
    logw = -np.multiply.outer(beta - beta0, values)
    w = np.exp(logw - logw.max(axis=-1, keepdims=True))
    return w / (w @ counts)[:, None], index


def _reweighting_args(energy, beta, beta0, x=None):
    energy = check_array("energy", energy)
    if energy.ndim != 1 or energy.size < 2:
        raise ValueError(f"energy must be a 1-D array of at least 2 samples (total energies), got shape {energy.shape}")
    beta_arr = check_array("beta", beta, positive=True)
    beta0 = check_real("beta0", beta0, positive=True)
    if x is None:
        return energy, beta_arr, beta0
    x = check_array("x", x)
    if x.ndim == 0 or x.shape[-1] != energy.size:
        raise ValueError(f"x must have the samples along its last axis, {energy.size} of them, got shape {x.shape}")
    return energy, beta_arr, beta0, x


def reweight(x: np.ndarray, energy: np.ndarray, beta: float | np.ndarray, beta0: float) -> float | np.ndarray:
    """``<x>_beta = sum_i x_i w_i / sum_i w_i``, ``w_i = exp(-(beta - beta0) E_i)`` (Ferrenberg & Swendsen 1988; chapter 3).

    ``x`` (samples along the last axis) and the total energies ``energy`` come from a chain at
    inverse temperature ``beta0``; the result has shape ``x.shape[:-1] + beta.shape``. Reliable
    only while :func:`reweighting_ess` stays a sizeable fraction of the samples.
    """
    energy, beta_arr, beta0, x = _reweighting_args(energy, beta, beta0, x)
    w, index = _grouped_weights(energy, beta_arr.ravel(), beta0)
    flat = x.reshape(-1, energy.size)
    sums = np.stack([np.bincount(index, weights=row, minlength=w.shape[1]) for row in flat])  # per energy
    out = (sums @ w.T).reshape(x.shape[:-1] + beta_arr.shape)
    return float(out) if out.ndim == 0 else out


def reweighting_ess(energy: np.ndarray, beta: float | np.ndarray, beta0: float) -> float | np.ndarray:
    """Kish's effective number of samples ``(sum w)^2 / sum w^2`` after reweighting ``beta0 -> beta`` (chapter 3)."""
    energy, beta_arr, beta0 = _reweighting_args(energy, beta, beta0)
    w, index = _grouped_weights(energy, beta_arr.ravel(), beta0)
    counts = np.bincount(index, minlength=w.shape[1])
    out = (1.0 / (w**2 @ counts)).reshape(beta_arr.shape)
    return float(out) if out.ndim == 0 else out


def reweighted_binder(m: np.ndarray, energy: np.ndarray, beta: float | np.ndarray, beta0: float) -> float | np.ndarray:
    """Binder cumulant ``1 - <m^4> / (3 <m^2>^2)`` at ``beta`` from samples at ``beta0`` (chapter 3)."""
    m = check_array("m", m)
    m2, m4 = reweight(np.stack([m**2, m**4]), energy, beta, beta0)
    return 1.0 - m4 / (3.0 * m2**2)


def binder_slope(m: np.ndarray, energy: np.ndarray) -> float:
    """``dU4/dbeta`` at the chain's own temperature, from ``d<O>/dbeta = <O><E> - <O E>`` (chapter 3).

    ``m``: magnetization samples, ``energy``: their total energies. At ``T_c`` it grows like
    ``L^(1/nu)`` (Binder 1981; Ferrenberg & Landau 1991).
    """
    m = check_array("m", m)
    energy = check_array("energy", energy)
    if m.ndim != 1 or m.shape != energy.shape or m.size < 2:
        raise ValueError(f"m and energy must be 1-D arrays of one length >= 2, got shapes {m.shape} and {energy.shape}")
    e = energy - energy.mean()  # subtracting a constant leaves every covariance unchanged
    m2, m4 = np.mean(m**2), np.mean(m**4)
    d2, d4 = -np.mean(m**2 * e), -np.mean(m**4 * e)
    return float(-(d4 / m2**2 - 2 * m4 * d2 / m2**3) / 3.0)
