"""Synthetic data sets, generated on the fly (nothing is downloaded).

Chapter 1: multi-digit addition ``a + b`` with two tokenisations of the numbers:

- digit-level (``chunk=1``): every decimal digit is a token, vocabulary ``0..9``;
- chunked (``chunk=c``): each group of ``c`` digits is one token, vocabulary ``0..10**c - 1``.
  The chunks are fixed and right-aligned (counted from the units digit, the number zero-padded
  on the left), which is close to the right-to-left split that Singh & Strouse (2024) enforce
  with thousands separators. It is *not* GPT-2's byte-pair encoding, whose split of a number
  depends on the number itself (common numbers are single tokens, others split irregularly).

Numbers are written most significant digit first and zero-padded: ``a`` and ``b`` to
``num_digits`` digits, the sum to ``num_digits + 1`` digits; padding is added on the left so the
number of digits is a multiple of ``chunk``.

Chapter 6: modular arithmetic ``(a op b) mod p`` over all ``p**2`` pairs, split at random into
train and test sets (:func:`modular_arithmetic`).

Chapter 7: prompts for in-context linear regression (:func:`icl_regression`, :func:`task_pool`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validate import check_array, check_choice, check_int, check_real, check_seed


def num_tokens(num_digits: int, chunk: int = 1) -> int:
    """Number of tokens for a number of ``num_digits`` digits split into chunks of ``chunk`` digits."""
    num_digits = check_int("num_digits", num_digits, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    return -(-num_digits // chunk)


def _integers(name: str, values: Any) -> np.ndarray:
    """Integer-valued input (ints, or floats that are whole numbers) as int64, else raise naming ``name``."""
    raw = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values)
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64)
    arr = check_array(name, raw if isinstance(values, torch.Tensor) else values) if raw.size else raw.astype(np.float64)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be whole numbers, got {arr[arr != np.round(arr)][:5].tolist()}")
    return arr.astype(np.int64)


def encode_numbers(values: np.ndarray, num_digits: int, chunk: int = 1) -> np.ndarray:
    """Tokens of non-negative integers, shape ``[len(values), num_tokens(num_digits, chunk)]``, most significant first."""
    length = num_tokens(num_digits, chunk)
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


def tokens_to_digits(tokens: np.ndarray | torch.Tensor, chunk: int, num_digits: int) -> np.ndarray:
    """Re-tokenise chunked tokens ``[n, length]`` as digit tokens ``[n, num_digits]`` (for per-digit metrics)."""
    return encode_numbers(decode_numbers(tokens, chunk), num_digits, 1)


@dataclass(frozen=True)
class AdditionData:
    """A split of the addition task: ``x`` are the tokens of ``a`` then ``b``; ``y`` the tokens of ``a + b``."""

    x: torch.Tensor  # [n, 2 * num_tokens(num_digits, chunk)], int64
    y: torch.Tensor  # [n, num_tokens(num_digits + 1, chunk)], int64
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
    seed = check_seed(seed)
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


# ---------------------------------------------------------------------------------------------
# Chapter 7: in-context linear regression prompts (x_1, y_1, ..., x_N, y_N, x_query).


@dataclass(frozen=True)
class ICLPrompts:
    """A batch of in-context regression prompts: row ``p`` holds ``N`` context pairs and one query.

    ``x[p, i]`` ~ N(0, I_d) for ``i < N`` (context) and ``x[p, N]`` (the query);
    ``y[p, i] = w[p] . x[p, i] + noise * eps`` with eps ~ N(0, 1), the query's label included.
    """

    x: torch.Tensor  # [P, N + 1, d]
    y: torch.Tensor  # [P, N + 1]
    w: torch.Tensor  # [P, d], the task of each prompt
    noise: float

    @property
    def num_context(self) -> int:
        """Number ``N`` of labelled context pairs per prompt."""
        return int(self.x.shape[1]) - 1

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.x.shape[2])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def target(self) -> torch.Tensor:
        """The query's label ``y[:, N]``, shape ``[P]`` (what a model must predict)."""
        return self.y[:, -1]

    def tokens(self, query_flag: bool = False) -> torch.Tensor:
        """Tokens ``z_i = (x_i, y_i)``, shape ``[P, N + 1, d + 1]``; the query token carries label 0.

        With ``query_flag`` a last feature is 1 on the query token and 0 elsewhere (``d + 2`` features).
        """
        y = self.y.clone()
        y[:, -1] = 0.0
        z = [self.x, y.unsqueeze(-1)]
        if query_flag:
            flag = torch.zeros_like(y)
            flag[:, -1] = 1.0
            z.append(flag.unsqueeze(-1))
        return torch.cat(z, dim=-1)

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x_context [P, N, d], y_context [P, N], x_query [P, d])`` as float64 NumPy arrays (for :mod:`utils.icl`)."""
        x, y = self.x.double().numpy(), self.y.double().numpy()
        return x[:, :-1], y[:, :-1], x[:, -1]

    def truncate(self, num_context: int) -> ICLPrompts:
        """The same prompts with only their first ``num_context`` context pairs (same query and task)."""
        n = check_int("num_context", num_context, minimum=0)
        if n > self.num_context:
            raise ValueError(f"num_context must be <= {self.num_context}, got {n}")
        keep = list(range(n)) + [self.num_context]
        return ICLPrompts(self.x[:, keep], self.y[:, keep], self.w, self.noise)


def task_pool(num_tasks: int, dim: int, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``num_tasks`` regression vectors ``w ~ N(0, I_dim)``, shape ``[num_tasks, dim]`` (chapter 7, task diversity)."""
    num_tasks = check_int("num_tasks", num_tasks, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return torch.randn(num_tasks, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def icl_regression(
    num_prompts: int,
    num_context: int,
    dim: int,
    *,
    noise: float = 0.0,
    tasks: torch.Tensor | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> ICLPrompts:
    """Prompts for in-context linear regression (Garg et al. 2022), chapter 7.

    Each prompt draws its own task ``w ~ N(0, I_dim)`` (or, if ``tasks`` ``[M, dim]`` is given,
    one of its rows uniformly at random), ``num_context + 1`` inputs ``x ~ N(0, I_dim)`` and labels
    ``y = w . x + noise * N(0, 1)``; the last pair is the query.
    """
    num_prompts = check_int("num_prompts", num_prompts, minimum=1)
    num_context = check_int("num_context", num_context, minimum=0)
    dim = check_int("dim", dim, minimum=1)
    noise = check_real("noise", noise, nonnegative=True)
    seed = check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(num_prompts, num_context + 1, dim, generator=gen, dtype=dtype)
    if tasks is None:
        w = torch.randn(num_prompts, dim, generator=gen, dtype=dtype)
    else:
        if not isinstance(tasks, torch.Tensor) or tasks.ndim != 2 or tasks.shape[1] != dim or tasks.shape[0] == 0:
            raise ValueError(
                f"tasks must be a tensor of shape [M, {dim}] with M >= 1, got {getattr(tasks, 'shape', tasks)!r}"
            )
        w = tasks.to(dtype)[torch.randint(0, tasks.shape[0], (num_prompts,), generator=gen)]
    y = torch.einsum("pnd,pd->pn", x, w)
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=gen, dtype=dtype)
    return ICLPrompts(x, y, w, noise)


# ---------------------------------------------------------------------------------------------
# Chapter 6: modular arithmetic (a op b) mod p.


#: The operations :func:`modular_arithmetic` knows, as functions of integer arrays (before ``mod p``).
MODULAR_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply}


def is_prime(n: int) -> bool:
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
    if not is_prime(p):
        raise ValueError(f"p must be a prime > 2 (so that Z_p is a field), got {p}")
    if not isinstance(op, str):
        raise TypeError(f"op must be one of {tuple(MODULAR_OPS)}, got {type(op).__name__}")
    check_choice("op", op, MODULAR_OPS)
    train_fraction = check_real("train_fraction", train_fraction)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    seed = check_seed(seed)
    n_pairs = p * p
    n_train = int(round(train_fraction * n_pairs))
    if not 0 < n_train < n_pairs:
        raise ValueError(
            f"train_fraction must leave both splits non-empty: {train_fraction} of {n_pairs} pairs is {n_train}"
        )
    codes = np.random.default_rng(seed).permutation(n_pairs)
    return tuple(_modular_split(np.sort(c), p, op) for c in (codes[:n_train], codes[n_train:]))  # type: ignore[return-value]


def _modular_split(codes: np.ndarray, p: int, op: str) -> ModularData:
    a, b = codes // p, codes % p
    y = MODULAR_OPS[op](a, b) % p
    x = torch.as_tensor(np.stack([a, b], axis=1))
    return ModularData(x, torch.as_tensor(y), a, b, p, op)
