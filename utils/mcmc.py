"""Statistics of Markov-chain samples, shared by the Ising sampler (chapter 3) and the LLC estimator (chapter 9).

All functions take samples along the **last** axis: binned standard errors, the normalised
autocorrelation, Sokal's integrated autocorrelation time, and, for a ``[chains, draws]``
trace, the convergence diagnostics of Vehtari et al. (2021): the rank-normalised, folded
split R-hat (:func:`r_hat`), the bulk effective sample size (:func:`ess_bulk`), the
Monte Carlo standard error of the mean (:func:`mcse_mean`, from the effective sample size of
the mean), plus a drift test of the running mean (:func:`drift_z`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from ._validate import check_array, check_int, check_real, check_samples, float_or_array

__all__ = [
    "autocorrelation",
    "binned_error",
    "drift_z",
    "ess_bulk",
    "integrated_autocorrelation_time",
    "integrated_autocorrelation_time_error",
    "mcse_mean",
    "r_hat",
]


def binned_error(x: np.ndarray, num_bins: int = 20) -> float | np.ndarray:
    """Standard error of the mean over the last axis from ``num_bins`` consecutive bin means (chapter 3).

    Binning makes the error bar honest for correlated Markov-chain samples as long as each bin
    is much longer than the autocorrelation time.
    """
    x = check_samples("x", x)
    num_bins = check_int("num_bins", num_bins, minimum=2)
    n = x.shape[-1] - x.shape[-1] % num_bins
    if n < num_bins:
        raise ValueError(f"x must have at least num_bins = {num_bins} samples along its last axis, got {x.shape[-1]}")
    means = x[..., :n].reshape(*x.shape[:-1], num_bins, n // num_bins).mean(axis=-1)
    return float_or_array(means.std(axis=-1, ddof=1) / math.sqrt(num_bins))


def autocorrelation(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation ``rho(t)``, ``t = 0..max_lag``, of a 1D time series (chapter 3)."""
    x = check_samples("x", x)
    if x.ndim != 1:
        raise ValueError(f"x must be 1D, got shape {x.shape}")
    n = x.size
    max_lag = n - 1 if max_lag is None else check_int("max_lag", max_lag, minimum=0)
    if max_lag >= n:
        raise ValueError(f"max_lag must be < len(x)={n}, got {max_lag}")
    d = x - x.mean()
    var = np.dot(d, d) / n
    if var == 0:
        raise ValueError("x must not be constant (its autocorrelation is undefined)")
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(d, size)
    acov = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1] / n
    return acov / var


def integrated_autocorrelation_time(x: np.ndarray, c: float = 5.0) -> float:
    """``tau_int = 1/2 + sum_{t>=1} rho(t)``, summed up to the first window ``W >= c tau_int(W)`` (Sokal; chapter 3).

    With this convention independent samples have ``tau_int = 1/2`` and the variance of the
    mean is ``2 tau_int var(x) / n``.
    """
    c = check_real("c", c, positive=True)
    rho = autocorrelation(x)
    tau = 0.5
    for w in range(1, rho.size):
        tau += rho[w]
        if w >= c * tau:
            return float(tau)
    return float(tau)


