"""Chapter 9's exercise checks pass a correct answer and fail wrong or unfinished ones (never raise)."""

import math

from utils.exercises.ch09 import check_normal_crossing_lambda, check_sgld_step


def good_step(w, grad, w_star, noise, step_size, nbeta, localization):
    return w - step_size / 2 * (nbeta * grad + localization * (w - w_star)) + math.sqrt(step_size) * noise


def wrong_noise(w, grad, w_star, noise, step_size, nbeta, localization):
    return w - step_size / 2 * (nbeta * grad + localization * (w - w_star)) + step_size * noise


def no_localization(w, grad, w_star, noise, step_size, nbeta, localization):
    return w - step_size / 2 * nbeta * grad + math.sqrt(step_size) * noise


def stub(*args):
    raise NotImplementedError  # your code here


def test_sgld_check():
    assert check_sgld_step(good_step).passed
    bad = check_sgld_step(wrong_noise)
    assert not bad.passed and "the noise is scaled by sqrt(step_size), not step_size" in bad.message
    assert not check_sgld_step(no_localization).passed
    unfinished = check_sgld_step(stub)
    assert not unfinished.passed and "NotImplementedError" in str(unfinished)
    assert not check_sgld_step(lambda *a: 1 / 0).passed


def test_lambda_check():
    assert check_normal_crossing_lambda(lambda p: min(1 / (2 * k) for k in p if k > 0)).passed
    assert not check_normal_crossing_lambda(lambda p: sum(1 / (2 * k) for k in p if k > 0)).passed
    assert not check_normal_crossing_lambda(lambda p: "half").passed
    assert not check_normal_crossing_lambda(stub).passed
