"""Error bars for measured numbers: bootstrap, jackknife, the mean over seeds, and a ``±`` formatter.

Every measured quantity the book compares with anything carries an uncertainty (issue 24):

- :func:`seed_mean`: independent repeats (seeds, chains, runs) along one axis -> mean ± its
  standard error ``s / sqrt(n)``;
- :func:`bootstrap`: any statistic of independent samples, its standard error from resampling
  the samples with replacement (Efron);
- :func:`jackknife`: any statistic of correlated samples cut into blocks, or a derived quantity
  (a ratio, a Binder-cumulant crossing, an exponent from a fit), from leaving one block out;
- :func:`format_pm`: ``"0.283 ± 0.002"``, the error at one or two significant digits and the
  value at the same decimal place, so the text can quote exactly what the notebook prints.

The estimates come back as an :class:`Estimate` ``(value, error)``, which prints as
:func:`format_pm` does. Numpy only (a torch tensor is read through ``np.asarray``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._validate import check_array, check_callable, check_int, check_real, check_seed, float_or_array

__all__ = ["Estimate", "bootstrap", "format_pm", "jackknife", "seed_mean"]

Statistic = Callable[[np.ndarray], Any]


class Estimate(NamedTuple):
    """A measured value and its standard error (floats, or arrays of the same shape)."""

    value: float | np.ndarray
    error: float | np.ndarray

    def __str__(self) -> str:
        if np.ndim(self.value) == 0:
            return format_pm(float(self.value), float(self.error))
        pairs = np.broadcast(np.asarray(self.value), np.asarray(self.error))
        return "[" + ", ".join(format_pm(float(v), float(e)) for v, e in pairs) + "]"


def _samples(name: str, data: Any, minimum: int) -> np.ndarray:
    arr = check_array(name, data)
    if arr.ndim == 0 or arr.shape[0] < minimum:
        got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]}"
        raise ValueError(f"{name} must hold at least {minimum} entries along its first axis, got {got}")
    return arr


def _evaluate(statistic: Statistic, sample: np.ndarray, what: str) -> np.ndarray:
    out = np.asarray(statistic(sample), dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"statistic returned a non-finite value on {what}: {out}")
    return out


def seed_mean(results: Any, *, axis: int = 0) -> Estimate:
    """Mean over independent repeats along ``axis`` and its standard error ``s / sqrt(n)`` (``s`` with ddof 1).

    ``results`` holds one result per seed (or chain, or run) along ``axis``, e.g. shape
    ``[seeds]`` or ``[seeds, steps]``; the mean and error have the shape of the other axes.
    """
    arr = check_array("results", results)
    if arr.ndim == 0:
        raise ValueError("results must be an array with one entry per seed along axis, got a scalar")
    axis = check_int("axis", axis, minimum=-arr.ndim, maximum=arr.ndim - 1)
    n = arr.shape[axis]
    if n < 2:
        raise ValueError(f"results must hold at least 2 seeds along axis {axis} for an error bar, got {n}")
    mean = arr.mean(axis=axis)
    error = arr.std(axis=axis, ddof=1) / math.sqrt(n)
    return Estimate(float_or_array(mean), float_or_array(error))


def bootstrap(data: Any, statistic: Statistic, *, num_resamples: int = 1000, seed: int = 0) -> Estimate:
    """``statistic(data)`` and its bootstrap standard error: the std (ddof 1) of ``statistic`` over resampled data.

    ``data`` holds independent samples along its first axis (shape ``[n, ...]``); each resample
    draws ``n`` of them with replacement. ``statistic`` takes an array of that shape and returns a
    number or an array. For correlated samples (a Markov chain) use :func:`jackknife` on blocks.
    """
    arr = _samples("data", data, 2)
    check_callable("statistic", statistic, "statistic(data) -> number or array")
    num_resamples = check_int("num_resamples", num_resamples, minimum=2)
    rng = np.random.default_rng(check_seed("seed", seed))
    value = _evaluate(statistic, arr, "data")
    n = arr.shape[0]
    replicates = np.stack(
        [_evaluate(statistic, arr[rng.integers(0, n, size=n)], "a resample") for _ in range(num_resamples)]
    )
    return Estimate(float_or_array(value), float_or_array(replicates.std(axis=0, ddof=1)))


def jackknife(
    blocks: Any, statistic: Statistic, *, num_blocks: int | None = None, bias_correct: bool = False
) -> Estimate:
    """``statistic(blocks)`` and its jackknife standard error ``sqrt((B-1)/B sum_i (theta_i - mean theta)^2)``.

    ``theta_i`` is ``statistic`` of the data with block ``i`` left out. By default each entry of
    ``blocks`` along its first axis is one block (shape ``[B, ...]``), and ``statistic`` receives
    ``B`` or ``B - 1`` of them. With ``num_blocks``, ``blocks`` is instead a series of correlated
    samples along its first axis, cut into ``num_blocks`` consecutive blocks of equal length (the
    last few samples are dropped), and ``statistic`` receives the samples outside the left-out block;
    each block must be much longer than the autocorrelation time. ``bias_correct`` returns
    ``B theta - (B - 1) mean theta_i`` as the value, which removes the ``1/n`` bias of a nonlinear
    statistic (a ratio, a crossing).
    """
    arr = _samples("blocks", blocks, 2)
    check_callable("statistic", statistic, "statistic(blocks) -> number or array")
    if not isinstance(bias_correct, bool):
        raise TypeError(f"bias_correct must be True or False, got {bias_correct!r}")
    if num_blocks is None:
        b, size = arr.shape[0], 1
    else:
        b = check_int("num_blocks", num_blocks, minimum=2, maximum=arr.shape[0])
        size = arr.shape[0] // b
    used = arr[: size * b]
    value = _evaluate(statistic, used, "all blocks")
    left_out = np.stack(
        [
            _evaluate(statistic, np.delete(used, np.s_[i * size : (i + 1) * size], axis=0), f"blocks without {i}")
            for i in range(b)
        ]
    )
    mean = left_out.mean(axis=0)
    error = np.sqrt((b - 1) / b * ((left_out - mean) ** 2).sum(axis=0))
    if bias_correct:
        value = b * value - (b - 1) * mean
    return Estimate(float_or_array(value), float_or_array(error))


def _error_decimals(error: float, error_digits: int | None) -> int:
    """Decimal places that show ``error`` at 1-2 significant digits (2 when its first digit is 1 or 2)."""
    if error_digits is not None:
        rounded = float(f"{error:.{error_digits - 1}e}")
        return error_digits - 1 - math.floor(math.log10(rounded))
    two = float(f"{error:.1e}")  # the error at two significant digits
    one = float(f"{error:.0e}")  # and at one (0.096 becomes 0.1, whose first digit is 1)
    if f"{two:.1e}"[0] in "12":
        return 1 - math.floor(math.log10(two))
    if f"{one:.0e}"[0] == "1":
        return 1 - math.floor(math.log10(one))
    return -math.floor(math.log10(one))


def format_pm(value: float, error: float, *, error_digits: int | None = None) -> str:
    """``"value ± error"`` with the error at 1-2 significant digits and the value at the same decimal place.

    The error gets two significant digits when its first digit is 1 or 2 (``0.0012``, ``0.19``),
    one otherwise (``0.004``, ``0.7``); ``error_digits`` (1 or 2) fixes it instead. A zero error
    prints the value in ``g`` format, ``± 0``.
    """
    value = check_real("value", value)
    error = check_real("error", error, nonnegative=True)
    if error_digits is not None:
        error_digits = check_int("error_digits", error_digits, minimum=1, maximum=2)
    if error == 0:
        return f"{value:g} ± 0"
    decimals = _error_decimals(error, error_digits)
    if decimals >= 0:
        shown_value, shown_error = f"{value:.{decimals}f}", f"{error:.{decimals}f}"
    else:  # an error of tens or more: round both to that place and print integers
        scale = 10.0**-decimals
        shown_value = f"{round(value / scale) * scale:.0f}"
        shown_error = f"{round(error / scale) * scale:.0f}"
    if float(shown_value) == 0:
        shown_value = shown_value.lstrip("-")
    return f"{shown_value} ± {shown_error}"
