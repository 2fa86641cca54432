"""Argument checks shared by the public functions: each names the offending argument."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, or raise TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} ({value!r})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """Return ``value`` as a finite float within the stated bounds, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    x = float(value)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    if low is not None and x < low:
        raise ValueError(f"{name} must be >= {low}, got {x}")
    if high is not None and x > high:
        raise ValueError(f"{name} must be <= {high}, got {x}")
    return x


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_array(name: str, value: Any, *, nonnegative: bool = False, meaning: str = "") -> np.ndarray:
    """Return a real, finite scalar or array as a float ndarray, or raise naming ``name``.

    ``meaning`` (e.g. ``"mean number of offspring"``) is added to the message of a sign error.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number or an array of them, got bool")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or an array of them, got {type(value).__name__} ({value!r})") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if nonnegative and np.any(arr < 0):
        what = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name}{what} must be >= 0, got {value!r}")
    return arr


def check_samples(x: Any, name: str = "x") -> np.ndarray:
    """Return samples (along the last axis, at least 2 of them) as a float ndarray, or raise naming ``name``."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 samples along its last axis, got shape {arr.shape}")
    return arr
