"""The chapter 1 exercise checks accept the right answer and reject wrong or unfinished ones without raising."""

from __future__ import annotations

import math

import numpy as np

from utils.exercises.ch01 import check_em_over_independent, check_half_length, em_over_independent, half_length


def _stub(*args):
    raise NotImplementedError  # your code here


def test_half_length_against_hand_values() -> None:
    # p**L = 1/2: L = 1 at p = 1/2, L = 2 at p = 1/sqrt(2), L = 20 at p = 0.5**(1/20) = 0.96594 (96.6 %)
    assert half_length(0.5) == 1.0
    assert math.isclose(half_length(2**-0.5), 2.0, rel_tol=1e-12)
    assert math.isclose(half_length(0.96594), 20.0, rel_tol=2e-4)  # 5 digits of p


def test_half_length_accepts_exact_answer() -> None:
    result = check_half_length(lambda p: math.log(2) / -math.log(p))
    assert result.passed and str(result).startswith("Correct!")


def test_half_length_rejects_approximations_with_hints() -> None:
    first_order = check_half_length(lambda p: math.log(2) / (1 - p))
    assert not first_order.passed and "small-error approximation" in first_order.message
    rounded = check_half_length(lambda p: math.ceil(math.log(2) / -math.log(p)))
    assert not rounded.passed and "real-valued" in rounded.message
    swapped = check_half_length(lambda p: 0.5 ** (1 / p))
    assert not swapped.passed and "invert" in swapped.message


def test_half_length_rejects_stub_and_errors_without_raising() -> None:
    assert "NotImplementedError" in check_half_length(_stub).message
    assert not check_half_length(lambda p: 1 / 0).passed
    assert not check_half_length(lambda p: None).passed
    assert not check_half_length(42).passed


def test_em_over_independent_by_hand() -> None:
    # 4 answers, 2 positions: accuracies 3/4 and 3/4 (product 9/16); exact match 2/4 -> ratio 8/9
    correct = np.array([[1, 1], [1, 1], [1, 0], [0, 1]], dtype=bool)
    assert math.isclose(em_over_independent(correct), (2 / 4) / (9 / 16), rel_tol=1e-12)
    # errors in the same answer: accuracies 3/4 each, exact match 3/4 -> ratio 4/3
    together = np.array([[1, 1], [1, 1], [1, 1], [0, 0]], dtype=bool)
    assert math.isclose(em_over_independent(together), (3 / 4) / (9 / 16), rel_tol=1e-12)


def test_em_over_independent_accepts_right_answer() -> None:
    def right(c):
        c = np.asarray(c, dtype=bool)
        return float(c.all(axis=1).mean() / np.prod(c.mean(axis=0)))

    assert check_em_over_independent(right).passed


def test_em_over_independent_rejects_wrong_answers_with_hints() -> None:
    def mean_power(c):
        return float(c.all(axis=1).mean() / c.mean() ** c.shape[1])

    def upside_down(c):
        return float(np.prod(c.mean(axis=0)) / c.all(axis=1).mean())

    assert "mean(acc)**T" in check_em_over_independent(mean_power).message
    assert "upside down" in check_em_over_independent(upside_down).message
    assert "prediction alone" in check_em_over_independent(lambda c: float(np.prod(c.mean(axis=0)))).message
    assert not check_em_over_independent(lambda c: 1.0).passed
    assert "NotImplementedError" in check_em_over_independent(_stub).message
