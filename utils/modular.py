"""Modular arithmetic data: ``(a op b) mod p`` over all ``p**2`` pairs, split into train and test (chapter 6).

:func:`modular_arithmetic` returns the two splits as :class:`ModularData`, with the same field
names as chapter 1's :func:`utils.addition.addition_split`; :class:`utils.grokking.ModularMLP`
is trained on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_choice, check_int, check_real, check_seed

__all__ = ["MODULAR_OPS", "ModularData", "modular_arithmetic"]


#: The operations :func:`modular_arithmetic` knows, as functions of integer arrays (before ``mod p``).
MODULAR_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply}


def _is_prime(n: int) -> bool:
    """True if the integer ``n`` is a prime (trial division; for the small moduli of chapter 6)."""
    n = check_int("n", n)
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))


@dataclass(frozen=True)
class ModularData:
    """A split of the modular-arithmetic task: ``x`` are the tokens ``(a, b)``, ``y`` is ``(a op b) mod p``."""

    x: torch.Tensor  # [n, 2], int64: the two operands, each a token in 0..p-1
    y: torch.Tensor  # [n], int64: the answer, a token in 0..p-1
    a: np.ndarray
    b: np.ndarray
    p: int
    op: str

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens, ``p`` (operands and answers share it)."""
        return self.p

    @property
    def pair_index(self) -> np.ndarray:
        """Each problem's position ``a * p + b`` in the ``p x p`` table of all pairs."""
        return self.a * self.p + self.b

    def __len__(self) -> int:
        return int(self.x.shape[0])


def modular_arithmetic(
    p: int, *, op: str = "+", train_fraction: float, seed: int = 0
) -> tuple[ModularData, ModularData]:
    """Train and test sets of ``(a op b) mod p`` for all ``p**2`` pairs ``0 <= a, b < p`` (chapter 6).

    A uniformly random ``round(train_fraction * p**2)`` of the pairs (seeded by ``seed``) form
    the training set and the rest the test set: the two are disjoint and together hold every
    pair once. Each split is listed in the order of ``a * p + b``.
    """
    p = check_int("p", p, minimum=3)
    if not _is_prime(p):
        raise ValueError(f"p must be a prime > 2 (so that Z_p is a field), got {p}")
    if not isinstance(op, str):
        raise TypeError(f"op must be one of {tuple(MODULAR_OPS)}, got {type(op).__name__}")
    check_choice("op", op, MODULAR_OPS)
    train_fraction = check_real("train_fraction", train_fraction)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    seed = check_seed("seed", seed)
    num_pairs = p * p
    num_train = int(round(train_fraction * num_pairs))
    if not 0 < num_train < num_pairs:
        raise ValueError(
            f"train_fraction must leave both splits non-empty: {train_fraction} of {num_pairs} pairs is {num_train}"
        )
    codes = np.random.default_rng(seed).permutation(num_pairs)
    return tuple(_modular_split(np.sort(c), p, op) for c in (codes[:num_train], codes[num_train:]))  # type: ignore[return-value]


def _modular_split(codes: np.ndarray, p: int, op: str) -> ModularData:
    a, b = codes // p, codes % p
    y = MODULAR_OPS[op](a, b) % p
    x = torch.as_tensor(np.stack([a, b], axis=1))
    return ModularData(x, torch.as_tensor(y), a, b, p, op)
