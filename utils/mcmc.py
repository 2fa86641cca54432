"""Statistics of Markov-chain samples, shared by the Ising sampler (chapter 3) and the LLC estimator (chapter 9).

All functions take samples along the **last** axis: binned standard errors, the normalised
autocorrelation, Sokal's integrated autocorrelation time, and R-hat across chains.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import check_int, check_real, check_samples, float_or_array

__all__ = ["autocorrelation", "binned_error", "integrated_autocorrelation_time", "split_r_hat"]


def binned_error(x: np.ndarray, num_bins: int = 20) -> float | np.ndarray:
    """Standard error of the mean over the last axis from ``num_bins`` consecutive bin means (chapter 3).

    Binning makes the error bar honest for correlated Markov-chain samples as long as each bin
    is much longer than the autocorrelation time.
    """
    x = check_samples(x, "x")
    num_bins = check_int("num_bins", num_bins, minimum=2)
    n = x.shape[-1] - x.shape[-1] % num_bins
    if n < num_bins:
        raise ValueError(f"x must have at least num_bins = {num_bins} samples along its last axis, got {x.shape[-1]}")
    means = x[..., :n].reshape(*x.shape[:-1], num_bins, n // num_bins).mean(axis=-1)
    return float_or_array(means.std(axis=-1, ddof=1) / math.sqrt(num_bins))


def autocorrelation(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation ``rho(t)``, ``t = 0..max_lag``, of a 1D time series (chapter 3)."""
    x = check_samples(x, "x")
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


def split_r_hat(trace: np.ndarray) -> float:
    """Split R-hat (Gelman et al.) of a ``[chains, draws]`` trace; near 1 means chains agree."""
    x = np.asarray(trace, dtype=float)
    if x.ndim != 2 or x.shape[1] < 4:
        raise ValueError(f"trace must have shape [chains, draws >= 4], got {x.shape}")
    half = x.shape[1] // 2
    halves = np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)
    m, n = halves.shape
    chain_means = halves.mean(axis=1)
    w = halves.var(axis=1, ddof=1).mean()
    b = n * chain_means.var(ddof=1)
    if w <= 0:
        return float("nan") if b > 0 else 1.0
    var_plus = (n - 1) / n * w + b / n
    return float(np.sqrt(var_plus / w))
