"""Chapter 11's checks accept right answers and reject typical wrong ones with a hint."""

from __future__ import annotations

import numpy as np

from utils.exercises import ch11
from utils.exercises.ch11 import check_lookup_lambda, check_multiplicity, check_perturbed_loss
from utils.slt import learning_coefficient_normal_crossing


def test_lookup_lambda() -> None:
    assert check_lookup_lambda(lambda d, queried: len(set(queried)) / 2)
    res = check_lookup_lambda(lambda d, queried: d / 2)
    assert not res and "unused ones" in res.message
    res = check_lookup_lambda(lambda d, queried: len(queried) / 2)
    assert not res and "distinct" in res.message
    res = check_lookup_lambda(lambda d, queried: float(len(set(queried))))
    assert not res and "1/2" in res.message


def test_perturbed_loss_against_monte_carlo() -> None:
    # the right answer, computed independently by Monte Carlo over many perturbations
    z = np.random.default_rng(0).normal(size=(400_000, 2))

    def monte_carlo(w1: float, w2: float, sigma: float) -> float:
        w = np.array([w1, w2]) + sigma * z
        return float(np.mean(0.5 * (1 - w[:, 0]) ** 2 * (1 - w[:, 1]) ** 2))

    for w1, w2, s in [(1.0, 1.0, 0.3), (1.0, 0.0, 0.2), (0.5, 0.2, 0.3)]:
        want = ch11._exact_perturbed(w1, w2, s)
        assert abs(monte_carlo(w1, w2, s) - want) < 0.02 * want + 1e-6
    assert check_perturbed_loss(lambda w1, w2, s: 0.5 * ((1 - w1) ** 2 + s * s) * ((1 - w2) ** 2 + s * s))
    res = check_perturbed_loss(lambda w1, w2, s: 0.5 * (1 - w1) ** 2 * (1 - w2) ** 2)
    assert not res and "without the perturbation" in res.message
    res = check_perturbed_loss(lambda w1, w2, s: ((1 - w1) ** 2 + s * s) * ((1 - w2) ** 2 + s * s))
    assert not res and "1/2" in res.message


def test_multiplicity() -> None:
    def right(powers):
        lam = learning_coefficient_normal_crossing(powers)  # the tested utils value
        return lam, sum(1 for k in powers if k > 0 and 1 / (2 * k) == lam)

    assert check_multiplicity(right)
    res = check_multiplicity(lambda p: (sum(1 / (2 * k) for k in p if k > 0), 1))
    assert not res and "do not add" in res.message
    res = check_multiplicity(lambda p: (learning_coefficient_normal_crossing(p), 1))
    assert not res and "attain the minimum" in res.message
    res = check_multiplicity(lambda p: (learning_coefficient_normal_crossing(p), len(p)))
    assert not res and "your m" in res.message


def test_stubs_fail() -> None:
    def stub(*args):
        raise NotImplementedError

    for graded in ch11.GRADED.values():
        res = graded.check(stub)
        assert not res and "NotImplementedError" in res.message
