"""Argument checks shared by every public function of :mod:`utils` (private).

Every check takes the argument's name first, then its value (``check_int("steps", steps)``),
and returns the value in the form the caller computes with, or raises a
``TypeError``/``ValueError`` whose message starts with the argument's name, e.g.
``"T must be > 0 (temperature in units of J/k_B), got -1.0"``. Checks of torch objects import
torch only when called, so the numpy-only theory modules can use this module too.
"""

from __future__ import annotations

import contextlib
import math
import warnings
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
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {_describe(values)}")
    if as_rectangular(name, values, "a sequence of integers").ndim != 1:
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
    raw = as_rectangular(name, value)
    try:
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


def as_rectangular(name: str, value: Any, what: str = "a real number or an array of them") -> np.ndarray:
    """``np.asarray(value)`` (a torch tensor is detached first), or raise naming ``name``.

    Nested sequences of unequal lengths give a ValueError; anything NumPy cannot read as an
    array a TypeError saying that ``name`` must be ``what``.
    """
    if type(value).__module__.split(".")[0] == "torch":
        value = value.detach().cpu()
    try:
        return np.asarray(value)
    except ValueError as exc:
        if "inhomogeneous" in str(exc):
            raise ValueError(
                f"{name} must be a rectangular array (every row of the same length), got a ragged sequence"
            ) from None
        raise TypeError(f"{name} must be {what}, got {_describe(value)}") from None
    except (TypeError, RuntimeError):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}") from None


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
    for part, t in (("x", x), ("y", y)):
        if (t.dtype.is_floating_point or t.dtype.is_complex) and not bool(torch.isfinite(t).all()):
            raise ValueError(
                f"{name}: {part} must be finite, got NaN or inf in {int((~torch.isfinite(t)).sum())} entries"
            )
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


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, else raise TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def check_tensor(name: str, value: Any, *, kind: str | None = None, ndim: int | None = None) -> Any:
    """Return ``value`` if it is a torch tensor (of integer or floating ``kind``, with ``ndim`` axes), else raise naming ``name``."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    if kind == "int" and (value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool):
        raise TypeError(f"{name} must hold integer tokens (e.g. torch.long), got dtype {value.dtype}")
    if kind == "float" and not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {tuple(value.shape)}")
    return value


def check_token_range(name: str, tokens: Any, vocab: int) -> None:
    """Raise ValueError naming ``name`` unless every entry of the integer tensor lies in ``[0, vocab)``.

    Inside ``torch.func.vmap`` (the LLC estimator's batched chains) the values cannot be read; the
    check is skipped there, and an out-of-range token still fails the embedding lookup.
    """
    try:
        bad = tokens.numel() > 0 and bool(((tokens < 0) | (tokens >= vocab)).any())
    except RuntimeError:  # data-dependent control flow under vmap
        return
    if bad:
        raise ValueError(
            f"{name} must hold tokens in [0, {vocab}), got values from {int(tokens.min())} to {int(tokens.max())}"
        )


def check_tokens(name: str, value: Any, vocab: int, shape: str) -> Any:
    """Integer tokens in ``[0, vocab)``, 2-D; ``shape`` (e.g. ``"[n, 3]"``) is quoted in the error."""
    tokens = check_tensor(name, value, kind="int")
    if tokens.ndim != 2:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tokens.shape)}")
    check_token_range(name, tokens, vocab)
    return tokens


#: How many rows of the data :func:`check_mean_loss` evaluates one at a time.
LOSS_CHECK_ROWS = 6


def _elementwise(loss_fn: Any) -> bool:
    """True for torch's losses that compare output and target entry by entry (they only warn when shapes differ)."""
    from torch import nn
    from torch.nn import functional as F

    functions = (
        F.mse_loss,
        F.l1_loss,
        F.smooth_l1_loss,
        F.huber_loss,
        F.binary_cross_entropy,
        F.binary_cross_entropy_with_logits,
        F.soft_margin_loss,
        F.poisson_nll_loss,
    )
    modules = (
        nn.MSELoss,
        nn.L1Loss,
        nn.SmoothL1Loss,
        nn.HuberLoss,
        nn.BCELoss,
        nn.BCEWithLogitsLoss,
        nn.SoftMarginLoss,
        nn.PoissonNLLLoss,
    )
    return any(loss_fn is f for f in functions) or isinstance(loss_fn, modules)


def _mean_in_float64(model: Any, loss_fn: Any, x: Any, y: Any, sum_ok: bool) -> bool:
    """True if a float32 check failed but passes on a float64 copy of the model and data.

    Deep chaotic networks amplify the round-off of batched against one-row evaluation layer after
    layer, so float32 losses and gradients can differ by more than the check's tolerance although
    the loss is a mean. A model or loss that cannot run in float64 is given the benefit of the doubt.
    """
    import copy

    import torch

    if not x.is_floating_point() or x.dtype == torch.float64:
        return False
    try:
        model64 = copy.deepcopy(model).double()
        y64 = y.double() if y.is_floating_point() else y
        check_mean_loss(model64, loss_fn, x.double(), y64, sum_ok=sum_ok)
    except ValueError:
        return False
    except Exception:  # the model or the loss does not run in float64: nothing more to learn
        return True
    return True


def check_mean_loss(model: Any, loss_fn: Any, x: Any, y: Any, *, sum_ok: bool = False) -> None:
    """Check on a few rows of ``(x, y)`` that ``loss_fn(model(x), y)`` is the mean of the per-sample losses.

    The per-sample loss of row ``i`` is ``loss_fn(model(x[i:i+1]), y[i:i+1])``; the loss of the
    rows together and its gradient in the model's parameters must be their mean (or, with
    ``sum_ok``, their sum). A target whose shape broadcasts against the output (``y`` of shape
    ``[n]`` against an output ``[n, 1]``) fails, since the loss then compares every output with
    every target; the ValueError names the two shapes. The model runs in eval mode and its
    parameters and gradients are left as they were. Losses that cannot be evaluated on one row,
    or that are not finite there, are not checked.
    """
    import torch

    n = int(x.shape[0])
    if n < 2:
        return
    rows = sorted(set(np.linspace(0, n - 1, min(n, LOSS_CHECK_ROWS)).round().astype(int).tolist()))
    flat_y = y.reshape(n, -1)
    if bool((flat_y[rows] == flat_y[rows[0]]).all()):  # equal targets would hide broadcasting
        other = (flat_y != flat_y[rows[0]]).any(dim=1).nonzero()
        if other.numel():
            rows = sorted(rows[:-1] + [int(other[0])])
    idx = torch.tensor(rows)
    params = [p for p in model.parameters() if p.requires_grad]

    def value_and_grad(loss: Any) -> tuple[float, Any]:
        if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
            raise TypeError(f"loss_fn(model(x), y) must return a tensor holding one number, got {_describe(loss)}")
        if not (params and loss.requires_grad):
            return float(loss.detach()), None
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return float(loss.detach()), torch.cat(
            [(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads, strict=True)]
        )

    # the probe's own warnings (torch's "target size" warning, say) are not the user's: the error says more
    with eval_mode(model), torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = model(x[idx])
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            raise ValueError(
                f"model(x) failed on rows {rows} of data (x of shape {tuple(x.shape)}, dtype {x.dtype}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        shapes = (
            f"model(x) has shape {tuple(out.shape)} and y has shape {tuple(y[idx].shape)}"
            if isinstance(out, torch.Tensor)
            else ""
        )
        try:
            batch = loss_fn(out, y[idx])
        except Exception as exc:
            raise ValueError(
                f"loss_fn(model(x), y) failed on {len(rows)} rows of data ({shapes}): {type(exc).__name__}: {exc}"
            ) from exc
        total, grad = value_and_grad(batch)
        if _elementwise(loss_fn) and isinstance(out, torch.Tensor) and out.shape != y[idx].shape:
            raise ValueError(
                f"y must have the shape of model(x) for {getattr(loss_fn, '__name__', type(loss_fn).__name__)}, "
                f"which compares them entry by entry, but {shapes}"
                + (" (use y.unsqueeze(-1))" if tuple(out.shape) == tuple(y[idx].shape) + (1,) else "")
            )
        try:
            singles = [value_and_grad(loss_fn(model(x[i : i + 1]), y[i : i + 1])) for i in rows]
        except Exception:  # a loss that needs several rows: nothing to compare
            return
    values = np.array([v for v, _ in singles])
    if not (math.isfinite(total) and np.all(np.isfinite(values))):
        return
    k = len(rows)

    def agrees(scale: float) -> bool:
        def close(a: Any, b: Any) -> bool:
            a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
            return float((a - b).norm()) <= 1e-3 * max(float(a.norm()), float(b.norm())) + 1e-10

        if not close(total, scale * values.sum()):
            return False
        if grad is None or any(g is None for _, g in singles):
            return True
        return close(grad, scale * sum(g for _, g in singles))

    if agrees(1.0 / k) or (sum_ok and agrees(1.0)):
        return
    if _mean_in_float64(model, loss_fn, x, y, sum_ok):
        return
    if agrees(1.0):
        raise ValueError(
            f"loss_fn(model(x), y) must average the per-sample losses, but on {k} rows of data it is their sum "
            f"({total:.4g}, {k} times their mean): use reduction='mean'"
        )
    advice = "make loss_fn average the losses of the samples (reduction='mean')"
    if isinstance(out, torch.Tensor) and tuple(out.shape) != tuple(y[idx].shape):
        try:
            both = tuple(torch.broadcast_shapes(out.shape, y[idx].shape))
        except RuntimeError:
            both = None
        if both is not None and both != tuple(out.shape):
            fix = ""
            if tuple(out.shape) == tuple(y[idx].shape) + (1,):
                fix = " (y.unsqueeze(-1))"
            elif tuple(y[idx].shape) == tuple(out.shape) + (1,):
                fix = " (y.squeeze(-1))"
            advice = (
                f"they broadcast to {both}, which compares every output with every target: "
                f"give y the output's shape{fix}"
            )
    if math.isclose(total, values.mean(), rel_tol=1e-3):
        found = "its gradient in the parameters is not the mean of theirs"
    else:
        found = f"it is {total:.4g} while they average {values.mean():.4g}"
    raise ValueError(
        f"loss_fn(model(x), y) must be the mean of the per-sample losses loss_fn(model(x[i:i+1]), y[i:i+1]), "
        f"but on rows {rows} of data {found}. {shapes}: {advice}."
    )
