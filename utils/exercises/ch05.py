"""Checks for chapter 05's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

from ._core import CheckResult, Graded, attempt_number

#: (sigma_w, sigma_b) pairs the chi_1 check tries: ordered, near-critical and chaotic tanh networks.
_CASES = ((0.8, 0.3), (1.33, 0.2236), (2.0, 0.5), (1.0, 0.0))


def check_chi1(fn: Callable[[float, float], float]) -> CheckResult:
    """Check ``fn(sigma_w, sigma_b)`` returns chi_1 of a tanh network at its length fixed point."""
    from ..signal import chi

    for sw, sb in _CASES:
        got, failed = attempt_number(fn, sw, sb)
        if failed is not None:
            return failed
        want = chi(sw, sb, "tanh")
        if not math.isfinite(got) or abs(got - want) > 1e-3 * max(1.0, abs(want)):
            return CheckResult(
                False,
                f"for sigma_w={sw}, sigma_b={sb} you return {got:.5g}, expected {want:.5g}. "
                "Did you find q* first and then average phi'(sqrt(q*) z)^2?",
            )
    return CheckResult(True, "chi_1 matches at ordered, critical and chaotic points.")


#: The graded code exercises of chapter 5 (see :mod:`utils.exercises`).
GRADED = {"ch05-ex-chi1": Graded("my_chi1", check_chi1)}
