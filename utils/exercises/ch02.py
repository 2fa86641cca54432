"""Checks for chapter 02's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..branching import extinction_probability
from ._core import CheckResult, Graded, attempt, attempt_number, check, uniform

#: Mean offspring numbers at which the student's extinction probability is compared: 0.999, 1.001
#: and 1.01 are close to m = 1, where the iteration converges slowly.
CHECK_M = (0.5, 0.8, 0.999, 1.001, 1.01, 1.3, 2.0, 3.0)
#: Largest accepted ``|q - exact|``. Stopping on ``|dq| < 1e-12`` leaves an error of about
#: tau * 1e-12 ~ 1e-9 at m = 1.001 (tau = 1 / (1 - m q) ~ 1000), so 1e-10 rejects that rule.
TOL = 1e-10


def _hidden_m(rng: np.random.Generator) -> list[float]:
    """Fresh mean offspring numbers: below 1, just below and just above 1 (slow convergence), and above."""
    edges = ((0.3, 0.95), (0.995, 0.9995), (1.0005, 1.002), (1.005, 1.02), (1.1, 1.9), (2.0, 3.5))
    return [uniform(rng, lo, hi, 6) for lo, hi in edges for _ in range(2)]


@check(
    cases=CHECK_M,
    hidden=_hidden_m,
    success=f"your extinction probabilities match the exact ones at m = {', '.join(map(str, CHECK_M))}.",
)
def check_extinction_probability(fn: Callable[[float], float], m: float) -> CheckResult | None:
    """Check ``fn(m)`` against the exact Poisson extinction probability at ``CHECK_M`` (to ``TOL``), m near 1 too."""
    q, failed = attempt_number(fn, m)
    if failed is not None:
        return failed
    exact = extinction_probability(m)
    if not np.isfinite(q) or not 0.0 <= q <= 1.0:
        return CheckResult(False, f"my_extinction({m}) = {q}: a probability must lie in [0, 1].")
    if abs(q - exact) > TOL:
        hint = ""
        if m > 1 and abs(q - 1.0) < 1e-6:
            hint = (
                " q = 1 solves q = exp(m (q - 1)) too, but it is not the smallest root: start the iteration at q = 0."
            )
        elif abs(m - 1) < 0.02 and abs(q - exact) < 1e-6:
            hint = (
                " Close to m = 1 the errors shrink only by f'(q) = m q per step, so the last"
                " change |dq| underestimates the remaining error about 1 / (1 - m q) times:"
                " stop when |dq| m q / (1 - m q) < tol."
            )
        elif m < 1:
            hint = " Below m = 1 the iteration converges slowly: iterate until the error is below 1e-12."
        return CheckResult(False, f"my_extinction({m}) = {q:.12f}, expected {exact:.12f}.{hint}")
    return None


#: (K, L) pairs at which the student's runaway threshold and slope are compared.
CHECK_KL = ((10, 20), (10, 100), (2, 5), (100, 10), (3, 1))
#: Relative tolerance of the slope: loose enough for a careful finite difference, tight enough
#: to reject the large-L approximation 2L (12 % off at K = 10, L = 20).
SLOPE_RTOL = 1e-2


def _hidden_kl(rng: np.random.Generator) -> list[tuple[float, int]]:
    """Fresh (K, L): large and small L, K from just above 1 to 200 (K need not be whole)."""
    found = []
    for lo_k, hi_k, lo_l, hi_l in ((2, 20, 10, 200), (1.5, 5, 2, 8), (20, 200, 5, 40), (2, 4, 1, 2)):
        for _ in range(2):
            found.append((uniform(rng, lo_k, hi_k, 3), int(rng.integers(lo_l, hi_l + 1))))
    return found


@check(
    cases=CHECK_KL,
    hidden=_hidden_kl,
    success=f"p_c = K**(-1/L) and the slope 2L/p_c match for (K, L) = {', '.join(f'({K}, {L})' for K, L in CHECK_KL)}.",
)
def check_runaway_threshold(
    fn: Callable[[float, int], tuple[float, float]], kl: tuple[float, int]
) -> CheckResult | None:
    """Check ``fn(K, L) -> (p_c, slope)``: p_c = K**(-1/L) and d(1-q)/dp = 2L/p_c just above p_c."""
    K, L = kl
    value, failed = attempt(fn, K, L)
    if failed is not None:
        return failed
    try:
        p_c, slope = (float(v) for v in value)
    except (TypeError, ValueError):
        return CheckResult(False, f"my_runaway_threshold({K}, {L}) returned {value!r}; expected a pair (p_c, slope).")
    want_p = K ** (-1.0 / L)
    want_slope = 2.0 * L / want_p  # d(1-q)/dm = 2 at m = 1+, and dm/dp = L m / p = L / p_c there
    if not np.isfinite(p_c) or abs(p_c - want_p) > 1e-9 * want_p:
        hint = ""
        if abs(p_c - (1 - np.log(K) / L)) < 1e-9:
            hint = " That is the large-L approximation 1 - ln(K)/L: solve K p**L = 1 exactly."
        return CheckResult(False, f"for K = {K}, L = {L} your p_c = {p_c:.8f}, expected {want_p:.8f}.{hint}")
    if not np.isfinite(slope) or abs(slope - want_slope) > SLOPE_RTOL * want_slope:
        hint = ""
        if abs(slope - 2 * L) < 1e-6 * L:
            hint = " 2L is the approximation for p_c close to 1: keep the factor 1/p_c."
        elif abs(slope - want_slope / 2) < SLOPE_RTOL * want_slope:
            hint = " A factor 2 is missing: just above m = 1, 1 - q = 2 (m - 1) to first order."
        return CheckResult(False, f"for K = {K}, L = {L} your slope = {slope:.5g}, expected {want_slope:.5g}.{hint}")
    return None


#: The graded code exercises of chapter 2 (see :mod:`utils.exercises`).
GRADED = {
    "ch02-ex-fixed-point": Graded(
        "my_extinction",
        check_extinction_probability,
        forbid=(
            "utils.branching.extinction_probability",
            "utils.branching.survival_probability",
            "utils.branching.extinction_by_generation",
        ),
        written=1,
    ),
    "ch02-ex-threshold": Graded(
        "my_runaway_threshold", check_runaway_threshold, forbid=("utils.branching.survival_probability",), written=1
    ),
}

#: The written exercises of chapter 2 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch02-ex-geometric": 1, "ch02-ex-heavy": 1}
