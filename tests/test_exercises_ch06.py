"""The chapter 6 exercise checks pass the worked solutions and fail wrong or unfinished ones with a useful hint."""

from __future__ import annotations

import math

import numpy as np

from utils import fourier
from utils.exercises import ch06
from utils.exercises.ch06 import GRADED, check_frequency_power, check_grokking_steps, check_subtraction_weights


def my_frequency_power(x):  # the worked solution from the notebook's dropdown
    p = len(x)
    X = np.fft.fft(x)
    power = np.abs(X[: (p + 1) // 2]) ** 2 / p
    power[1:] *= 2
    return power


def my_grokking_steps(step_acc, eval_step, test_acc):
    fitted = np.flatnonzero(step_acc >= 1.0)
    general = np.flatnonzero(test_acc > 0.95)
    a = float(fitted[0]) if fitted.size else float("nan")
    b = float(eval_step[general[0]]) if general.size else float("nan")
    return a, b


def my_subtraction_weights(p, k):
    embed, w_a, w_b, w_out = fourier.fourier_solution(p, [k])
    w_b[1] *= -1
    return embed, w_a, w_b, w_out


def _stub(*args):
    raise NotImplementedError


def test_solutions_pass() -> None:
    for check, fn in (
        (check_frequency_power, my_frequency_power),
        (check_grokking_steps, my_grokking_steps),
        (check_subtraction_weights, my_subtraction_weights),
    ):
        result = check(fn)
        assert result.passed, result.message
        assert str(result).startswith("Correct!")


def test_stubs_and_garbage_fail_without_raising() -> None:
    for check in (check_frequency_power, check_grokking_steps, check_subtraction_weights):
        assert "NotImplementedError" in check(_stub).message
        assert not check(lambda *a: "nonsense").passed
        assert not check(lambda *a: None).passed


def test_frequency_power_hints() -> None:
    unfolded = check_frequency_power(lambda x: np.abs(np.fft.fft(x)) ** 2 / len(x))
    assert not unfolded.passed and "Fold k and p - k" in unfolded.message

    def not_doubled(x):
        return np.abs(np.fft.rfft(x)) ** 2 / len(x)

    assert "double them" in check_frequency_power(not_doubled).message
    assert "Divide |X_k|^2 by p" in check_frequency_power(lambda x: my_frequency_power(x) * len(x)).message


def test_grokking_steps_hints() -> None:
    def not_strict(step_acc, eval_step, test_acc):
        a, _ = my_grokking_steps(step_acc, eval_step, test_acc)
        hit = np.flatnonzero(test_acc >= 0.95)
        return a, float(eval_step[hit[0]]) if hit.size else math.nan

    assert "strict" in check_grokking_steps(not_strict).message

    def rounds_up(step_acc, eval_step, test_acc):
        _, b = my_grokking_steps(step_acc, eval_step, test_acc)
        hit = np.flatnonzero(step_acc >= 0.99)
        return float(hit[0]) if hit.size else math.nan, b

    assert "0.99 is not 100 %" in check_grokking_steps(rounds_up).message

    def last_not_first(step_acc, eval_step, test_acc):
        _, b = my_grokking_steps(step_acc, eval_step, test_acc)
        dips = np.flatnonzero(step_acc < 1.0)
        return float(dips[-1] + 1) if dips.size < step_acc.size else math.nan, b

    assert "the first time it equals 1" in check_grokking_steps(last_not_first).message


def test_subtraction_hints() -> None:
    adds = check_subtraction_weights(lambda p, k: fourier.fourier_solution(p, [k]))
    assert not adds.passed and "Your network adds" in adds.message

    def swapped(p, k):
        embed, w_a, w_b, w_out = fourier.fourier_solution(p, [k])
        w_a[1] *= -1
        return embed, w_a, w_b, w_out

    assert "b - a" in check_subtraction_weights(swapped).message
    wrong_p = check_subtraction_weights(lambda p, k: my_subtraction_weights(p + 2, k))
    assert not wrong_p.passed and "rows" in wrong_p.message


def test_graded_table_names_the_notebook_functions() -> None:
    assert set(GRADED) == {"ch06-ex-power", "ch06-ex-steps", "ch06-ex-subtraction"}
    assert {g.function for g in GRADED.values()} == {
        "my_frequency_power",
        "my_grokking_steps",
        "my_subtraction_weights",
    }
    assert all(callable(g.check) and g.points >= 1 for g in GRADED.values())
    assert ch06.check_frequency_power is GRADED["ch06-ex-power"].check
