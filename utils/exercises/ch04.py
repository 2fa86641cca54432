"""Checks for chapter 04's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rg import fixed_point, linearize, migdal_kadanoff
from ._core import CheckResult, Graded, attempt, check, uniform

#: Rescaling factors at which the student's Migdal-Kadanoff fixed point and nu are compared.
CHECK_B = (2, 3)
TOL = 1e-5


def _reference(b: int) -> tuple[float, float]:
    def f(K: float) -> float:
        return migdal_kadanoff(K, b=b)

    K_star = fixed_point(f, 0.3, bracket=(0.05, 2.0))
    return K_star, linearize(f, K_star, b=b).nu


def _hidden_b(rng: np.random.Generator) -> list[float]:
    """Two whole rescaling factors from 2 to 6 and three real ones from 1.5 to 6 (the map is defined for any b > 1)."""
    whole = [int(b) for b in rng.choice(np.arange(2, 7), size=2, replace=False)]
    return whole + [uniform(rng, 1.5, 6.0, 3) for _ in range(3)]


@check(
    cases=CHECK_B,
    hidden=_hidden_b,
    success="your Migdal-Kadanoff fixed points and exponents nu match for b = 2 and b = 3.",
)
def check_mk_fixed_point(fn: Callable[[int], tuple[float, float]], b: float) -> CheckResult | None:
    """Check ``fn(b) -> (K_star, nu)`` for the 2D Migdal-Kadanoff map at ``b = 2, 3`` (to 1e-5)."""
    value, failed = attempt(fn, b)
    if failed is not None:
        return failed
    try:
        K_star, nu = (float(v) for v in value)
    except (TypeError, ValueError):
        return CheckResult(False, f"my_mk_fixed_point({b}) returned {value!r}; expected a pair (K_star, nu).")
    K_ref, nu_ref = _reference(b)
    if not np.isfinite(K_star) or abs(K_star - K_ref) > TOL:
        hint = ""
        if abs(K_star) < TOL or K_star > 5:
            hint = " That is a trivial fixed point (K = 0 or K = infinity); look for the one in between."
        return CheckResult(False, f"for b = {b} your K_star = {K_star:.6f}, expected {K_ref:.6f}.{hint}")
    if not np.isfinite(nu) or abs(nu - nu_ref) > 1e-4:
        hint = ""
        if abs(nu - 1 / nu_ref) < 1e-3:
            hint = " You returned y = ln(Lambda)/ln(b); nu is its inverse."
        return CheckResult(False, f"for b = {b} your nu = {nu:.5f}, expected {nu_ref:.5f}.{hint}")
    return None


#: The graded code exercises of chapter 4 (see :mod:`utils.exercises`).
GRADED = {
    "ch04-ex-mk": Graded(
        "my_mk_fixed_point",
        check_mk_fixed_point,
        forbid=(
            "utils.rg.migdal_kadanoff",
            "utils.rg.fixed_point",
            "utils.rg.linearize",
            "utils.rg.linearize_map",
            "utils.rg._chain_bond",
        ),
        written=1,
    )
}

#: The written exercises of chapter 4 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch04-ex-xi": 1, "ch04-ex-3d": 1, "ch04-ex-compounding": 1}