def _trace(trace: np.ndarray) -> np.ndarray:
    x = check_array("trace", trace)
    if x.ndim != 2 or x.shape[1] < 4:
        raise ValueError(f"trace must have shape [chains, draws >= 4], got {x.shape}")
    return x


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain cut into its first and second half (a middle draw of an odd count dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _classic_r_hat(x: np.ndarray) -> float:
    """``sqrt(var_plus / W)`` for the chains (rows) of ``x`` (Gelman et al. 2013, eq. 11.4)."""
    n = x.shape[1]
    w = x.var(axis=1, ddof=1).mean()
    b = n * x.mean(axis=1).var(ddof=1)
    if w <= 0:
        return math.inf if b > 0 else 1.0
    return float(np.sqrt(((n - 1) / n * w + b / n) / w))


def _rank_normalize(x: np.ndarray) -> np.ndarray:
    """Normal scores ``Phi^-1((r - 3/8) / (S + 1/4))`` of the pooled ranks ``r`` (ties averaged)."""
    r = stats.rankdata(x, axis=None).reshape(x.shape)
    return special.ndtri((r - 0.375) / (x.size + 0.25))


def r_hat(trace: np.ndarray) -> float:
    """Rank-normalised, folded split R-hat of a ``[chains, draws]`` trace (Vehtari et al. 2021; chapter 9).

    The maximum of the split R-hat of the rank-normalised draws (sensitive to shifts in
    location) and of the rank-normalised folded draws ``|x - median(x)|`` (sensitive to
    differences in spread). Values below 1.01 indicate chains that agree.
    """
    x = _trace(trace)
    if np.ptp(x) == 0:
        return 1.0
    bulk = _classic_r_hat(_rank_normalize(_split(x)))
    folded = _classic_r_hat(_rank_normalize(_split(np.abs(x - np.median(x)))))
    return max(bulk, folded)


def _ess(x: np.ndarray) -> float:
    """Multi-chain effective sample size of the chains (rows) of ``x`` (Vehtari et al. 2021, sec. 3.2).

    The autocorrelation ``rho_t = 1 - (W - mean_m acov_m(t)) / var_plus`` combines within- and
    between-chain variance; its sum is cut by Geyer's initial positive sequence (pairs
    ``rho_2k + rho_2k+1`` while positive) made monotone, as in Stan and ArviZ.
    """
    m, n = x.shape
    d = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(d, size, axis=1)
    acov = (np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n).mean(axis=0)  # biased
    w = acov[0] * n / (n - 1)
    var_plus = w * (n - 1) / n + (x.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    rho = np.zeros(n)
    rho[0], even, odd = 1.0, 1.0, 1.0 - (w - acov[1]) / var_plus
    rho[1] = odd
    t = 1
    while t < n - 3 and even + odd > 0:
        even, odd = 1.0 - (w - acov[t + 1]) / var_plus, 1.0 - (w - acov[t + 2]) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    last = t - 2
    if even > 0:
        rho[last + 1] = even
    for t in range(1, last - 1, 2):  # initial monotone sequence
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2
    tau = -1.0 + 2.0 * rho[: last + 1].sum() + rho[last + 1 : last + 2].sum()
    return float(m * n / max(tau, 1.0 / math.log10(m * n)))


def ess_bulk(trace: np.ndarray) -> float:
    """Bulk effective sample size of a ``[chains, draws]`` trace: the ESS of the rank-normalised split chains (chapter 9).

    Vehtari et al. (2021) ask for at least 100 per chain before trusting R-hat or a mean.
    """
    x = _split(_trace(trace))
    return float(x.size) if np.ptp(x) == 0 else _ess(_rank_normalize(x))


def _ess_mean(trace: np.ndarray) -> float:
    """Effective sample size for the mean of a ``[chains, draws]`` trace (split chains, raw draws; chapter 9)."""
    x = _split(_trace(trace))
    return float(x.size) if np.ptp(x) == 0 else _ess(x)


def mcse_mean(trace: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of all draws: ``sd / sqrt(ESS of the mean)`` (chapter 9)."""
    x = _trace(trace)
    return float(x.std(ddof=1) / math.sqrt(_ess_mean(x)))


def drift_z(trace: np.ndarray) -> float:
    """Drift of the running mean: ``(mean of the last half - mean of the first quarter) / se`` (chapter 9).

    A Geweke-style test pooled over chains: each segment's standard error is its
    :func:`mcse_mean`. Stationary chains give ``|z| < 3`` with high probability; a trace that
    is still rising or falling gives a large ``|z|``.
    """
    x = _trace(trace)
    if x.shape[1] < 16:
        raise ValueError(f"trace needs at least 16 draws per chain for a drift test, got {x.shape[1]}")
    n = x.shape[1]
    first, last = x[:, : n // 4], x[:, n - n // 2 :]
    se = math.hypot(mcse_mean(first) if np.ptp(first) else 0.0, mcse_mean(last) if np.ptp(last) else 0.0)
    diff = last.mean() - first.mean()
    if se == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(diff / se)


def integrated_autocorrelation_time_error(x: np.ndarray, c: float = 5.0) -> tuple[float, float]:
    """``(tau_int, its standard error)`` with Sokal's window; ``var(tau) ~ 2 (2W + 1) tau^2 / n`` (chapter 3).

    ``tau_int`` is the same number as :func:`integrated_autocorrelation_time`; ``W`` is the
    window where the sum stopped and ``n`` the length of the series (Sokal 1997). The formula
    is approximate and on the cautious side (about 25% above the true spread for AR(1) chains).
    """
    c = check_real("c", c, positive=True)
    rho = autocorrelation(x)
    taus = 0.5 + np.cumsum(rho[1:])  # tau_int(W) for W = 1, 2, ...
    stop = np.flatnonzero(np.arange(1, rho.size) >= c * taus)
    w = int(stop[0]) + 1 if stop.size else rho.size - 1
    tau = float(taus[w - 1]) if w >= 1 else 0.5
    return tau, tau * math.sqrt(2 * (2 * w + 1) / rho.size)
