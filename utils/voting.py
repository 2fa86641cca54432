"""Voting over independent samples: the exact probability that a plurality vote picks the right answer (chapter 2).

Self-consistency samples several answers and keeps the most frequent one. With two possible
answers (right or wrong) that is a majority vote, :func:`utils.rg.majority_vote`, which helps only
when one sample is right with probability above 1/2. With many possible answers it is a
*plurality* vote, which helps whenever the right answer is the single most likely one.
Numpy/scipy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binom

from ._validate import check_array, check_int

__all__ = ["plurality_vote"]


def plurality_vote(probs: Any, num_votes: int) -> float:
    """P(answer 0 wins a plurality of ``num_votes`` independent samples), answers drawn with ``probs``; ties split evenly (chapter 2).

    ``probs[j]`` is the probability that one sample gives answer ``j``; answer 0 is the right one.
    The counts are multinomial; the right answer wins when no other answer has more votes, and a
    tie among ``t + 1`` leaders counts ``1 / (t + 1)``. Computed exactly: given ``c`` votes for
    answer 0, the other answers' counts are drawn one answer at a time (each binomial given what
    is left), keeping only counts ``<= c`` and the number tied at ``c``. With two answers and an odd
    ``num_votes`` this is :func:`utils.rg.majority_vote` of ``probs[0]``.
    """
    p = check_array("probs", probs, nonnegative=True, meaning="probabilities of the answers")
    if p.ndim != 1 or p.size < 2:
        raise ValueError(f"probs must be a 1-D array of at least 2 answer probabilities, got shape {p.shape}")
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"probs must sum to 1 (a distribution over the answers), got {p.sum()!r}")
    n_total = check_int("num_votes", num_votes, minimum=1)
    p = p / p.sum()
    others = p[1:]
    k = others.size
    # tables[j][r, x]: P(answer j + 1 gets x of the r votes left after answers 1..j), binomial
    r, x = np.meshgrid(np.arange(n_total + 1), np.arange(n_total + 1), indexing="ij")
    tables, left = [], float(others.sum())
    for j, pj in enumerate(others):
        frac = 1.0 if (j == k - 1 or left <= 0.0) else min(float(pj) / left, 1.0)  # the last takes the rest
        tables.append(binom.pmf(x, r, frac))
        left -= float(pj)
    win = 0.0
    for c in range(1, n_total + 1):  # c votes for the right answer
        weight = float(binom.pmf(c, n_total, p[0]))
        if weight == 0.0:
            continue
        n = n_total - c
        # state[r, u]: probability that r votes are left to share and u other answers tie at c
        state = np.zeros((n + 1, k + 1))
        state[n, 0] = 1.0
        for table in tables:
            new = np.zeros_like(state)
            for x_j in range(min(c, n) + 1):  # this answer's count, at most c
                moved = state[x_j:, :] * table[x_j : n + 1, x_j][:, None]
                if x_j == c:
                    new[: n + 1 - x_j, 1:] += moved[:, :-1]
                else:
                    new[: n + 1 - x_j, :] += moved
            state = new
        win += weight * float(np.sum(state[0, :] / (1.0 + np.arange(k + 1))))
    return float(min(win, 1.0))
