"""Byte-pair encoding of decimal numbers: a variable segmentation learned from a corpus (chapter 1).

GPT-2's tokeniser splits numbers by byte-pair encoding (BPE, Sennrich et al. 2016): start from
single characters (here the digits 0-9), count every adjacent pair of tokens in a corpus, merge the
most frequent pair into a new token, and repeat ``num_merges`` times. A number is then split by
applying the learned merges in the order they were learned, so the split depends on the number
(``"123456"`` may become ``12|345|6`` and ``"654321"`` ``6|54|32|1``), unlike the fixed,
right-aligned chunks of :mod:`utils.addition`.

Numbers are written as text is: in decimal, most significant digit first, with no leading zeros
(``0`` is ``"0"``). :meth:`NumberBPE.encode` returns fixed-length rows of token ids for the
course's token models, padded on the left with :data:`PAD` (id 0). Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import check_int

__all__ = ["PAD", "NumberBPE", "learn_number_bpe"]

#: Token id of the padding token (the empty string), which fills a row on the left.
PAD = 0

_EMPTY = -1  # a consumed slot while merging (never a token id)


def _digit_rows(values: Any, name: str) -> np.ndarray:
    """Rows of digit token ids (``digit + 1``), right-aligned, ``_EMPTY`` on the left: ``[n, max digits]``."""
    raw = np.asarray(values)
    if raw.dtype.kind not in "iu" or raw.ndim != 1:
        raise TypeError(f"{name} must be a 1-D array of integers, got dtype {raw.dtype} and shape {raw.shape}")
    if raw.size == 0:
        raise ValueError(f"{name} must hold at least one number")
    if raw.min() < 0:
        raise ValueError(f"{name} must be non-negative integers, got {int(raw.min())}")
    v = raw.astype(np.int64)
    width = len(str(int(v.max())))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (v[:, None] // powers[None, :]) % 10
    length = np.maximum((v[:, None] >= powers[None, ::-1]).sum(1), 1)  # digits without leading zeros
    keep = np.arange(width)[None, :] >= width - length[:, None]
    return np.where(keep, digits + 1, _EMPTY)


def _apply_merge(rows: np.ndarray, left: int, right: int, new: int) -> np.ndarray:
    """Merge every occurrence of the pair ``(left, right)`` in each row, leftmost first, and re-align the rows right."""
    rows = rows.copy()
    for j in range(rows.shape[1] - 1):
        # left to right over the slots, so "111" with the pair (1, 1) becomes 11|1: the rows are
        # right-aligned, and a merge at slot j empties slot j + 1, which then matches nothing
        hit = (rows[:, j] == left) & (rows[:, j + 1] == right)
        rows[hit, j] = new
        rows[hit, j + 1] = _EMPTY
    # right-align: empty slots first, tokens in their order
    order = np.argsort(rows != _EMPTY, axis=1, kind="stable")
    return np.take_along_axis(rows, order, axis=1)


def _rows_with_pair(rows: np.ndarray, left: int, right: int) -> np.ndarray:
    """Indices of the rows in which the token ``left`` is directly followed by ``right``."""
    return np.flatnonzero(((rows[:, :-1] == left) & (rows[:, 1:] == right)).any(1))


def _merge_in_place(rows: np.ndarray, left: int, right: int, new: int) -> None:
    """:func:`_apply_merge` on only the rows that hold the pair, in place."""
    hit = _rows_with_pair(rows, left, right)
    rows[hit] = _apply_merge(rows[hit], left, right, new)


def _pair_counts(rows: np.ndarray, size: int) -> np.ndarray:
    """Counts of adjacent token pairs ``[size, size]`` in right-aligned rows (empty slots excluded)."""
    a, b = rows[:, :-1], rows[:, 1:]
    ok = (a != _EMPTY) & (b != _EMPTY)
    return np.bincount((a[ok] * size + b[ok]).ravel(), minlength=size * size).reshape(size, size)


@dataclass(frozen=True)
class NumberBPE:
    """A learned BPE vocabulary for decimal numbers (chapter 1).

    ``tokens[i]`` is the string of token id ``i``: ``""`` (:data:`PAD`, id 0), the digits
    ``"0"``-``"9"`` (ids 1-10), then one token per merge in the order learned. ``merges[r]`` is
    the pair of token ids merged at rank ``r`` and ``merged[r]`` the id it produced.
    """

    tokens: tuple[str, ...]
    merges: tuple[tuple[int, int], ...]
    merged: tuple[int, ...]

    @property
    def vocab_size(self) -> int:
        """Number of token ids, padding included."""
        return len(self.tokens)

    def _rows(self, values: Any) -> np.ndarray:
        rows = _digit_rows(values, "values")
        for (left, right), new in zip(self.merges, self.merged, strict=True):
            _merge_in_place(rows, left, right, new)
        return rows

    def split(self, value: int) -> list[str]:
        """The tokens of one number, as strings, most significant first (``split(1234)`` -> e.g. ``["12", "34"]``)."""
        value = check_int("value", value, minimum=0)
        row = self._rows(np.array([value]))[0]
        return [self.tokens[t] for t in row if t != _EMPTY]

    def encode(self, values: Any, length: int) -> np.ndarray:
        """Token ids ``[n, length]`` of non-negative integers, right-aligned, padded on the left with :data:`PAD`."""
        length = check_int("length", length, minimum=1)
        rows = self._rows(values)
        used = int((rows != _EMPTY).sum(1).max())
        if used > length:
            raise ValueError(f"length must be >= {used}, the most tokens any of these numbers needs, got {length}")
        rows = np.where(rows == _EMPTY, PAD, rows)
        if rows.shape[1] < length:
            rows = np.pad(rows, ((0, 0), (length - rows.shape[1], 0)), constant_values=PAD)
        return rows[:, rows.shape[1] - length :]

    def decode(self, ids: Any) -> np.ndarray:
        """The numbers that rows of token ids ``[n, length]`` spell, as Python ints (PAD anywhere is skipped; an empty row is 0).

        The array has dtype ``object``: a row of a model's wrong tokens may spell more digits than int64 holds.
        """
        arr = np.asarray(ids)
        if arr.dtype.kind not in "iu" or arr.ndim != 2:
            raise TypeError(
                f"ids must be a 2-D array of integer token ids, got dtype {arr.dtype} and shape {arr.shape}"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got range [{arr.min()}, {arr.max()}]")
        table = np.array(self.tokens, dtype=object)
        text = ["".join(r) for r in table[arr]]
        return np.array([int(s) if s else 0 for s in text], dtype=object)


def learn_number_bpe(values: Any, num_merges: int) -> NumberBPE:
    """Learn ``num_merges`` BPE merges from a corpus of non-negative integers (chapter 1).

    Each number is one word, its digits the initial tokens. Each round counts every adjacent pair of
    tokens over the corpus and merges the most frequent one (ties go to the pair of smaller token
    ids) everywhere, leftmost occurrence first; a merge whose string is already a token reuses that
    token's id. Stops early when no pair is left.
    """
    num_merges = check_int("num_merges", num_merges, minimum=0)
    rows = _digit_rows(values, "values")
    tokens: list[str] = [""] + [str(d) for d in range(10)]
    index = {t: i for i, t in enumerate(tokens)}
    merges: list[tuple[int, int]] = []
    merged: list[int] = []
    counts = _pair_counts(rows, len(tokens))
    for _ in range(num_merges):
        size = len(tokens)
        if counts.max() == 0:
            break
        left, right = divmod(int(np.argmax(counts)), size)  # argmax: the first, i.e. smallest ids, of the ties
        text = tokens[left] + tokens[right]
        if text not in index:
            index[text] = len(tokens)
            tokens.append(text)
            counts = np.pad(counts, ((0, 1), (0, 1)))
        new = index[text]
        # only the rows that hold the pair change: update the counts from them alone
        hit = _rows_with_pair(rows, left, right)
        after = _apply_merge(rows[hit], left, right, new)
        counts += _pair_counts(after, len(tokens)) - _pair_counts(rows[hit], len(tokens))
        rows[hit] = after
        merges.append((left, right))
        merged.append(new)
    return NumberBPE(tuple(tokens), tuple(merges), tuple(merged))
