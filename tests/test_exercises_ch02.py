"""The chapter 2 check accepts the worked solution and rejects wrong or unfinished answers."""

from __future__ import annotations

import math

from utils.exercises.ch02 import CHECK_KL, check_extinction_probability, check_runaway_threshold


def solution(m: float, tol: float = 1e-12, max_iter: int = 10_000_000) -> float:
    """The chapter's reference answer: stop when the estimated remaining error is below tol."""
    q = 0.0
    for _ in range(max_iter):
        q_new = math.exp(m * (q - 1.0))
        rate = m * q_new  # f'(q): the factor by which the error shrinks per step
        if abs(q_new - q) * rate / (1.0 - rate) < tol:
            return q_new
        q = q_new
    return q


def naive(m: float, tol: float = 1e-12) -> float:
    """Stops on |dq| < tol: near m = 1 the remaining error is about tol / (1 - m q) ~ 1e-9."""
    q = 0.0
    while True:
        q_new = math.exp(m * (q - 1.0))
        if abs(q_new - q) < tol:
            return q_new
        q = q_new


def test_solution_passes() -> None:
    result = check_extinction_probability(solution)
    assert result.passed and str(result).startswith("Correct!")


def test_naive_stopping_rule_fails_near_m_1_with_hint() -> None:
    result = check_extinction_probability(naive)
    assert not result.passed and "my_extinction(0.999)" in result.message
    assert "underestimates the remaining error" in result.message


def test_trivial_root_fails_with_hint() -> None:
    result = check_extinction_probability(lambda m: 1.0)
    assert not result.passed and "smallest root" in result.message


def test_wrong_formula_fails() -> None:
    assert not check_extinction_probability(lambda m: min(1.0, 1.0 / m)).passed  # geometric, not Poisson
    assert not check_extinction_probability(lambda m: 2.0).passed
    assert not check_extinction_probability(lambda m: "q").passed


def test_unfinished_stub_fails_without_raising() -> None:
    def stub(m: float) -> float:
        raise NotImplementedError

    result = check_extinction_probability(stub)
    assert not result.passed and "NotImplementedError" in result.message


def threshold_solution(K: float, L: int) -> tuple[float, float]:
    p_c = K ** (-1 / L)
    return p_c, 2 * L / p_c


def richardson(K: float, L: int) -> tuple[float, float]:
    """p_c, and the right derivative of 1 - q in p there by an extrapolated finite difference."""
    from utils.branching import survival_probability

    p_c, d = K ** (-1 / L), 1e-6
    one, half = (survival_probability(K * (p_c + h) ** L) / h for h in (d, d / 2))
    return p_c, 2 * half - one


def test_runaway_slope_is_the_exact_derivative() -> None:
    """2L/p_c against a Richardson-extrapolated finite difference of 1 - q; the check centres on it."""
    for K, L in CHECK_KL:
        assert abs(richardson(K, L)[1] - threshold_solution(K, L)[1]) < 1e-6 * threshold_solution(K, L)[1]
    assert check_runaway_threshold(richardson).passed
    for factor in (0.98, 1.02):
        assert not check_runaway_threshold(lambda K, L, f=factor: (richardson(K, L)[0], f * richardson(K, L)[1])).passed


def test_runaway_threshold_accepts_solution_and_finite_differences() -> None:
    from utils.branching import survival_probability

    assert check_runaway_threshold(threshold_solution).passed

    def numeric(K: float, L: int) -> tuple[float, float]:
        p_c, dp = K ** (-1 / L), 1e-5
        return p_c, survival_probability(K * (p_c + dp) ** L) / dp

    assert check_runaway_threshold(numeric).passed


def test_runaway_threshold_rejects_approximations_with_hints() -> None:
    approx_p = check_runaway_threshold(lambda K, L: (1 - math.log(K) / L, 2 * L))
    assert not approx_p.passed and "large-L approximation" in approx_p.message
    two_l = check_runaway_threshold(lambda K, L: (K ** (-1 / L), 2 * L))
    assert not two_l.passed and "factor 1/p_c" in two_l.message
    half = check_runaway_threshold(lambda K, L: (K ** (-1 / L), L / K ** (-1 / L)))
    assert not half.passed and "factor 2 is missing" in half.message
    assert "a pair" in check_runaway_threshold(lambda K, L: K ** (-1 / L)).message


def test_runaway_threshold_stub_fails_without_raising() -> None:
    def stub(K: float, L: int) -> tuple[float, float]:
        raise NotImplementedError

    result = check_runaway_threshold(stub)
    assert not result.passed and "NotImplementedError" in result.message
