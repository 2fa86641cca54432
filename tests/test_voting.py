"""utils.voting against brute-force enumeration, the majority vote and simulation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from utils import rg
from utils.voting import plurality_vote


def plurality_by_enumeration(probs: list[float], num_votes: int) -> float:
    """Sum over every sequence of votes: answer 0 wins a share 1/(number of leaders) when it leads."""
    probs_arr = np.asarray(probs)
    total = 0.0
    for votes in itertools.product(range(len(probs)), repeat=num_votes):
        counts = np.bincount(votes, minlength=len(probs))
        if counts[0] == counts.max():
            total += np.prod(probs_arr[list(votes)]) / np.sum(counts == counts.max())
    return float(total)


@pytest.mark.parametrize(
    "probs, num_votes",
    [
        ([0.4, 0.3, 0.3], 5),
        ([0.4, 0.2, 0.2, 0.2], 6),
        ([0.3, 0.5, 0.2], 4),
        ([0.25, 0.25, 0.25, 0.25], 5),
        ([0.1, 0.6, 0.2, 0.1], 7),
        ([0.5, 0.5], 4),
    ],
)
def test_plurality_matches_enumeration(probs: list[float], num_votes: int) -> None:
    assert plurality_vote(probs, num_votes) == pytest.approx(plurality_by_enumeration(probs, num_votes), abs=1e-13)


def test_two_answers_is_the_majority_vote() -> None:
    for p in (0.2, 0.5, 0.7):
        for n in (1, 3, 9, 31):
            assert plurality_vote([p, 1 - p], n) == pytest.approx(rg.majority_vote(p, n), abs=1e-13)


def test_plurality_helps_when_the_right_answer_is_the_mode() -> None:
    # p = 0.4 < 1/2, wrong answers spread out: the vote converges to the right answer
    spread = [plurality_vote([0.4, 0.2, 0.2, 0.2], n) for n in (1, 11, 41, 101)]
    assert spread[0] == pytest.approx(0.4) and np.all(np.diff(spread) > 0) and spread[-1] > 0.98
    # the same p with one wrong answer more likely than the right one: the vote converges to the wrong answer
    lumped = [plurality_vote([0.4, 0.5, 0.1], n) for n in (1, 11, 41, 101)]
    assert np.all(np.diff(lumped) < 0) and lumped[-1] < 0.2
    # symmetric answers: everyone wins 1/k by symmetry, whatever the number of votes
    assert plurality_vote([0.25] * 4, 9) == pytest.approx(0.25, abs=1e-13)
    assert plurality_vote([1.0, 0.0, 0.0], 3) == 1.0 and plurality_vote([0.0, 0.5, 0.5], 3) == 0.0


def test_plurality_against_simulation() -> None:
    probs, n, runs = np.array([0.35, 0.25, 0.2, 0.2]), 15, 100_000
    votes = np.random.default_rng(0).multinomial(n, probs, size=runs)
    leaders = votes == votes.max(axis=1, keepdims=True)
    share = np.where(leaders[:, 0], 1.0 / leaders.sum(axis=1), 0.0)
    exact = plurality_vote(probs, n)
    assert abs(share.mean() - exact) < 4 * share.std() / np.sqrt(runs)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: plurality_vote([0.5, 0.6], 3), ValueError, r"^probs must sum to 1"),
        (lambda: plurality_vote([1.0], 3), ValueError, r"^probs must be a 1-D array of at least 2"),
        (lambda: plurality_vote([[0.5, 0.5]], 3), ValueError, r"^probs must be a 1-D array"),
        (lambda: plurality_vote([-0.1, 1.1], 3), ValueError, r"^probs must be >= 0"),
        (lambda: plurality_vote([0.5, 0.5], 0), ValueError, r"^num_votes must be >= 1"),
        (lambda: plurality_vote([0.5, 0.5], 2.0), TypeError, r"^num_votes must be an integer"),
        (lambda: plurality_vote("ab", 3), TypeError, r"^probs must be"),
    ],
)
def test_bad_input(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()
