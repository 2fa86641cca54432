"""Checks for chapter 01's code exercises (compounding accuracy)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, Graded, attempt_number

#: The task lengths at which :func:`check_threshold` tests a student's ``p_half(L)``.
THRESHOLD_LENGTHS: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50, 100, 1000)


def check_threshold(fn: Callable[[int], float], *, rtol: float = 1e-9) -> CheckResult:
    """Check ``fn(L)`` = the per-step accuracy p at which p**L = 1/2, i.e. 0.5**(1/L), for several L."""
    for L in THRESHOLD_LENGTHS:
        got, failed = attempt_number(fn, L)
        if failed is not None:
            return failed
        want = 0.5 ** (1.0 / L)
        if not np.isclose(got, want, rtol=rtol, atol=0.0):
            hint = (
                " (that is 1 - 0.5/L, the first-order approximation: solve p**L = 0.5 exactly)"
                if np.isclose(got, 1 - 0.5 / L)
                else ""
            )
            return CheckResult(False, f"p_half({L}) returned {got:.6g}, but p**{L} = 0.5 needs p = {want:.6g}{hint}.")
    return CheckResult(
        True, f"p_half(L) = 0.5**(1/L) for L in {list(THRESHOLD_LENGTHS)}; p_half(20) = {0.5 ** (1 / 20):.4f}."
    )


def _independent_exact_match(acc: np.ndarray) -> float:
    return float(np.prod(acc))


def check_independent_exact_match(fn: Callable[[np.ndarray], float], *, rtol: float = 1e-9) -> CheckResult:
    """Check ``fn(acc)`` = prod_t acc[t]: the exact match predicted from per-position accuracies if errors are independent."""
    rng = np.random.default_rng(0)
    cases = [np.array([0.9] * 5), np.array([0.99, 0.5, 0.8]), np.array([1.0, 0.2]), rng.uniform(0.5, 1.0, size=7)]
    for acc in cases:
        got, failed = attempt_number(fn, acc.copy())
        if failed is not None:
            return failed
        want = _independent_exact_match(acc)
        if not np.isclose(got, want, rtol=rtol, atol=0.0):
            hint = ""
            if np.isclose(got, float(np.mean(acc)) ** acc.size):
                hint = " (that is mean(acc)**T: use each position's own accuracy)"
            return CheckResult(
                False, f"for acc = {np.round(acc, 3).tolist()} you returned {got:.6g}, expected {want:.6g}{hint}."
            )
    return CheckResult(True, "the independent-error prediction is the product of the per-position accuracies.")


#: The graded code exercises of chapter 1 (see :mod:`utils.exercises`).
GRADED = {
    "ch01-ex-threshold": Graded("my_p_half", check_threshold),
    "ch01-ex-independent": Graded("my_independent_em", check_independent_exact_match),
}
