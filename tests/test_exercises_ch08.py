"""Chapter 8's exercise checks pass right answers and fail typical wrong or unfinished ones (never raise)."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from utils.exercises.ch08 import GRADED, check_crossover_n, check_lambda_from_slope


def stub(*args):
    raise NotImplementedError  # your code here


# --- reading lambda off the slope ------------------------------------------------------------------------


def slope_solution(n, free_energies, m):  # independent of utils.bayes.fit_lambda: normal equations
    x = np.log(n)
    y = free_energies + (m - 1) * np.log(np.log(n))
    return float(np.cov(x, y, bias=True)[0, 1] / np.var(x))


def test_slope_check_accepts_a_least_squares_fit():
    result = check_lambda_from_slope(slope_solution)
    assert result.passed and str(result).startswith("Correct!")


def test_slope_check_rejects_typical_mistakes_with_hints():
    no_loglog = check_lambda_from_slope(lambda n, f, m: np.polyfit(np.log(n), f, 1)[0])
    assert not no_loglog.passed and "log log n" in no_loglog.message
    log10 = check_lambda_from_slope(lambda n, f, m: np.polyfit(np.log10(n), f + (m - 1) * np.log(np.log(n)), 1)[0])
    assert not log10.passed and "natural logarithm" in log10.message
    against_n = check_lambda_from_slope(lambda n, f, m: np.polyfit(n, f + (m - 1) * np.log(np.log(n)), 1)[0])
    assert not against_n.passed and "not against n" in against_n.message
    assert not check_lambda_from_slope(lambda n, f, m: f[-1] / np.log(n[-1])).passed  # F/log n is not a slope


def test_slope_check_handles_unfinished_and_broken_answers():
    unfinished = check_lambda_from_slope(stub)
    assert not unfinished.passed and "NotImplementedError" in unfinished.message
    assert not check_lambda_from_slope(lambda n, f, m: "a quarter").passed
    assert not check_lambda_from_slope(lambda n, f, m: math.nan).passed


# --- the crossover n* ------------------------------------------------------------------------------------


def crossover_solution(dl, dlam, dc):  # independent of utils.bayes_exact.crossover_n: bracketing
    def g(log_n):
        return math.exp(log_n) * dl - dlam * log_n - dc

    lo = math.log(dlam / dl)
    return math.exp(optimize.brentq(g, lo, lo + 60, xtol=1e-14))


def smaller_root(dl, dlam, dc):
    def g(log_n):
        return math.exp(log_n) * dl - dlam * log_n - dc

    return math.exp(optimize.brentq(g, -60, math.log(dlam / dl), xtol=1e-14))


def test_crossover_check_accepts_the_largest_root():
    result = check_crossover_n(crossover_solution)
    assert result.passed and str(result).startswith("Correct!")


def test_crossover_check_rejects_typical_mistakes_with_hints():
    small = check_crossover_n(smaller_root)
    assert not small.passed and "smaller root" in small.message
    no_const = check_crossover_n(lambda dl, dlam, dc: crossover_solution(dl, dlam, 0.0))
    assert not no_const.passed and "not 0" in no_const.message
    negative = check_crossover_n(lambda dl, dlam, dc: -1.0)
    assert not negative.passed and "positive" in negative.message
    assert not check_crossover_n(stub).passed
    assert not check_crossover_n(lambda *a: [1, 2]).passed


def test_graded_table_names_the_exercise_functions():
    assert GRADED["ch08-ex-slope"].function == "my_lambda_from_slope"
    assert GRADED["ch08-ex-crossover"].function == "my_crossover_n"
    assert GRADED["ch08-ex-slope"].check(slope_solution).passed
    assert GRADED["ch08-ex-crossover"].check(crossover_solution).passed
