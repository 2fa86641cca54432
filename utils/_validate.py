"""Argument checks shared by every public function of :mod:`utils` (private).

Every check takes the argument's name first, then its value (``check_int("steps", steps)``),
and returns the value in the form the caller computes with, or raises a
``TypeError``/``ValueError`` whose message starts with the argument's name, e.g.
``"T must be > 0 (temperature in units of J/k_B), got -1.0"``. Checks of torch objects import
torch only when called, so the numpy-only theory modules can use this module too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from numbers import Integral, Real
from typing import Any

import numpy as np

#: Seeds are integers in ``[0, SEED_MAX]``: every generator the course uses accepts them
#: (NumPy's legacy ``np.random.seed`` takes at most 32 bits).
SEED_MAX = 2**32 - 1


def _describe(value: Any) -> str:
    return f"{type(value).__name__} ({value!r})"


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_int_sequence(name: str, values: Any, *, minimum: int | None = None, min_length: int = 1) -> list[int]:
    """Return a sequence of integers (each ``>= minimum``, at least ``min_length`` of them) as a list, or raise naming ``name``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or np.ndim(values) != 1:
        raise TypeError(f"{name} must be a sequence of integers, got {_describe(values)}")
    out = [check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values)]
    if len(out) < min_length:
        raise ValueError(f"{name} must hold at least {min_length} integers, got {out}")
    return out


def check_seed(name: str, value: Any) -> int:
    """Return a seed as an int in ``[0, SEED_MAX]``, or raise naming ``name``."""
    return check_int(name, value, minimum=0, maximum=SEED_MAX)


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
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {value}") from None
    return float(_check_bounds(name, np.asarray(x), positive, nonnegative, low, high, ""))


def _check_bounds(
    name: str,
    arr: np.ndarray,
    positive: bool,
    nonnegative: bool,
    low: float | None,
    high: float | None,
    meaning: str,
) -> np.ndarray:
    """Return ``arr`` if every entry is finite and within the bounds, else raise ValueError naming ``name``."""

    def shown(bad: np.ndarray) -> str:  # the offending value, or the first few of them
        values = arr[bad].ravel()
        return f"{float(values[0])}" if arr.ndim == 0 else f"{values[:5].tolist()}"

    what = f" ({meaning})" if meaning else ""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {shown(~np.isfinite(arr))}")
    rules = []
    if positive:
        rules.append(("> 0", arr <= 0))
    if nonnegative:
        rules.append((">= 0", arr < 0))
    if low is not None:
        rules.append((f">= {low}", arr < low))
    if high is not None:
        rules.append((f"<= {high}", arr > high))
    for rule, bad in rules:
        if np.any(bad):
            raise ValueError(f"{name} must be {rule}{what}, got {shown(bad)}")
    return arr


def check_array(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low: float | None = None,
    high: float | None = None,
    meaning: str = "",
) -> np.ndarray:
    """Return a real, finite scalar or array (within the bounds) as a float ndarray, or raise naming ``name``.

    Strings, booleans, complex numbers and ``None`` are refused with a ``TypeError``.
    ``meaning`` (e.g. ``"mean number of offspring"``) follows the rule in the message of a bound error.
    """
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number or an array of them, got {_describe(value)}")
    try:
        raw = np.asarray(value)
        ok = raw.dtype.kind in "iuf" or (
            raw.dtype.kind == "O" and all(isinstance(v, Real) and not isinstance(v, bool) for v in raw.flat)
        )
        if not ok:
            raise TypeError
        arr = raw.astype(np.float64)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {value!r}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or an array of them, got {_describe(value)}") from None
    return _check_bounds(name, arr, positive, nonnegative, low, high, meaning)


def float_or_array(result: Any, *inputs: Any) -> float | np.ndarray:
    """``result`` as a Python ``float`` if every one of ``inputs`` is a scalar, else as a float ndarray.

    Without ``inputs`` the rule applies to ``result`` itself (a reduction over one sample set
    gives a float). The course's vectorised functions use it so that scalar input always gives
    a plain float back, never a 0-d array or a NumPy scalar.
    """
    if all(np.ndim(x) == 0 for x in (inputs or (result,))):
        return float(np.asarray(result, dtype=np.float64))
    return np.asarray(result, dtype=np.float64)


def check_temperature(name: str, value: Any, *, vector: bool = False) -> np.ndarray:
    """Temperatures (units of ``J / k_B``): finite and > 0, as a float ndarray.

    ``vector=True`` returns a non-empty 1-D array (a scalar becomes length 1), as the samplers need.
    """
    arr = check_array(name, value, positive=True, meaning="temperature in units of J/k_B")
    if vector:
        arr = np.atleast_1d(arr)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"{name} must be a positive number or a non-empty 1-D sequence of them, got shape {arr.shape}"
            )
    return arr


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_callable(name: str, value: Any, usage: str = "") -> Any:
    """Return ``value`` if it is callable, else raise TypeError naming ``name`` (``usage`` shows the call)."""
    if not callable(value):
        how = f" as {usage}" if usage else ""
        raise TypeError(f"{name} must be callable{how}, got {_describe(value)}")
    return value


def check_samples(name: str, value: Any) -> np.ndarray:
    """Return finite samples (along the last axis, at least 2 of them) as a float ndarray, or raise naming ``name``."""
    arr = check_array(name, value)
    if arr.ndim < 1 or arr.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 samples along its last axis, got shape {arr.shape}")
    return arr


def check_module(name: str, value: Any) -> Any:
    """Return ``value`` if it is a ``torch.nn.Module``, else raise TypeError naming ``name``."""
    from torch import nn

    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def check_data(name: str, data: Any, *, min_rows: int = 1) -> tuple[Any, Any]:
    """Return a data set ``(x, y)`` of tensors with the same number (>= ``min_rows``) of rows, or raise naming ``name``."""
    import torch

    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{name} must be a tuple (x, y) of tensors, got {type(data).__name__}")
    x, y = data
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError(f"{name} must hold torch tensors, got ({type(x).__name__}, {type(y).__name__})")
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name}: x and y must have the same number of rows, got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[0] < min_rows:
        rows = "row" if min_rows == 1 else "rows"
        raise ValueError(f"{name} must hold at least {min_rows} {rows}, got {x.shape[0]}")
    return x, y


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Put ``model`` (every submodule) in eval mode for the block, then restore each one's own mode."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
