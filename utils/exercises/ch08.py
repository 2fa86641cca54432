"""Checks for chapter 08's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..bayes import fit_lambda
from ..bayes_exact import crossover_n, free_energy_crossing, free_energy_power
from ._core import CheckResult, Graded, attempt_number, check, uniform

__all__ = ["GRADED", "check_crossover_n", "check_lambda_from_slope"]

#: Sample sizes of the free-energy curves handed to the student's slope fit.
CHECK_N = np.geomspace(1e3, 1e8, 12)


def _slope_cases() -> list[tuple[str, np.ndarray, np.ndarray, int, float, float]]:
    """(description, n, F_n, m, lambda, tolerance): exact synthetic curves, then closed forms."""
    log_n = np.log(CHECK_N)
    cases = [
        (
            f"F_n = {lam} log n - {m - 1} log log n + {c}",
            CHECK_N,
            lam * log_n - (m - 1) * np.log(log_n) + c,
            m,
            lam,
            1e-6,
        )
        for lam, m, c in [(0.25, 1, 0.3), (1.0, 1, -0.5), (0.5, 2, 0.1), (1.5, 2, 2.0)]
    ]
    cases.append(("the exact F_n of K = w^4", CHECK_N, free_energy_power(CHECK_N, 4), 1, 0.25, 0.005))
    # Not quite 1/2 at these n: F_n + log log n - log n / 2 still drifts like -log(1/2 + 0.98 / log n).
    cases.append(("the exact F_n of K = w1^2 w2^2", CHECK_N, free_energy_crossing(CHECK_N), 2, 0.5, 0.03))
    return cases


def _hidden_slopes(rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, int, float, float]]:
    """Synthetic curves with fresh lambda, m, c and sample sizes; the closed forms of w^2k and w1^2 w2^2."""

    def grid() -> np.ndarray:
        return np.geomspace(10 ** rng.uniform(2.5, 4), 10 ** rng.uniform(6.5, 8.5), int(rng.integers(8, 16)))

    cases = []
    for m in (1, 1, 2, 2, 3):
        n, lam, c = grid(), uniform(rng, 0.1, 2.5, 3), uniform(rng, -2, 2, 3)
        f = lam * np.log(n) - (m - 1) * np.log(np.log(n)) + c
        cases.append((f"F_n = {lam} log n - {m - 1} log log n + {c}", n, f, m, lam, 1e-6))
    power = int(rng.choice([2, 6, 8]))
    n = grid()
    cases.append((f"the exact F_n of K = w^{power}", n, free_energy_power(n, power), 1, 1 / power, 0.005))
    n = grid()
    cases.append(("the exact F_n of K = w1^2 w2^2", n, free_energy_crossing(n), 2, 0.5, 0.03))
    return cases


@check(
    cases=_slope_cases,
    hidden=_hidden_slopes,
    success="your slopes give lambda = 1/4, 1, 1/2, 3/2 on exact curves and on w^4 and w1^2 w2^2.",
)
def check_lambda_from_slope(
    fn: Callable[[np.ndarray, np.ndarray, int], float], case: tuple[str, np.ndarray, np.ndarray, int, float, float]
) -> CheckResult | None:
    """Check ``fn(n, free_energies, m)`` reads ``lambda`` off ``F_n = lambda log n - (m-1) log log n + c``."""
    what, n, f, m, lam, tol = case
    got, failed = attempt_number(fn, n.copy(), f.copy(), m)
    if failed is not None:
        return failed
    if math.isfinite(got) and abs(got - lam) <= tol:
        return None
    hint = ""
    if m > 1 and abs(got - fit_lambda(n, f).lam) < 1e-3:
        hint = " You fitted F_n against log n directly: add (m - 1) log log n to F_n first."
    elif abs(got - lam * math.log(10)) < 0.02 * lam:
        hint = " Your slope is lambda * ln 10: use the natural logarithm of n, not log10."
    elif abs(got) < 1e-3:
        hint = " Fit against log n, not against n."
    return CheckResult(False, f"for {what} (m = {m}) you return {got:.4g}; lambda is {lam:.6g}.{hint}")


#: (delta_loss, delta_lambda, delta_const) cases for the crossover check.
CROSSOVER_CASES = ((0.002, 0.25, 1.63), (0.01, 0.5, 0.0), (1e-4, 1.5, -2.0), (0.05, 0.25, 0.5))


def _hidden_crossover(rng: np.random.Generator) -> list[tuple[float, float, float]]:
    cases: list[tuple[float, float, float]] = []
    while len(cases) < 6:
        dl = round(float(10 ** rng.uniform(-4, -1.3)), 6)
        dlam, dc = uniform(rng, 0.2, 2.0, 3), uniform(rng, -2.0, 2.0, 3)
        if dl / dlam * math.exp(-dc / dlam) < math.exp(-1.0) * 0.9:  # a crossing exists
            cases.append((dl, dlam, dc))
    return cases


@check(
    cases=CROSSOVER_CASES,
    hidden=_hidden_crossover,
    success="your n* solves n dL = dlambda log n + dc (the largest root) in every case.",
)
def check_crossover_n(
    fn: Callable[[float, float, float], float], case: tuple[float, float, float]
) -> CheckResult | None:
    """Check ``fn(dL, dlambda, dc)`` returns the largest root ``n*`` of ``n dL = dlambda log n + dc``."""
    dl, dlam, dc = case
    got, failed = attempt_number(fn, dl, dlam, dc)
    if failed is not None:
        return failed
    want = crossover_n(dl, dlam, dc)
    if math.isfinite(got) and abs(got - want) <= 1e-6 * want:
        return None
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


GRADED = {
    "ch08-ex-slope": Graded(
        "my_lambda_from_slope", check_lambda_from_slope, forbid=("utils.bayes.fit_lambda",), written=1
    ),
    "ch08-ex-crossover": Graded(
        "my_crossover_n", check_crossover_n, forbid=("utils.bayes_exact.crossover_n",), written=1
    ),
}

#: The written exercises of chapter 8 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch08-ex-volume": 1, "ch08-ex-exponents": 1, "ch08-ex-stages": 1, "ch08-ex-hessian-rank": 1}
