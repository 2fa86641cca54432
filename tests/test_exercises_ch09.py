"""Chapter 9's exercise checks pass a correct answer and fail wrong or unfinished ones (never raise)."""

import math

from utils.exercises.ch09 import check_diagnosis, check_normal_crossing_lambda, check_sgld_step


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


def right_diagnosis(res):
    """Written from the issue's rules, independently of utils.llc's code."""
    out = set()
    if res.r_hat >= 1.01 or res.ess < 100 * len(res.per_chain) or abs(res.drift_z) >= 3:
        out.add("num_draws")
    if res.acceptance_rate is not None and res.acceptance_rate < 0.2:
        out.add("step_size")
    if res.localization > 0.1 * res.nbeta:
        out.add("localization")
    return out


def test_diagnosis_check():
    assert check_diagnosis(right_diagnosis).passed

    def total_ess(res):  # compares ESS with 100 in total, not per chain
        out = right_diagnosis(res) - {"num_draws"}
        if res.r_hat >= 1.01 or res.ess < 100 or abs(res.drift_z) >= 3:
            out.add("num_draws")
        return out

    bad = check_diagnosis(total_ess)
    assert not bad.passed and "per chain" in bad.message

    def signed_drift(res):  # forgets the absolute value of the drift z
        out = right_diagnosis(res) - {"num_draws"}
        if res.r_hat >= 1.01 or res.ess < 100 * len(res.per_chain) or res.drift_z >= 3:
            out.add("num_draws")
        return out

    bad = check_diagnosis(signed_drift)
    assert not bad.passed and "|drift z|" in bad.message
    assert not check_diagnosis(lambda res: set()).passed
    assert not check_diagnosis(lambda res: 3).passed
    unfinished = check_diagnosis(stub)
    assert not unfinished.passed and "NotImplementedError" in str(unfinished)
