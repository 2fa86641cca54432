"""Checks for chapter 09's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..llc import sgld_step
from ..slt import learning_coefficient_normal_crossing
from ._core import CheckResult, attempt

__all__ = ["check_sgld_step", "check_normal_crossing_lambda"]


def check_sgld_step(fn: Callable[..., torch.Tensor]) -> CheckResult:
    """Check ``fn(w, grad, w_star, noise, step_size, nbeta, localization)`` (one SGLD step, chapter 9).

    Expected: ``w - step_size/2 * (nbeta * grad + localization * (w - w_star)) + sqrt(step_size) * noise``.
    """
    g = torch.Generator().manual_seed(9)
    w, grad, w_star, noise = (torch.randn(5, generator=g, dtype=torch.float64) for _ in range(4))
    cases = [(1e-2, 50.0, 10.0), (1e-3, 1000.0, 0.0), (0.5, 1.0, 100.0)]
    for eps, nbeta, gamma in cases:
        out, failed = attempt(fn, w.clone(), grad.clone(), w_star.clone(), noise.clone(), eps, nbeta, gamma)
        if failed is not None:
            return failed
        want = sgld_step(w, grad, w_star, noise, step_size=eps, nbeta=nbeta, localization=gamma)
        if not isinstance(out, torch.Tensor) or out.shape != want.shape:
            return CheckResult(False, f"return a tensor of shape {tuple(want.shape)}, got {type(out).__name__}.")
        if not torch.allclose(out.double(), want, rtol=1e-6, atol=1e-9):
            hint = (
                " (the noise is scaled by sqrt(step_size), not step_size)"
                if torch.allclose(out.double(), want - (math.sqrt(eps) - eps) * noise)
                else ""
            )
            return CheckResult(
                False,
                f"wrong update at step_size={eps}, nbeta={nbeta}, localization={gamma}{hint}: "
                "w - eps/2 (nbeta grad + localization (w - w*)) + sqrt(eps) noise.",
            )
    return CheckResult(True, "your SGLD step matches the reference on all test cases.")


def check_normal_crossing_lambda(fn: Callable[[list[int]], float]) -> CheckResult:
    """Check ``fn(powers)``: the learning coefficient of ``prod_j w_j^(2 k_j)`` (chapter 9)."""
    for powers in ([1], [2], [1, 1], [1, 3], [2, 2, 5], [0, 4]):
        out, failed = attempt(fn, list(powers))
        if failed is not None:
            return failed
        want = learning_coefficient_normal_crossing(powers)
        try:
            ok = abs(float(out) - want) < 1e-9
        except (TypeError, ValueError):
            return CheckResult(False, f"return a number, got {type(out).__name__}.")
        if not ok:
            return CheckResult(False, f"for powers {powers} the answer is not {out}: the smallest exponent ratio wins.")
    return CheckResult(True, "lambda = min_j 1/(2 k_j) for every case.")
