"""Plain data across the sandbox wall: Python values <-> JSON, with arrays as NumPy ``.npy`` bytes.

The grader sends a graded function's arguments into the submission's kernel in this form and
receives its return value the same way. Nothing is ever unpickled: JSON is parsed by
:mod:`json`, arrays by :func:`numpy.load` with ``allow_pickle=False``, and only the types below
are rebuilt. Sizes and nesting are bounded, so a hostile kernel cannot make the grader build
something huge. Runs on both sides (stdlib and NumPy; torch only when a tensor is seen).

Encoded forms: JSON ``null``/booleans/numbers/strings stand for themselves; every other value is
an object ``{"t": tag, ...}`` with tag ``list``, ``tuple``, ``set``, ``dict`` (keys ``k`` and values ``v``),
``ndarray`` or ``tensor`` (``npy``: base64 of the ``.npy`` bytes), ``float`` (``nan``, ``inf``,
``-inf``), ``complex``, ``namespace`` (attributes), ``matvec`` (a matrix given as a function) and,
for return values only, ``opaque`` (a value of another type: its type name and a short repr).
"""

from __future__ import annotations

import base64
import io
import json
import math
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np

#: Largest encoded message accepted, in bytes.
MAX_BYTES = 64 * 2**20
#: Deepest nesting of containers accepted.
MAX_DEPTH = 32
#: Largest number of items in one container.
MAX_ITEMS = 1_000_000
_NUMERIC = "biufc"  # NumPy dtype kinds an array may have: bool, int, uint, float, complex


class WireError(ValueError):
    """A value that cannot cross, or a message that is malformed or too large."""


class Opaque:
    """A returned value of a type that does not cross: only its type name and repr come back.

    It is no number, array or sequence, so a check that needs one reports the student's type.
    """

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


def _opaque(type_name: str, text: str) -> Opaque:
    """An :class:`Opaque` whose class is named like the student's type (``type(x).__name__`` reads well)."""
    name = type_name if type_name.isidentifier() else "object"
    return type(name, (Opaque,), {})(type_name, text)


def _npy(array: np.ndarray) -> str:
    if array.dtype.kind not in _NUMERIC:
        raise WireError(f"an array of dtype {array.dtype} cannot be sent (numbers and booleans only)")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_npy(text: Any) -> np.ndarray:
    if not isinstance(text, str) or len(text) > MAX_BYTES * 4 // 3 + 8:
        raise WireError("malformed array")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as exc:
        raise WireError(f"malformed array: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in _NUMERIC:
        raise WireError("malformed array")
    return array


def _float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {"t": "float", "v": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def encode(value: Any, *, result: bool = False, _depth: int = 0) -> Any:
    """The JSON-able form of ``value``; with ``result=True`` an unsupported value becomes ``opaque``."""
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")

    def inner(v: Any) -> Any:
        return encode(v, result=result, _depth=_depth + 1)

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"t": "complex", "re": _float(value.real), "im": _float(value.imag)}
    if isinstance(value, np.ndarray):
        return {"t": "ndarray", "npy": _npy(value)}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return {"t": "tensor", "npy": _npy(value.detach().cpu().resolve_conj().numpy())}
    if isinstance(value, (list, tuple, set, frozenset, dict)) and len(value) > MAX_ITEMS:
        raise WireError(f"more than {MAX_ITEMS} items")
    if type(value) in (list, tuple):
        return {"t": type(value).__name__, "v": [inner(v) for v in value]}
    if type(value) in (set, frozenset):
        return {"t": "set", "v": [inner(v) for v in value]}
    if type(value) is dict:
        return {"t": "dict", "k": [inner(k) for k in value], "v": [inner(v) for v in value.values()]}
    if type(value) is SimpleNamespace:
        return {"t": "namespace", "v": {k: inner(v) for k, v in vars(value).items()}}
    if type(value).__name__ == "MatVec" and hasattr(value, "matrix"):
        return {"t": "matvec", "m": inner(np.asarray(value.matrix))}
    if result:
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__name__} object>"
        return {"t": "opaque", "type": type(value).__name__[:80], "repr": text[:200]}
    raise WireError(f"a {type(value).__name__} cannot be sent to the grading kernel")


def decode(tree: Any, *, _depth: int = 0) -> Any:
    """The Python value of an encoded form (raises :class:`WireError` on anything malformed)."""
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if not isinstance(tree, dict) or not isinstance(tree.get("t"), str):
        raise WireError("malformed message")
    tag = tree["t"]

    def items() -> list[Any]:
        v = tree.get("v")
        if not isinstance(v, list) or len(v) > MAX_ITEMS:
            raise WireError(f"malformed {tag}")
        return [decode(x, _depth=_depth + 1) for x in v]

    if tag == "list":
        return items()
    if tag == "tuple":
        return tuple(items())
    if tag == "set":
        try:
            return set(items())
        except TypeError:
            raise WireError("a set of unhashable values") from None
    if tag == "dict":
        keys = tree.get("k")
        if not isinstance(keys, list) or len(keys) > MAX_ITEMS:
            raise WireError("malformed dict")
        values = items()
        if len(values) != len(keys):
            raise WireError("malformed dict")
        try:
            return dict(zip((decode(k, _depth=_depth + 1) for k in keys), values, strict=True))
        except TypeError:
            raise WireError("a dict with unhashable keys") from None
    if tag == "float":
        if tree.get("v") not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(tree["v"])
    if tag == "complex":
        return complex(decode(tree.get("re"), _depth=_depth + 1), decode(tree.get("im"), _depth=_depth + 1))
    if tag == "ndarray":
        return _from_npy(tree.get("npy"))
    if tag == "tensor":
        import torch

        return torch.from_numpy(_from_npy(tree.get("npy")).copy())
    if tag == "namespace":
        fields = tree.get("v")
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and k.isidentifier() and not k.startswith("__") for k in fields
        ):
            raise WireError("malformed namespace")
        return SimpleNamespace(**{k: decode(v, _depth=_depth + 1) for k, v in fields.items()})
    if tag == "matvec":
        from ..exercises._core import MatVec

        return MatVec(decode(tree.get("m"), _depth=_depth + 1))
    if tag == "opaque":
        return _opaque(str(tree.get("type", "object"))[:80], str(tree.get("repr", ""))[:200])
    raise WireError(f"unknown tag {tag!r}")


def dumps(value: Any, *, result: bool = False) -> str:
    """``value`` encoded as a JSON text (at most :data:`MAX_BYTES`)."""
    text = json.dumps(encode(value, result=result), allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_BYTES:
        raise WireError(f"the value takes more than {MAX_BYTES // 2**20} MiB")
    return text


def loads(text: Any) -> Any:
    """The value of a JSON text made by :func:`dumps` (raises :class:`WireError` if malformed or too large)."""
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("malformed or oversized message")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed message: {exc}") from None
    try:
        return decode(tree)
    except WireError:
        raise
    except Exception as exc:  # e.g. a complex number made of strings: malformed all the same
        raise WireError(f"malformed message: {type(exc).__name__}: {exc}") from None
