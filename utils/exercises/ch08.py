"""Checks for chapter 08's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..bayes import fit_lambda
from ..bayes_exact import crossover_n, free_energy_crossing, free_energy_power
from ._core import CheckResult, Graded, attempt_number

__all__ = ["GRADED", "check_crossover_n", "check_lambda_from_slope"]

#: Sample sizes of the free-energy curves handed to the student's slope fit.
CHECK_N = np.geomspace(1e3, 1e8, 12)


def _slope_cases() -> list[tuple[str, np.ndarray, int, float, float]]:
    """(description, F_n at CHECK_N, m, lambda, tolerance): exact synthetic curves, then closed forms."""
    log_n = np.log(CHECK_N)
    cases = [
        (f"F_n = {lam} log n - {m - 1} log log n + {c}", lam * log_n - (m - 1) * np.log(log_n) + c, m, lam, 1e-6)
        for lam, m, c in [(0.25, 1, 0.3), (1.0, 1, -0.5), (0.5, 2, 0.1), (1.5, 2, 2.0)]
    ]
    cases.append(("the exact F_n of K = w^4", free_energy_power(CHECK_N, 4), 1, 0.25, 0.005))
    # Not quite 1/2 at these n: F_n + log log n - log n / 2 still drifts like -log(1/2 + 0.98 / log n).
    cases.append(("the exact F_n of K = w1^2 w2^2", free_energy_crossing(CHECK_N), 2, 0.5, 0.03))
    return cases


def check_lambda_from_slope(fn: Callable[[np.ndarray, np.ndarray, int], float]) -> CheckResult:
    """Check ``fn(n, free_energies, m)`` reads ``lambda`` off ``F_n = lambda log n - (m-1) log log n + c``."""
    for what, f, m, lam, tol in _slope_cases():
        got, failed = attempt_number(fn, CHECK_N.copy(), f.copy(), m)
        if failed is not None:
            return failed
        if math.isfinite(got) and abs(got - lam) <= tol:
            continue
        hint = ""
        if m > 1 and abs(got - fit_lambda(CHECK_N, f).lam) < 1e-3:
            hint = " You fitted F_n against log n directly: add (m - 1) log log n to F_n first."
        elif abs(got - lam * math.log(10)) < 0.02 * lam:
            hint = " Your slope is lambda * ln 10: use the natural logarithm of n, not log10."
        elif abs(got) < 1e-3:
            hint = " Fit against log n, not against n."
        return CheckResult(False, f"for {what} (m = {m}) you return {got:.4g}; lambda is {lam}.{hint}")
    return CheckResult(True, "your slopes give lambda = 1/4, 1, 1/2, 3/2 on exact curves and on w^4 and w1^2 w2^2.")


#: (delta_loss, delta_lambda, delta_const) cases for the crossover check.
CROSSOVER_CASES = ((0.002, 0.25, 1.63), (0.01, 0.5, 0.0), (1e-4, 1.5, -2.0), (0.05, 0.25, 0.5))


def check_crossover_n(fn: Callable[[float, float, float], float]) -> CheckResult:
    """Check ``fn(dL, dlambda, dc)`` returns the largest root ``n*`` of ``n dL = dlambda log n + dc``."""
    for dl, dlam, dc in CROSSOVER_CASES:
        got, failed = attempt_number(fn, dl, dlam, dc)
        if failed is not None:
            return failed
        want = crossover_n(dl, dlam, dc)
        if math.isfinite(got) and abs(got - want) <= 1e-6 * want:
            continue
        call = f"my_crossover_n({dl}, {dlam}, {dc})"
        if not math.isfinite(got) or got <= 0:
            return CheckResult(False, f"{call} = {got}: n* must be a positive number.")
        gap = got * dl - dlam * math.log(got) - dc
        if abs(gap) < 1e-6 * max(1.0, got * dl) and got < want:
            hint = (
                " That is the smaller root: below it the simple region wins again. Take the"
                " largest root, e.g. bracket it above n = dlambda / dL, or use Lambert's W_{-1}."
            )
        else:
            hint = f" At your n, n dL - dlambda log n - dc = {gap:.3g}, not 0."
        return CheckResult(False, f"{call} = {got:.6g}, expected {want:.6g}.{hint}")
    return CheckResult(True, "your n* solves n dL = dlambda log n + dc (the largest root) in every case.")


GRADED = {
    "ch08-ex-slope": Graded("my_lambda_from_slope", check_lambda_from_slope),
    "ch08-ex-crossover": Graded("my_crossover_n", check_crossover_n),
}
