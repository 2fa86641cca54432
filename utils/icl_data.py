"""Prompts for in-context linear regression, generated on the fly (chapter 7).

A prompt holds ``N`` labelled pairs ``(x_1, y_1), ..., (x_N, y_N)`` and a query ``x_{N+1}``
whose label the model must predict (:func:`icl_regression`); the tasks ``w`` are drawn afresh
per prompt or from a finite pool (:func:`task_pool`). The numpy baselines a trained model is
compared with (ridge, least squares, one GD step, dMMSE) are in :mod:`utils.icl`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_int, check_real, check_seed

__all__ = ["ICLPrompts", "icl_regression", "task_pool"]


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
    seed = check_seed("seed", seed)
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
    seed = check_seed("seed", seed)
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
