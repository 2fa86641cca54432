"""Task metrics on token sequences (chapter 1: the "mirage" of emergence).

All take predicted and target tokens as integer arrays or tensors of shape ``[n, length]``
(one row per example, ``length`` tokens each). Exact match is all-or-nothing per row, so it is nonlinear in the
per-token error rate; per-token accuracy and token edit distance are (close to) linear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._validate import as_rectangular

__all__ = ["edit_distances", "exact_match", "per_token_accuracy", "token_edit_distance"]

ArrayLike = np.ndarray | torch.Tensor | Sequence[Sequence[int]]


def _as_2d(name: str, a: ArrayLike) -> np.ndarray:
    arr = as_rectangular(name, a, "an array of integer tokens [n, length]")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n, length] (one row per example), got shape {arr.shape}")
    return arr


def _pair(pred: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_2d("pred", pred), _as_2d("target", target)
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    if p.shape[0] == 0:
        raise ValueError("pred and target must contain at least one example")
    return p, t


def exact_match(pred: ArrayLike, target: ArrayLike) -> float:
    """Fraction of examples whose every token is right: (1/n) sum_i 1[pred_i == target_i]."""
    p, t = _pair(pred, target)
    return float(np.mean(np.all(p == t, axis=1)))


def per_token_accuracy(pred: ArrayLike, target: ArrayLike) -> float:
    """Fraction of all tokens that are right: (1/(n length)) sum_{i,t} 1[pred_it == target_it]."""
    p, t = _pair(pred, target)
    return float(np.mean(p == t))


def edit_distances(pred: ArrayLike, target: ArrayLike) -> np.ndarray:
    """Levenshtein distance (insertions, deletions, substitutions; cost 1 each) of each row pair."""
    p, t = _pair(pred, target)
    n, length = p.shape
    # Dynamic programming over all rows at once: prev[i, j] = distance of p[i, :k] and t[i, :j].
    prev = np.tile(np.arange(length + 1), (n, 1))
    for k in range(1, length + 1):
        cur = np.empty_like(prev)
        cur[:, 0] = k
        sub = prev[:, :-1] + (p[:, k - 1 : k] != t)  # substitute (or match) p[k-1] with t[j-1]
        dele = prev[:, 1:] + 1  # delete p[k-1]
        for j in range(1, length + 1):
            cur[:, j] = np.minimum(np.minimum(sub[:, j - 1], dele[:, j - 1]), cur[:, j - 1] + 1)
        prev = cur
    return prev[:, length].astype(float)


def token_edit_distance(pred: ArrayLike, target: ArrayLike) -> float:
    """Mean Levenshtein distance between predicted and target token rows (0 = perfect)."""
    return float(np.mean(edit_distances(pred, target)))
