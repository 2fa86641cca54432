"""Checks for chapter 06's code exercises (grokking)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..fourier import frequency_power
from ..grokking import first_step
from ._core import CheckResult, Graded, attempt, check

__all__ = ["GRADED", "check_frequency_power", "check_grokking_steps", "check_subtraction_weights"]


def _power_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(6)
    n = np.arange(11)
    return [np.cos(2 * np.pi * 3 * n / 11 + 0.4), rng.normal(size=7), rng.normal(size=31), np.ones(5)]


def _hidden_power(rng: np.random.Generator) -> list[np.ndarray]:
    """Waves, sums of waves, noise and constants of fresh odd lengths."""
    cases = []
    for _ in range(2):
        p = int(rng.choice(np.arange(7, 42, 2)))
        n = np.arange(p)
        k1, k2 = (int(k) for k in rng.choice(np.arange(1, (p + 1) // 2), size=2, replace=False))
        cases.append(rng.uniform(0.5, 2) * np.cos(2 * np.pi * k1 * n / p + rng.uniform(0, 6)))
        cases.append(
            np.cos(2 * np.pi * k1 * n / p) + rng.uniform(0.2, 1) * np.sin(2 * np.pi * k2 * n / p) + rng.normal()
        )
        cases.append(rng.normal(size=int(rng.choice(np.arange(3, 40, 2)))))
    cases.append(np.full(int(rng.choice(np.arange(3, 20, 2))), rng.uniform(-2, 2)))
    return cases


@check(
    cases=_power_cases,
    hidden=_hidden_power,
    success="your spectrum matches utils.fourier.frequency_power, and it obeys Parseval.",
)
def check_frequency_power(fn: Callable[[np.ndarray], Any], x: np.ndarray) -> CheckResult | None:
    """Check ``fn(x)``: the energy of a real length-``p`` vector per frequency ``k = 0..(p-1)/2`` (chapter 6)."""
    out, failed = attempt(fn, x.copy())
    if failed is not None:
        return failed
    want = frequency_power(x)
    try:
        got = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        return CheckResult(False, f"return an array of {want.size} numbers, got {type(out).__name__}.")
    p = x.size
    if got.shape != want.shape:
        hint = " Fold k and p - k together: frequencies 0..(p-1)/2 only." if got.shape == (p,) else ""
        return CheckResult(False, f"for p = {p} return shape {want.shape}, got {got.shape}.{hint}")
    if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
        hint = ""
        halved = want.copy()
        halved[1:] /= 2
        if np.allclose(got, halved, rtol=1e-6, atol=1e-9):
            hint = " Frequencies k >= 1 appear twice (k and p - k): double them."
        elif np.allclose(got, want * p, rtol=1e-6, atol=1e-9):
            hint = " Divide |X_k|^2 by p (Parseval: the energies must add up to sum(x**2))."
        return CheckResult(
            False, f"wrong energies for p = {p}: expected {np.round(want, 4)}, got {np.round(got, 4)}.{hint}"
        )
    return None


def _steps_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    step_acc = np.array([0.0, 0.4, 0.9, 1.0, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    eval_step = np.array([0, 5, 10])
    never = np.full(11, 0.99)
    return [
        (step_acc, eval_step, np.array([0.0, 0.5, 0.97])),  # A = 3 (the first 100 %), B = 10
        (step_acc, eval_step, np.array([0.0, 0.95, 0.96])),  # 0.95 is not "above 95 %": B = 10
        (never, eval_step, np.array([0.1, 0.2, 0.3])),  # neither is reached
        (step_acc, np.array([0, 2, 4, 6]), np.array([0.2, 0.96, 1.0, 1.0])),  # B = 2 < A
    ]


def _hidden_steps(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Fresh runs of the same four kinds: a dip after the first 100 %, a 0.95 plateau, nothing reached, B < A."""
    cases = []
    for kind in range(4):
        t = int(rng.integers(12, 60))
        a = int(rng.integers(t // 2, t - 3)) if kind == 3 else int(rng.integers(2, t - 3))
        step_acc = np.minimum(1.0, np.round(np.linspace(0, 1, a + 1), 3))
        step_acc = np.concatenate([step_acc, np.ones(t - a - 1)])
        step_acc[a + 1] = 0.99  # a dip after the first 100 %
        if kind == 2:
            step_acc = np.minimum(step_acc, 0.99)
        eval_step = np.sort(rng.choice(np.arange(t), size=int(rng.integers(4, 9)), replace=False))
        m = eval_step.size
        cross = int(rng.integers(1, m))
        test_acc = np.round(np.concatenate([np.linspace(0.05, 0.9, cross), np.full(m - cross, 0.97)]), 3)
        if kind == 1:
            test_acc[cross - 1] = 0.95  # not "above 95 %"
        if kind == 2:
            test_acc = np.minimum(test_acc, 0.95)
        if kind == 3:  # test accuracy passes 95 % before training accuracy reaches 100 %
            eval_step = np.union1d([0], eval_step)
            before = int(rng.integers(1, max(2, int(np.sum(eval_step < a)))))
            test_acc = np.where(np.arange(eval_step.size) < before, 0.2, 0.96)
        cases.append((step_acc, eval_step, test_acc))
    return cases


@check(
    cases=_steps_cases,
    hidden=_hidden_steps,
    success="A and B are right, including runs that never reach a threshold.",
)
def check_grokking_steps(
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray], Any], case: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> CheckResult | None:
    """Check ``fn(step_acc, eval_step, test_acc)`` returns ``(A, B)``: the first step with training accuracy 1
    (``step_acc[t]`` is the accuracy after ``t`` steps) and the first evaluation step with test accuracy above
    0.95; ``nan`` for a threshold never reached (chapter 6)."""
    step_acc, eval_step, test_acc = case
    out, failed = attempt(fn, step_acc.copy(), eval_step.copy(), test_acc.copy())
    if failed is not None:
        return failed
    want = (first_step(np.arange(step_acc.size), step_acc, 1.0), first_step(eval_step, test_acc, 0.95, strict=True))
    try:
        got = tuple(float(v) for v in out)
    except (TypeError, ValueError):
        return CheckResult(False, f"return two numbers (A, B), got {out!r}.")
    if len(got) != 2:
        return CheckResult(False, f"return two numbers (A, B), got {len(got)} values.")
    same = all((math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want, strict=True))
    if not same:
        case = f"step_acc = {step_acc.tolist()}, eval_step = {eval_step.tolist()}, test_acc = {test_acc.tolist()}"
        hint = ""
        if math.isnan(want[0]) and not math.isnan(got[0]):
            hint = " Training accuracy 0.99 is not 100 %: A stays nan."
        elif not math.isnan(want[1]) and got[1] == float(eval_step[np.argmax(test_acc >= 0.95)]) and got[1] != want[1]:
            hint = " 'Above 95 %' is strict: test accuracy 0.95 does not count."
        elif not math.isnan(want[0]) and got[0] != want[0]:
            hint = " A is an index into step_acc (row t = after t steps), the first time it equals 1."
        return CheckResult(False, f"for {case} expected (A, B) = {want}, got {got}.{hint}")
    return None


#: (p, k) at which the subtraction network is built and scored.
SUBTRACTION_CASES = ((7, 1), (31, 4), (31, 13))
_PRIMES = (5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _hidden_subtraction(rng: np.random.Generator) -> list[tuple[int, int]]:
    cases = []
    for p in rng.choice(_PRIMES, size=3, replace=False):
        cases.append((int(p), int(rng.integers(1, (int(p) - 1) // 2 + 1))))
    return cases


@check(
    cases=SUBTRACTION_CASES,
    hidden=_hidden_subtraction,
    success="your weights compute (a - b) mod p on every pair, from one frequency.",
)
def check_subtraction_weights(fn: Callable[[int, int], Any], case: tuple[int, int]) -> CheckResult | None:
    """Check ``fn(p, k)`` returns ``(embed, w_a, w_b, w_out)`` of a quadratic ``ModularMLP`` that computes
    ``(a - b) mod p`` for every pair, from frequency ``k`` alone (chapter 6)."""
    import torch

    from ..grokking import ModularMLP

    p, k = case
    out, failed = attempt(fn, p, k)
    if failed is not None:
        return failed
    try:
        model = ModularMLP.from_weights(*out)
    except Exception as exc:
        return CheckResult(False, f"could not build a ModularMLP from your (embed, w_a, w_b, w_out): {exc}")
    if model.p != p:
        return CheckResult(False, f"for p = {p} the embedding must have {p} rows, got {model.p}.")
    with torch.no_grad():
        pred = model.all_logits()[0].argmax(-1).numpy()
    a, b = np.divmod(np.arange(p * p), p)
    acc = float(np.mean(pred == (a - b) % p))
    if acc < 1.0:
        hint = ""
        if np.mean(pred == (a + b) % p) == 1.0:
            hint = " Your network adds: b must enter with the opposite phase, cos(-w b + phi_2)."
        elif np.mean(pred == (b - a) % p) == 1.0:
            hint = " Your network computes b - a: swap the roles of the two operands."
        return CheckResult(False, f"for p = {p}, k = {k} your network gets {acc:.1%} of the pairs right.{hint}")
    return None


#: The chapter's graded code exercises: label -> (function the student defines, check, points).
GRADED = {
    "ch06-ex-power": Graded(
        "my_frequency_power",
        check_frequency_power,
        forbid=("utils.fourier.frequency_power", "utils.fourier.embedding_power", "utils.fourier.dominant_frequency"),
    ),
    "ch06-ex-steps": Graded(
        "my_grokking_steps", check_grokking_steps, forbid=("utils.grokking.first_step", "utils.grokking.grokking_steps")
    ),
    "ch06-ex-subtraction": Graded("my_subtraction_weights", check_subtraction_weights),
}

#: The written exercises of chapter 6 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch06-ex-multiplication": 1, "ch06-ex-budget": 1, "ch06-ex-llc": 1}
