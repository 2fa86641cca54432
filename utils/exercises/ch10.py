"""Checks for chapter 10's code exercises (developmental stages)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, optimize

from .. import tms
from ._core import CheckResult, Graded, MatVec, attempt, attempt_number, check, uniform

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


#: (a, b, delta) at which the interval loss is compared: slopes of both signs, a = 0, kinks inside and outside.
INTERVAL_CASES = (
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
)


def _hidden_interval(rng: np.random.Generator) -> list[tuple[float, float, float]]:
    cases = []
    for delta in (0.0, 1.0):
        a = uniform(rng, 0.2, 2.5, 3)
        cases.append((a, round(-a * float(rng.uniform(0.1, 0.9)), 3), delta))  # kink inside, ReLU on at the end
        a = -uniform(rng, 0.2, 2.5, 3)
        cases.append((a, round(-a * float(rng.uniform(0.1, 0.9)), 3), delta))  # kink inside, on at the start
        cases.append((0.0, uniform(rng, -0.5, 0.5, 3), delta))  # a = 0
        a = uniform(rng, -2.5, 2.5, 3)
        cases.append((a, round(abs(a) + float(rng.uniform(0.05, 1)), 3), delta))  # on everywhere
        cases.append((a, round(-abs(a) - float(rng.uniform(0.05, 1)), 3), delta))  # off everywhere
    return cases


@check(
    cases=INTERVAL_CASES,
    hidden=_hidden_interval,
    success="matches quadrature for slopes of both signs, a = 0 and kinks.",
)
def check_interval_loss(
    fn: Callable[[float, float, float], float], case: tuple[float, float, float]
) -> CheckResult | None:
    """Check ``fn(a, b, delta)`` = ``int_0^1 (delta t - ReLU(a t + b))^2 dt`` (chapter 10), against quadrature."""
    a, b, d = case
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
    return None


def _unused_bias_reference(c: int) -> float:
    res = optimize.minimize_scalar(
        lambda v, c=c: tms.loss(*tms.kgon(1, c, inactive_bias=v)),
        bounds=(0.0, 1.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(res.x)


def _hidden_bias(rng: np.random.Generator) -> list[int]:
    return sorted(int(c) for c in rng.choice(np.arange(2, 41), size=3, replace=False))


@check(cases=(3, 6, 10), hidden=_hidden_bias, success="1/(2c): the mean of t, 1/2, diluted by the c - 1 other inputs.")
def check_unused_bias(fn: Callable[[int], float], c: int) -> CheckResult | None:
    """Check ``fn(c)``: the loss-minimising bias of a feature with a zero column among ``c`` features (chapter 10)."""
    out, failed = attempt_number(fn, c)
    if failed is not None:
        return failed
    best = _unused_bias_reference(c)
    if not math.isclose(out, best, abs_tol=1e-6):
        hint = ""
        if math.isclose(out, 0.5, abs_tol=1e-6):
            hint = " 1/2 ignores the other c - 1 inputs, where this output should be 0 but equals the bias."
        elif math.isclose(out, 1 / c, abs_tol=1e-6):
            hint = " Differentiate (1/c) [int_0^1 (t - b)^2 dt + (c - 1) b^2] once more carefully."
        return CheckResult(False, f"for c = {c} you gave {out:.6g}; the loss is smallest at {best:.6g}.{hint}")
    return None


def _hutchinson_cases() -> list[tuple[str, np.ndarray, int, int]]:
    """(kind, matrix, num_samples, seed): a diagonal matrix with one sample, then a dense one with many."""
    rng = np.random.default_rng(10)
    a = rng.normal(size=(30, 30))
    return [("diagonal", np.diag([3.0, -1.0, 0.5, 2.0]), 1, 0), ("dense", (a + a.T) / 2, 4000, 1)]


def _hidden_hutchinson(rng: np.random.Generator) -> list[tuple[str, np.ndarray, int, int]]:
    cases = []
    for _ in range(2):
        d = int(rng.integers(3, 12))
        cases.append(
            (
                "diagonal",
                np.diag(np.round(rng.uniform(-3, 3, size=d), 3)),
                int(rng.integers(1, 4)),
                int(rng.integers(1000)),
            )
        )
    for _ in range(2):
        d = int(rng.integers(10, 40))
        a = rng.normal(size=(d, d))
        cases.append(("dense", (a + a.T) / 2, int(rng.integers(2000, 5000)), int(rng.integers(1000))))
    return cases


@check(
    cases=_hutchinson_cases,
    hidden=_hidden_hutchinson,
    success="exact on a diagonal matrix, within its error on a dense one.",
)
def check_hutchinson(fn: Callable[..., float], case: tuple[str, np.ndarray, int, int]) -> CheckResult | None:
    """Check ``fn(matvec, d, num_samples, seed)``: Hutchinson's trace estimate with Rademacher vectors (chapter 10).

    The matrix reaches the answer as ``matvec``, a function ``v -> A v``.
    """
    kind, A, m, seed = case
    d = A.shape[0]
    out, failed = attempt_number(fn, MatVec(A), d, m, seed)
    if failed is not None:
        return failed
    if kind == "diagonal":
        if not math.isclose(out, float(np.trace(A)), rel_tol=1e-12, abs_tol=1e-12):
            return CheckResult(
                False,
                f"for a diagonal matrix {m} Rademacher vector(s) give the trace {np.trace(A):.6g} exactly "
                f"(v_i^2 = 1); you returned {out:.6g}. Use entries +-1, not Gaussian ones.",
            )
        return None
    se = math.sqrt(2 * (np.sum(A * A) - np.sum(np.diag(A) ** 2)) / m)  # exact std of the estimator
    if abs(out - np.trace(A)) > 5 * se:
        return CheckResult(
            False,
            f"estimate {out:.4g} is more than 5 standard errors ({se:.3g}) from the trace "
            f"{np.trace(A):.4g}: average v^T A v over the samples.",
        )
    again, _ = attempt(fn, MatVec(A), d, m, seed)
    try:
        same = again is not None and float(again) == out
    except (TypeError, ValueError):
        same = False
    if not same:
        return CheckResult(False, "the same seed must give the same estimate: draw v from np.random.default_rng(seed).")
    return None


#: (H, nbeta) at which the smallest localization is compared.
def _localization_cases() -> list[tuple[np.ndarray, float]]:
    return [
        (np.diag([2.0, 0.5]), 100.0),
        (np.diag([1.0, -0.2, 0.0]), 50.0),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), 30.0),
        (np.diag([-0.01, 3.0]), 1000.0),
    ]


def _hidden_localization(rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    cases = []
    for k in range(5):
        d = int(rng.integers(2, 7))
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        eig = rng.uniform(-1, 3, size=d)
        if k == 0:
            eig = np.abs(eig)  # a minimum: no localization needed
        H = (q * eig) @ q.T
        cases.append(((H + H.T) / 2, uniform(rng, 10, 5000, 1)))
    return cases


@check(
    cases=_localization_cases,
    hidden=_hidden_localization,
    success="gamma > -nbeta * (most negative eigenvalue): nbeta H + gamma I > 0.",
)
def check_min_localization(
    fn: Callable[[np.ndarray, float], float], case: tuple[np.ndarray, float]
) -> CheckResult | None:
    """Check ``fn(H, nbeta)``: the smallest localization that makes the localized tempered posterior normalisable."""
    H, nbeta = case
    out, failed = attempt_number(fn, H.copy(), nbeta)
    if failed is not None:
        return failed
    want = nbeta * max(0.0, -float(np.linalg.eigvalsh(H).min()))
    if not math.isclose(out, want, rel_tol=1e-9, abs_tol=1e-9):
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
    return None


GRADED = {
    "ch10-ex-interval-loss": Graded(
        "my_interval_loss", check_interval_loss, forbid=("utils.tms._interval_loss", "utils.tms.loss")
    ),
    "ch10-ex-unused-bias": Graded(
        "my_unused_bias", check_unused_bias, forbid=("utils.tms.loss", "utils.tms.kgon"), written=1
    ),
    "ch10-ex-hutchinson": Graded(
        "my_hutchinson",
        check_hutchinson,
        forbid=("utils.curvature._hutchinson", "utils.curvature.hessian_trace"),
        written=1,
    ),
    "ch10-ex-min-localization": Graded("my_min_localization", check_min_localization, written=1),
}

#: The written exercises of chapter 10 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch10-ex-trace-rescaling": 1, "ch10-ex-fisher-noise": 1}
