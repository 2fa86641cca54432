"""Checks for chapter 10's code exercises (developmental stages)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, optimize

from .. import tms
from ._core import CheckResult, Graded, attempt, attempt_number

__all__ = [
    "GRADED",
    "check_hutchinson",
    "check_interval_loss",
    "check_min_localization",
    "check_unused_bias",
]


def _quad_interval(a: float, b: float, delta: float) -> float:
    kink = [-b / a] if a != 0 and 0 < -b / a < 1 else None
    return integrate.quad(lambda t: (delta * t - max(a * t + b, 0.0)) ** 2, 0.0, 1.0, points=kink, epsabs=1e-13)[0]


def check_interval_loss(fn: Callable[[float, float, float], float]) -> CheckResult:
    """Check ``fn(a, b, delta)`` = ``int_0^1 (delta t - ReLU(a t + b))^2 dt`` (chapter 10), against quadrature."""
    cases = [
        (1.0, 0.0, 1.0),
        (1.3, -0.3, 1.0),
        (0.4, -0.3, 0.0),
        (-0.5, 0.2, 0.0),
        (-1.0, 0.0, 0.0),
        (0.0, 0.1, 0.0),
        (0.0, -0.2, 1.0),
        (2.0, -3.0, 1.0),
        (-0.7, 1.2, 1.0),
        (0.5, 0.5, 0.0),
    ]
    for a, b, d in cases:
        out, failed = attempt_number(fn, a, b, d)
        if failed is not None:
            return failed
        want = _quad_interval(a, b, d)
        if not math.isclose(out, want, rel_tol=1e-8, abs_tol=1e-10):
            # the typical slip: integrating only where the ReLU is on, forgetting the target t where it is off
            on_only = integrate.quad(
                lambda t, a=a, b=b, d=d: (d * t - (a * t + b)) ** 2 if a * t + b > 0 else 0.0,
                0.0,
                1.0,
                points=[-b / a] if a != 0 and 0 < -b / a < 1 else None,
                epsabs=1e-13,
            )[0]
            hint = ""
            if math.isclose(out, on_only, rel_tol=1e-6, abs_tol=1e-10):
                hint = (
                    " Where the ReLU is off the output is 0 but the target is still delta t: that part adds "
                    "int delta t^2 dt over the off interval."
                )
            elif a != 0 and not 0 <= -b / a <= 1:
                hint = " Here the switching point -b/a lies outside [0, 1]: clip it to [0, 1]."
            return CheckResult(False, f"fn({a}, {b}, {d}) returned {out:.6g}, expected {want:.6g}.{hint}")
    return CheckResult(True, "matches quadrature for slopes of both signs, a = 0 and kinks.")


def check_unused_bias(fn: Callable[[int], float]) -> CheckResult:
    """Check ``fn(c)``: the loss-minimising bias of a feature with a zero column among ``c`` features (chapter 10)."""
    for c in (3, 6, 10):
        out, failed = attempt_number(fn, c)
        if failed is not None:
            return failed
        res = optimize.minimize_scalar(
            lambda v, c=c: tms.loss(*tms.kgon(1, c, inactive_bias=v)),
            bounds=(0.0, 1.0),
            method="bounded",
            options={"xatol": 1e-10},
        )
        if not math.isclose(out, res.x, abs_tol=1e-6):
            hint = ""
            if math.isclose(out, 0.5, abs_tol=1e-6):
                hint = " 1/2 ignores the other c - 1 inputs, where this output should be 0 but equals the bias."
            elif math.isclose(out, 1 / c, abs_tol=1e-6):
                hint = " Differentiate (1/c) [int_0^1 (t - b)^2 dt + (c - 1) b^2] once more carefully."
            return CheckResult(False, f"for c = {c} you gave {out:.6g}; the loss is smallest at {res.x:.6g}.{hint}")
    return CheckResult(True, "1/(2c): the mean of t, 1/2, diluted by the c - 1 other inputs.")


def check_hutchinson(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(matvec, d, num_samples, seed)``: Hutchinson's trace estimate with Rademacher vectors (chapter 10)."""
    diag = np.array([3.0, -1.0, 0.5, 2.0])
    out, failed = attempt_number(fn, lambda v: diag * v, 4, 1, 0)
    if failed is not None:
        return failed
    if not math.isclose(out, diag.sum(), rel_tol=1e-12):
        return CheckResult(
            False,
            f"for a diagonal matrix one Rademacher vector gives the trace {diag.sum()} exactly "
            f"(v_i^2 = 1); you returned {out:.6g}. Use entries +-1, not Gaussian ones.",
        )
    rng = np.random.default_rng(10)
    a = rng.normal(size=(30, 30))
    A = (a + a.T) / 2
    m = 4000
    out, failed = attempt_number(fn, lambda v: A @ v, 30, m, 1)
    if failed is not None:
        return failed
    se = math.sqrt(2 * (np.sum(A * A) - np.sum(np.diag(A) ** 2)) / m)  # exact std of the estimator
    if abs(out - np.trace(A)) > 5 * se:
        return CheckResult(
            False,
            f"estimate {out:.4g} is more than 5 standard errors ({se:.3g}) from the trace "
            f"{np.trace(A):.4g}: average v^T A v over the samples.",
        )
    again, _ = attempt(fn, lambda v: A @ v, 30, m, 1)
    if again is None or float(again) != out:
        return CheckResult(False, "the same seed must give the same estimate: draw v from np.random.default_rng(seed).")
    return CheckResult(True, "exact on a diagonal matrix, within its error on a dense one.")


def check_min_localization(fn: Callable[[np.ndarray, float], float]) -> CheckResult:
    """Check ``fn(H, nbeta)``: the smallest localization that makes the localized tempered posterior normalisable."""
    cases = [
        (np.diag([2.0, 0.5]), 100.0),
        (np.diag([1.0, -0.2, 0.0]), 50.0),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), 30.0),
        (np.diag([-0.01, 3.0]), 1000.0),
    ]
    for H, nbeta in cases:
        out, failed = attempt_number(fn, H.copy(), nbeta)
        if failed is not None:
            return failed
        want = nbeta * max(0.0, -float(np.linalg.eigvalsh(H).min()))
        if not math.isclose(out, want, rel_tol=1e-9, abs_tol=1e-12):
            hint = ""
            if want == 0.0:
                hint = " At a minimum (H PSD) no localization is needed: return 0."
            elif math.isclose(out, -float(np.linalg.eigvalsh(H).min()), rel_tol=1e-9):
                hint = " The loss enters multiplied by nbeta."
            return CheckResult(
                False,
                f"for H with eigenvalues {np.round(np.linalg.eigvalsh(H), 3).tolist()} and "
                f"nbeta = {nbeta} you gave {out:.6g}, expected {want:.6g}.{hint}",
            )
    return CheckResult(True, "gamma > -nbeta * (most negative eigenvalue): nbeta H + gamma I > 0.")


GRADED = {
    "ch10-ex-interval-loss": Graded("my_interval_loss", check_interval_loss),
    "ch10-ex-unused-bias": Graded("my_unused_bias", check_unused_bias),
    "ch10-ex-hutchinson": Graded("my_hutchinson", check_hutchinson),
    "ch10-ex-min-localization": Graded("my_min_localization", check_min_localization),
}
