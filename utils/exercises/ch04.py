"""Checks for chapter 04's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rg import fixed_point, linearize, migdal_kadanoff
from ._core import CheckResult, Graded, attempt

#: Rescaling factors at which the student's Migdal-Kadanoff fixed point and nu are compared.
CHECK_B = (2, 3)
TOL = 1e-5


def _reference(b: int) -> tuple[float, float]:
    def f(K: float) -> float:
        return migdal_kadanoff(K, b=b)

    K_star = fixed_point(f, 0.3, bracket=(0.05, 2.0))
    return K_star, linearize(f, K_star, b=b).nu


def check_mk_fixed_point(fn: Callable[[int], tuple[float, float]]) -> CheckResult:
    """Check ``fn(b) -> (K_star, nu)`` for the 2D Migdal-Kadanoff map at ``b = 2, 3`` (to 1e-5)."""
    for b in CHECK_B:
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
    return CheckResult(True, "your Migdal-Kadanoff fixed points and exponents nu match for b = 2 and b = 3.")


#: The graded code exercises of chapter 4 (see :mod:`utils.exercises`).
GRADED = {"ch04-ex-mk": Graded("my_mk_fixed_point", check_mk_fixed_point)}
