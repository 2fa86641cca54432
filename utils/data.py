"""Synthetic data sets, generated on the fly (nothing is downloaded).

Chapter 1: multi-digit addition ``a + b`` with two tokenisations of the numbers:

- digit-level (``chunk=1``): every decimal digit is a token, vocabulary ``0..9``;
- chunked (``chunk=c``): each group of ``c`` digits is one token, vocabulary ``0..10**c - 1``,
  like GPT-2's BPE, which has single tokens for hundreds of the numbers below 1000.

Numbers are written most significant digit first and zero-padded: ``a`` and ``b`` to
``n_digits`` digits, the sum to ``n_digits + 1`` digits; padding is added on the left so the
number of digits is a multiple of ``chunk``.

Chapter 7: prompts for in-context linear regression (:func:`icl_regression`, :func:`task_pool`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_int, check_real


def n_tokens(n_digits: int, chunk: int = 1) -> int:
    """Number of tokens for a number of ``n_digits`` digits split into chunks of ``chunk`` digits."""
    n_digits = check_int("n_digits", n_digits, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    return -(-n_digits // chunk)


def encode_numbers(values: np.ndarray, n_digits: int, chunk: int = 1) -> np.ndarray:
    """Tokens of non-negative integers, shape ``[len(values), n_tokens(n_digits, chunk)]``, most significant first."""
    values = np.asarray(values, dtype=np.int64)
    T = n_tokens(n_digits, chunk)
    if values.size and (values.min() < 0 or values.max() >= 10**n_digits):
        raise ValueError(f"values must lie in [0, 10**n_digits) = [0, {10**n_digits}), got range [{values.min()}, {values.max()}]")
    base = 10**chunk
    powers = base ** np.arange(T - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % base


def decode_numbers(tokens: np.ndarray | torch.Tensor, chunk: int = 1) -> np.ndarray:
    """Integers from tokens ``[n, T]`` (inverse of :func:`encode_numbers`)."""
    chunk = check_int("chunk", chunk, minimum=1)
    t = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError(f"tokens must be 2-D [n, T], got shape {t.shape}")
    base = 10**chunk
    powers = base ** np.arange(t.shape[1] - 1, -1, -1, dtype=np.int64)
    return t @ powers


def tokens_to_digits(tokens: np.ndarray | torch.Tensor, chunk: int, n_digits: int) -> np.ndarray:
    """Re-tokenise chunked tokens ``[n, T]`` as digit tokens ``[n, n_digits]`` (for per-digit metrics)."""
    return encode_numbers(decode_numbers(tokens, chunk), n_digits, 1)


@dataclass(frozen=True)
class AdditionData:
    """A split of the addition task: ``x`` are the tokens of ``a`` then ``b``; ``y`` the tokens of ``a + b``."""

    x: torch.Tensor  # [n, 2 * n_tokens(n_digits, chunk)], int64
    y: torch.Tensor  # [n, n_tokens(n_digits + 1, chunk)], int64
    a: np.ndarray
    b: np.ndarray
    n_digits: int
    chunk: int

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens, ``10**chunk``."""
        return 10**self.chunk

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _build(a: np.ndarray, b: np.ndarray, n_digits: int, chunk: int) -> AdditionData:
    x = np.concatenate([encode_numbers(a, n_digits, chunk), encode_numbers(b, n_digits, chunk)], axis=1)
    y = encode_numbers(a + b, n_digits + 1, chunk)
    return AdditionData(torch.as_tensor(x), torch.as_tensor(y), a, b, n_digits, chunk)


def addition_split(
    n_train: int, n_test: int, n_digits: int, *, chunk: int = 1, seed: int = 0
) -> tuple[AdditionData, AdditionData]:
    """Disjoint train and test sets of uniformly random problems ``a + b`` with ``0 <= a, b < 10**n_digits``.

    The same ``seed`` gives the same problems whatever ``chunk`` is, so tokenisations can be
    compared on identical data.
    """
    n_train = check_int("n_train", n_train, minimum=1)
    n_test = check_int("n_test", n_test, minimum=0)
    n_digits = check_int("n_digits", n_digits, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if n_digits > 9:
        raise ValueError(f"n_digits must be <= 9 (sums must fit in int64 arithmetic here), got {n_digits}")
    space = 10 ** (2 * n_digits)
    need = n_train + n_test
    if need > space:
        raise ValueError(f"n_train + n_test = {need} exceeds the {space} distinct problems with n_digits={n_digits}")
    rng = np.random.default_rng(seed)
    if need > space // 4:
        codes = rng.permutation(space)[:need]
    else:
        codes = np.unique(rng.integers(0, space, size=int(need * 1.2) + 16))
        while codes.size < need:
            codes = np.unique(np.concatenate([codes, rng.integers(0, space, size=need)]))
        codes = rng.permutation(codes)[:need]
    a, b = codes // 10**n_digits, codes % 10**n_digits
    train = _build(a[:n_train], b[:n_train], n_digits, chunk)
    test = _build(a[n_train:], b[n_train:], n_digits, chunk)
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
    def n_context(self) -> int:
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

    def truncate(self, n_context: int) -> ICLPrompts:
        """The same prompts with only their first ``n_context`` context pairs (same query and task)."""
        n = check_int("n_context", n_context, minimum=0)
        if n > self.n_context:
            raise ValueError(f"n_context must be <= {self.n_context}, got {n}")
        keep = list(range(n)) + [self.n_context]
        return ICLPrompts(self.x[:, keep], self.y[:, keep], self.w, self.noise)


def task_pool(n_tasks: int, dim: int, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``n_tasks`` regression vectors ``w ~ N(0, I_dim)``, shape ``[n_tasks, dim]`` (chapter 7, task diversity)."""
    n_tasks = check_int("n_tasks", n_tasks, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    return torch.randn(n_tasks, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def icl_regression(
    n_prompts: int,
    n_context: int,
    dim: int,
    *,
    noise: float = 0.0,
    tasks: torch.Tensor | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> ICLPrompts:
    """Prompts for in-context linear regression (Garg et al. 2022), chapter 7.

    Each prompt draws its own task ``w ~ N(0, I_dim)`` (or, if ``tasks`` ``[M, dim]`` is given,
    one of its rows uniformly at random), ``n_context + 1`` inputs ``x ~ N(0, I_dim)`` and labels
    ``y = w . x + noise * N(0, 1)``; the last pair is the query.
    """
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    n_context = check_int("n_context", n_context, minimum=0)
    dim = check_int("dim", dim, minimum=1)
    noise = check_real("noise", noise, nonnegative=True)
    seed = check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_prompts, n_context + 1, dim, generator=gen, dtype=dtype)
    if tasks is None:
        w = torch.randn(n_prompts, dim, generator=gen, dtype=dtype)
    else:
        if not isinstance(tasks, torch.Tensor) or tasks.ndim != 2 or tasks.shape[1] != dim or tasks.shape[0] == 0:
            raise ValueError(f"tasks must be a tensor of shape [M, {dim}] with M >= 1, got {getattr(tasks, 'shape', tasks)!r}")
        w = tasks.to(dtype)[torch.randint(0, tasks.shape[0], (n_prompts,), generator=gen)]
    y = torch.einsum("pnd,pd->pn", x, w)
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=gen, dtype=dtype)
    return ICLPrompts(x, y, w, noise)
