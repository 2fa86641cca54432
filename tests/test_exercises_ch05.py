"""The chapter 5 exercise check passes the worked solution and fails wrong or unfinished ones."""

from __future__ import annotations

import numpy as np

from utils.exercises.ch05 import check_chi1, check_nu


def _solution(sigma_w: float, sigma_b: float) -> float:
    # the worked solution from the notebook's dropdown: fixed-point iteration, then Monte Carlo-free quadrature
    z, w = np.polynomial.hermite_e.hermegauss(101)
    w = w / np.sqrt(2 * np.pi)
    q = 1.0
    for _ in range(2000):
        q = sigma_w**2 * np.sum(w * np.tanh(np.sqrt(q) * z) ** 2) + sigma_b**2
    return float(sigma_w**2 * np.sum(w * (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2))


def test_correct_solution_passes() -> None:
    result = check_chi1(_solution)
    assert result.passed, result.message
    assert str(result).startswith("Correct!")


def test_wrong_solution_fails() -> None:
    # forgets the fixed point: evaluates at q = 1
    def wrong(sigma_w: float, sigma_b: float) -> float:
        z, w = np.polynomial.hermite_e.hermegauss(101)
        w = w / np.sqrt(2 * np.pi)
        return float(sigma_w**2 * np.sum(w * (1 - np.tanh(z) ** 2) ** 2))

    result = check_chi1(wrong)
    assert not result.passed
    assert "expected" in result.message


def test_stub_and_garbage_fail_without_raising() -> None:
    def stub(sigma_w: float, sigma_b: float) -> float:
        raise NotImplementedError

    assert "NotImplementedError" in check_chi1(stub).message
    assert not check_chi1(lambda a, b: "one").passed
    assert not check_chi1(lambda a, b: float("nan")).passed


def test_nu_check_accepts_a_least_squares_fit_and_rejects_slopes_and_two_point_fits() -> None:
    def fit(d: np.ndarray, xi: np.ndarray) -> float:
        return float(-np.polyfit(np.log(d), np.log(xi), 1)[0])

    assert check_nu(fit).passed
    wrong_sign = check_nu(lambda d, xi: -fit(d, xi))
    assert not wrong_sign.passed and "minus the slope" in wrong_sign.message
    two_points = check_nu(lambda d, xi: float(-np.log(xi[-1] / xi[0]) / np.log(d[-1] / d[0])))
    assert not two_points.passed and "straight line" in two_points.message
    assert not check_nu(lambda d, xi: 1.0).passed  # the answer for tanh, but not a fit


def test_nu_check_on_the_chapters_depth_scales_gives_one() -> None:
    # the exercise's part (c): nu = 1 on both sides of the tanh critical point at sigma_b^2 = 0.05
    import math

    from utils import signal

    sb = math.sqrt(0.05)
    sw2_c = signal.critical_sigma_w(sb) ** 2
    d = np.geomspace(1e-3, 3e-2, 8) * sw2_c
    for side in (+1, -1):
        xi = np.array([signal.depth_scales(math.sqrt(sw2_c + side * x), sb).xi_c for x in d])
        assert -np.polyfit(np.log(d), np.log(xi), 1)[0] == __import__("pytest").approx(1.0, abs=0.03)
