"""Checks for chapter 11's code exercises (synthesis: description length, self-repair)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ._core import CheckResult, Graded, attempt, attempt_number, check, uniform

__all__ = [
    "GRADED",
    "check_lookup_lambda",
    "check_multiplicity",
    "check_perturbed_loss",
]


#: (d, queried entries) at which the lookup table's lambda is compared.
LOOKUP_CASES = ((8, [0, 1, 2]), (8, [3, 3, 3, 3]), (16, list(range(16))), (10, [9, 0, 9, 0, 5]), (5, [4]))


def _hidden_lookup(rng: np.random.Generator) -> list[tuple[int, list[int]]]:
    cases = []
    for _ in range(6):
        d = int(rng.integers(2, 60))
        queried = [int(q) for q in rng.integers(0, d, size=int(rng.integers(1, 2 * d)))]
        cases.append((d, queried))
    return cases


@check(
    cases=LOOKUP_CASES,
    hidden=_hidden_lookup,
    success="lambda = (number of distinct entries the data reads) / 2, whatever d is.",
)
def check_lookup_lambda(fn: Callable[[int, Sequence[int]], float], case: tuple[int, list[int]]) -> CheckResult | None:
    """Check ``fn(d, queried)``: lambda of a d-entry lookup table fitted on the queried entries is (#distinct)/2."""
    d, queried = case
    out, failed = attempt_number(fn, d, list(queried))
    if failed is not None:
        return failed
    want = len(set(queried)) / 2
    if not math.isclose(out, want, abs_tol=1e-12):
        hint = ""
        if math.isclose(out, d / 2):
            hint = " That is the count of all entries: the unused ones do not change the loss."
        elif math.isclose(out, len(queried) / 2):
            hint = " An entry queried twice is still one parameter: count distinct entries."
        elif math.isclose(out, len(set(queried))):
            hint = " Each used entry is one regular direction and contributes 1/2."
        return CheckResult(
            False, f"for d = {d}, queried entries {queried} you gave {out:.6g}, expected {want:g}.{hint}"
        )
    return None


def _exact_perturbed(w1: float, w2: float, sigma: float) -> float:
    return 0.5 * ((1 - w1) ** 2 + sigma**2) * ((1 - w2) ** 2 + sigma**2)


#: (w1, w2, sigma) at which the perturbed loss is compared.
PERTURBED_CASES = (
    (1.0, 1.0, 0.1),
    (1.0, 0.0, 0.1),
    (0.5, 0.2, 0.3),
    (1.0, 1.0, 1.0),
    (2.0, -1.0, 0.05),
    (0.3, 0.9, 0.0),
)


def _hidden_perturbed(rng: np.random.Generator) -> list[tuple[float, float, float]]:
    cases = [(1.0, 1.0, uniform(rng, 0.01, 1.5, 3)), (1.0, 0.0, uniform(rng, 0.01, 1.5, 3))]
    cases += [(uniform(rng, -1, 2, 3), uniform(rng, -1, 2, 3), uniform(rng, 0.0, 1.0, 3)) for _ in range(4)]
    return cases


@check(
    cases=PERTURBED_CASES,
    hidden=_hidden_perturbed,
    success="E K = (1/2)((1-w1)^2 + s^2)((1-w2)^2 + s^2): s^4/2 at (1, 1), ~ s^2/2 at (1, 0).",
)
def check_perturbed_loss(
    fn: Callable[[float, float, float], float], case: tuple[float, float, float]
) -> CheckResult | None:
    """Check ``fn(w1, w2, sigma)`` = E K(w + sigma z), K = (1/2)(1 - w1)^2 (1 - w2)^2, z ~ N(0, I)."""
    w1, w2, sigma = case
    out, failed = attempt_number(fn, w1, w2, sigma)
    if failed is not None:
        return failed
    want = _exact_perturbed(w1, w2, sigma)
    if not math.isclose(out, want, rel_tol=1e-9, abs_tol=1e-14):
        hint = ""
        if math.isclose(out, 0.5 * (1 - w1) ** 2 * (1 - w2) ** 2, rel_tol=1e-9, abs_tol=1e-14):
            hint = " That is the loss without the perturbation: E[(a + sigma z)^2] = a^2 + sigma^2."
        elif math.isclose(out, 2 * want, rel_tol=1e-9):
            hint = " Keep the factor 1/2 of the loss."
        return CheckResult(
            False, f"for w = ({w1}, {w2}), sigma = {sigma} you gave {out:.6g}, expected {want:.6g}.{hint}"
        )
    return None


def _lambda_multiplicity(powers: Sequence[int]) -> tuple[float, int]:
    ks = [k for k in powers if k > 0]
    lam = min(1 / (2 * k) for k in ks)
    return lam, sum(1 for k in ks if math.isclose(1 / (2 * k), lam))


#: The powers (k_1, k_2, ...) at which (lambda, m) is compared.
MULTIPLICITY_CASES = ([1], [1, 1], [2, 1], [2, 2, 1], [3, 3, 3], [0, 1, 1], [1, 2, 3, 3])


def _random_powers(rng: np.random.Generator, count: int) -> list[list[int]]:
    cases = []
    while len(cases) < count:
        powers = [int(k) for k in rng.integers(0, 4, size=rng.integers(1, 6))]
        if any(powers):
            cases.append(powers)
    return cases


def _multiplicity_cases() -> list[list[int]]:
    return [*MULTIPLICITY_CASES, *_random_powers(np.random.default_rng(0), 19)]


@check(
    cases=_multiplicity_cases,
    hidden=lambda rng: _random_powers(rng, 12),
    success="lambda = min 1/(2 k_j); m = how many factors attain it.",
)
def check_multiplicity(fn: Callable[[Sequence[int]], tuple[float, int]], powers: list[int]) -> CheckResult | None:
    """Check ``fn(powers)`` = (lambda, m) of ``K = prod_j w_j^(2 k_j)`` near 0 (uniform prior)."""
    out, failed = attempt(fn, list(powers))
    if failed is not None:
        return failed
    try:
        lam, m = float(out[0]), int(out[1])
    except (TypeError, ValueError, IndexError):
        return CheckResult(False, f"for powers {powers} you returned {out!r}; expected a pair (lambda, m).")
    want_lam, want_m = _lambda_multiplicity(powers)
    if not math.isclose(lam, want_lam, rel_tol=1e-12):
        hint = ""
        if math.isclose(lam, sum(1 / (2 * k) for k in powers if k > 0)):
            hint = " The exponents do not add: lambda is the smallest 1/(2 k_j)."
        elif math.isclose(lam, 1 / (2 * max(powers))) and want_lam != lam:
            hint = " lambda is the smallest 1/(2 k_j), i.e. the largest power wins."
        return CheckResult(False, f"for powers {powers} your lambda is {lam:.6g}, expected {want_lam:.6g}.{hint}")
    if m != want_m:
        hint = " m counts the factors that attain the minimum 1/(2 k_j) (powers 0 do not count)."
        return CheckResult(False, f"for powers {powers} your m is {m}, expected {want_m}.{hint}")
    return None


GRADED = {
    "ch11-ex-lookup-lambda": Graded("my_lookup_lambda", check_lookup_lambda, written=1),
    "ch11-ex-perturbed-loss": Graded("my_perturbed_loss", check_perturbed_loss, written=1),
    "ch11-ex-multiplicity": Graded(
        "my_multiplicity", check_multiplicity, forbid=("utils.slt.learning_coefficient_normal_crossing",), written=1
    ),
}

#: The written exercises of chapter 11 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch11-ex-three-paths": 1}
