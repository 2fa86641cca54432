"""Checks for chapter 02's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..branching import extinction_probability
from ._core import CheckResult, attempt_number

#: Mean offspring numbers at which the student's extinction probability is compared.
CHECK_M = (0.5, 0.8, 1.3, 2.0, 3.0)
TOL = 1e-6


def check_extinction_probability(fn: Callable[[float], float]) -> CheckResult:
    """Check ``fn(m)`` against the exact Poisson extinction probability at a few ``m`` (to 1e-6)."""
    for m in CHECK_M:
        q, failed = attempt_number(fn, m)
        if failed is not None:
            return failed
        exact = extinction_probability(m)
        if not np.isfinite(q) or not 0.0 <= q <= 1.0:
            return CheckResult(False, f"my_extinction({m}) = {q}: a probability must lie in [0, 1].")
        if abs(q - exact) > TOL:
            hint = ""
            if m > 1 and abs(q - 1.0) < TOL:
                hint = " q = 1 solves q = exp(m (q - 1)) too, but it is not the smallest root: start the iteration at q = 0."
            elif m < 1:
                hint = " Below m = 1 the iteration converges slowly: iterate until the change is below 1e-12."
            return CheckResult(False, f"my_extinction({m}) = {q:.8f}, expected {exact:.8f}.{hint}")
    return CheckResult(
        True, f"your extinction probabilities match the exact ones at m = {', '.join(map(str, CHECK_M))}."
    )
