"""Multi-digit addition data, generated on the fly, in two tokenisations (chapter 1).

Problems ``a + b`` with the numbers tokenised in one of two ways:

- digit-level (``chunk=1``): every decimal digit is a token, vocabulary ``0..9``;
- chunked (``chunk=c``): each group of ``c`` digits is one token, vocabulary ``0..10**c - 1``.
  The chunks are fixed and right-aligned (counted from the units digit, the number zero-padded
  on the left), which is close to the right-to-left split that Singh & Strouse (2024) enforce
  with thousands separators. It is *not* GPT-2's byte-pair encoding, whose split of a number
  depends on the number itself (common numbers are single tokens, others split irregularly).

Numbers are written most significant digit first and zero-padded: ``a`` and ``b`` to
``num_digits`` digits, the sum to ``num_digits + 1`` digits; padding is added on the left so the
number of digits is a multiple of ``chunk``. Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validate import as_rectangular, check_array, check_int, check_seed

__all__ = ["AdditionData", "addition_split", "decode_numbers", "encode_numbers"]


def _num_tokens(num_digits: int, chunk: int = 1) -> int:
    """Number of tokens for a number of ``num_digits`` digits split into chunks of ``chunk`` digits."""
    num_digits = check_int("num_digits", num_digits, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    return -(-num_digits // chunk)


def _integers(name: str, values: Any) -> np.ndarray:
    """Integer-valued input (ints, or floats that are whole numbers) as int64, else raise naming ``name``."""
    raw = as_rectangular(name, values, "integers or an array of them")
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64)
    arr = check_array(name, raw if isinstance(values, torch.Tensor) else values) if raw.size else raw.astype(np.float64)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be whole numbers, got {arr[arr != np.round(arr)][:5].tolist()}")
    return arr.astype(np.int64)


def encode_numbers(values: np.ndarray, num_digits: int, chunk: int = 1) -> np.ndarray:
    """Tokens of non-negative integers, shape ``[len(values), _num_tokens(num_digits, chunk)]``, most significant first."""
    length = _num_tokens(num_digits, chunk)
    if num_digits > 18:
        raise ValueError(f"num_digits must be <= 18 (the numbers are int64), got {num_digits}")
    values = _integers("values", values)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of integers, got shape {values.shape}")
    if values.size and (values.min() < 0 or values.max() >= 10**num_digits):
        raise ValueError(
            f"values must lie in [0, 10**num_digits) = [0, {10**num_digits}), got range [{values.min()}, {values.max()}]"
        )
    base = 10**chunk
    powers = base ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % base


def decode_numbers(tokens: np.ndarray | torch.Tensor, chunk: int = 1) -> np.ndarray:
    """Integers from tokens ``[n, length]`` (inverse of :func:`encode_numbers`)."""
    chunk = check_int("chunk", chunk, minimum=1)
    t = _integers("tokens", tokens)
    if t.ndim != 2:
        raise ValueError(f"tokens must be 2-D [n, length], got shape {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= 10**chunk):
        raise ValueError(f"tokens must lie in [0, 10**chunk) = [0, {10**chunk}), got range [{t.min()}, {t.max()}]")
    base = 10**chunk
    powers = base ** np.arange(t.shape[1] - 1, -1, -1, dtype=np.int64)
    return t @ powers


@dataclass(frozen=True)
class AdditionData:
    """A split of the addition task: ``x`` are the tokens of ``a`` then ``b``; ``y`` the tokens of ``a + b``."""

    x: torch.Tensor  # [n, 2 * _num_tokens(num_digits, chunk)], int64
    y: torch.Tensor  # [n, _num_tokens(num_digits + 1, chunk)], int64
    a: np.ndarray
    b: np.ndarray
    num_digits: int
    chunk: int

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens, ``10**chunk``."""
        return 10**self.chunk

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _build(a: np.ndarray, b: np.ndarray, num_digits: int, chunk: int) -> AdditionData:
    x = np.concatenate([encode_numbers(a, num_digits, chunk), encode_numbers(b, num_digits, chunk)], axis=1)
    y = encode_numbers(a + b, num_digits + 1, chunk)
    return AdditionData(torch.as_tensor(x), torch.as_tensor(y), a, b, num_digits, chunk)


def addition_split(
    num_train: int, num_test: int, num_digits: int, *, chunk: int = 1, seed: int = 0
) -> tuple[AdditionData, AdditionData]:
    """Disjoint train and test sets of uniformly random problems ``a + b`` with ``0 <= a, b < 10**num_digits``.

    The same ``seed`` gives the same problems whatever ``chunk`` is, so tokenisations can be
    compared on identical data.
    """
    num_train = check_int("num_train", num_train, minimum=1)
    num_test = check_int("num_test", num_test, minimum=0)
    num_digits = check_int("num_digits", num_digits, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    seed = check_seed("seed", seed)
    if num_digits > 9:
        raise ValueError(f"num_digits must be <= 9 (sums must fit in int64 arithmetic here), got {num_digits}")
    space = 10 ** (2 * num_digits)
    need = num_train + num_test
    if need > space:
        raise ValueError(
            f"num_train + num_test = {need} exceeds the {space} distinct problems with num_digits={num_digits}"
        )
    rng = np.random.default_rng(seed)
    if need > space // 4:
        codes = rng.permutation(space)[:need]
    else:
        codes = np.unique(rng.integers(0, space, size=int(need * 1.2) + 16))
        while codes.size < need:
            codes = np.unique(np.concatenate([codes, rng.integers(0, space, size=need)]))
        codes = rng.permutation(codes)[:need]
    a, b = codes // 10**num_digits, codes % 10**num_digits
    train = _build(a[:num_train], b[:num_train], num_digits, chunk)
    test = _build(a[num_train:], b[num_train:], num_digits, chunk)
    return train, test
