"""Checks for chapter 01's code exercises (compounding accuracy)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, Graded, attempt_number, check, uniform

#: The per-step accuracies at which :func:`check_half_length` tests ``my_length_half(p)``.
HALF_LENGTH_ACCURACIES: tuple[float, ...] = (0.5, 0.7, 0.9, 0.95, 0.99, 0.999, 0.9999)


def half_length(p: float) -> float:
    """Task length L at which p**L = 1/2: L = ln(1/2) / ln(p) = ln 2 / (-ln p) (a real number)."""
    return float(np.log(0.5) / np.log(p))


def _hidden_accuracies(rng: np.random.Generator) -> list[float]:
    """Two per-step accuracies from each decade of 1 - p that the public cases cover."""
    edges = ((0.3, 0.6), (0.6, 0.9), (0.9, 0.99), (0.99, 0.999), (0.999, 0.99995))
    return [uniform(rng, lo, hi, 6) for lo, hi in edges for _ in range(2)]


@check(
    cases=HALF_LENGTH_ACCURACIES,
    hidden=_hidden_accuracies,
    success=f"L = ln 2 / (-ln p); a per-step accuracy of 0.99 halves task accuracy at L = {half_length(0.99):.1f}.",
)
def check_half_length(fn: Callable[[float], float], p: float, *, rtol: float = 1e-9) -> CheckResult | None:
    """Check ``fn(p)`` = the task length L at which p**L = 1/2, for several per-step accuracies p."""
    got, failed = attempt_number(fn, p)
    if failed is not None:
        return failed
    want = half_length(p)
    if not np.isclose(got, want, rtol=rtol, atol=0.0):
        hint = ""
        if np.isclose(got, np.log(2) / (1 - p)):
            hint = " (that is ln 2 / (1 - p), the small-error approximation: solve p**L = 0.5 exactly)"
        elif np.isclose(got, np.floor(want)) or np.isclose(got, np.ceil(want)):
            hint = " (return the real-valued L, not a whole number of steps)"
        elif np.isclose(got, 0.5 ** (1 / p)):
            hint = " (that is 0.5**(1/p), section 1's formula with p in place of L: invert it)"
        return CheckResult(False, f"my_length_half({p}) returned {got:.6g}, but p**L = 0.5 at L = {want:.6g}{hint}.")
    return None


def em_over_independent(correct: np.ndarray) -> float:
    """Measured exact match over the independent-error prediction prod_t acc_t, for ``correct[n, T]`` (bool)."""
    c = np.asarray(correct, dtype=bool)
    return float(np.mean(np.all(c, axis=1)) / np.prod(np.mean(c, axis=0)))


def _cases() -> list[np.ndarray]:
    """Correctness matrices [answers, positions]: independent, cascading and anti-correlated errors."""
    rng = np.random.default_rng(0)
    acc = np.array([0.99, 0.9, 0.6, 0.8, 0.95])
    independent = rng.random((4000, 5)) < acc
    cascade = independent.copy()
    cascade[:, 3:] &= cascade[:, 2:3]  # a wrong position 2 spoils positions 3 and 4
    exclusive = np.ones((10, 4), dtype=bool)
    exclusive[np.arange(4), np.arange(4)] = False  # each wrong answer has exactly one wrong position
    return [independent, cascade, exclusive]


def _hidden_matrices(rng: np.random.Generator) -> list[np.ndarray]:
    """Fresh matrices of the three kinds, of random sizes and accuracies."""
    found = []
    for _ in range(2):
        n, t = int(rng.integers(2000, 5000)), int(rng.integers(3, 8))
        independent = rng.random((n, t)) < rng.uniform(0.6, 0.99, size=t)
        cascade = independent.copy()
        j = int(rng.integers(0, t - 1))
        cascade[:, j + 1 :] &= cascade[:, j : j + 1]  # a wrong position j spoils the later ones
        wrong = int(rng.integers(t, 3 * t))
        exclusive = np.ones((wrong + int(rng.integers(2, 20)), t), dtype=bool)
        exclusive[np.arange(wrong), rng.integers(0, t, size=wrong)] = False  # one wrong position each
        found += [independent, cascade, rng.permutation(exclusive)]
    return found


@check(
    cases=_cases,
    hidden=_hidden_matrices,
    success="the ratio is 1 for independent errors, > 1 when errors share answers, < 1 when they avoid each other.",
)
def check_em_over_independent(
    fn: Callable[[np.ndarray], float], c: np.ndarray, *, rtol: float = 1e-9
) -> CheckResult | None:
    """Check ``fn(correct)`` = exact match / prod_t (per-position accuracy), for a bool matrix ``correct[n, T]``."""
    got, failed = attempt_number(fn, c.copy())
    if failed is not None:
        return failed
    want = em_over_independent(c)
    if not np.isclose(got, want, rtol=rtol, atol=0.0):
        acc = c.mean(axis=0)
        em = float(np.all(c, axis=1).mean())
        hint = ""
        if np.isclose(got, em / float(np.mean(acc)) ** c.shape[1]):
            hint = " (you used mean(acc)**T: use each position's own accuracy)"
        elif np.isclose(got, float(np.prod(acc)) / em):
            hint = " (the ratio is upside down: measured over predicted)"
        elif np.isclose(got, float(np.prod(acc))):
            hint = " (that is the prediction alone: divide the measured exact match by it)"
        elif np.isclose(got, float(np.mean(c.mean(axis=1)))):
            hint = " (that is the per-token accuracy: the positions are the columns)"
        return CheckResult(
            False, f"for a {c.shape[0]} x {c.shape[1]} matrix you returned {got:.6g}, expected {want:.6g}{hint}."
        )
    return None


#: The graded code exercises of chapter 1 (see :mod:`utils.exercises`).
GRADED = {
    "ch01-ex-threshold": Graded("my_length_half", check_half_length, written=1),
    "ch01-ex-independent": Graded("my_em_over_independent", check_em_over_independent, written=1),
}

#: The written exercises of chapter 1 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch01-ex-scale": 1, "ch01-ex-chunks": 1}
