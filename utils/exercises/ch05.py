"""Checks for chapter 05's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

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


#: (amplitude, nu) of the synthetic power laws xi = A d^(-nu) the exponent check fits.
_LAWS = ((1.0, 1.0), (2.5, 0.63), (0.4, 1.338))


def check_nu(fn: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check ``fn(distance, xi)`` returns ``nu`` of ``xi ~ distance^(-nu)`` by least squares on logs."""
    d = np.geomspace(1e-3, 1e-1, 9)
    wobble = 1.0 + 0.05 * np.sin(7.0 * np.arange(d.size))  # a fit, not two points, gets it right
    for amp, nu in _LAWS:
        xi = amp * d**-nu * wobble
        want = -np.polyfit(np.log(d), np.log(xi), 1)[0]
        got, failed = attempt_number(fn, d.copy(), xi.copy())
        if failed is not None:
            return failed
        if not math.isfinite(got) or abs(got - want) > 1e-6 * max(1.0, abs(want)):
            hint = (
                "nu is minus the slope of ln xi against ln distance."
                if abs(got + want) < 1e-3
                else ("Fit a straight line to ln xi against ln distance (np.polyfit) over all points.")
            )
            return CheckResult(False, f"for xi = {amp} d^(-{nu}) you return {got:.5g}, expected {want:.5g}. {hint}")
    return CheckResult(True, "nu recovered from three power laws (nu = 0.63, 1, 1.338).")


#: The graded code exercises of chapter 5 (see :mod:`utils.exercises`).
GRADED = {"ch05-ex-chi1": Graded("my_chi1", check_chi1), "ch05-ex-exponent": Graded("my_nu", check_nu)}
