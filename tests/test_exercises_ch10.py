"""Chapter 10's checks accept right answers (built from utils) and reject typical wrong ones with a hint."""

from __future__ import annotations

import numpy as np

from utils import tms
from utils.exercises import ch10
from utils.exercises.ch10 import check_hutchinson, check_interval_loss, check_min_localization, check_unused_bias


def right_interval(a: float, b: float, delta: float) -> float:
    return float(tms._interval_loss(np.array(a), np.array(b), np.array(delta), np))


def test_interval_loss() -> None:
    assert check_interval_loss(right_interval)
    wrong = lambda a, b, d: right_interval(a, b, 0.0) if d == 1.0 else right_interval(a, b, d)  # noqa: E731
    assert not check_interval_loss(wrong)

    def on_only(a: float, b: float, d: float) -> float:  # the slip: drop int delta t^2 where the ReLU is off
        root = min(max(-b / a, 0.0), 1.0) if a else 0.0
        lo, hi = (root, 1.0) if a > 0 else (0.0, root) if a < 0 else (0.0, 1.0 if b > 0 else 0.0)
        return right_interval(a, b, d) - d * (1 - hi**3 + lo**3) / 3

    res = check_interval_loss(on_only)
    assert not res and "target is still" in res.message
    res = check_interval_loss(lambda a, b, d: (_ for _ in ()).throw(NotImplementedError))
    assert not res and "NotImplementedError" in res.message


def test_unused_bias() -> None:
    assert check_unused_bias(lambda c: 1 / (2 * c))
    res = check_unused_bias(lambda c: 0.5)
    assert not res and "other c - 1 inputs" in res.message
    res = check_unused_bias(lambda c: 1 / c)
    assert not res and "Differentiate" in res.message


def hutchinson(matvec, d, num_samples, seed):
    rng = np.random.default_rng(seed)
    v = rng.choice([-1.0, 1.0], size=(num_samples, d))
    return float(np.mean([x @ matvec(x) for x in v]))


def test_hutchinson() -> None:
    assert check_hutchinson(hutchinson)

    def gaussian(matvec, d, num_samples, seed):
        v = np.random.default_rng(seed).normal(size=(num_samples, d))
        return float(np.mean([x @ matvec(x) for x in v]))

    res = check_hutchinson(gaussian)
    assert not res and "+-1" in res.message

    def unseeded(matvec, d, num_samples, seed):
        return hutchinson(matvec, d, num_samples, np.random.default_rng().integers(1 << 30))

    res = check_hutchinson(unseeded)
    assert not res and "same seed" in res.message
    assert not check_hutchinson(lambda matvec, d, m, seed: hutchinson(matvec, d, m, seed) + 1.0)


def test_min_localization() -> None:
    right = lambda H, nb: nb * max(0.0, -float(np.linalg.eigvalsh(H).min()))  # noqa: E731
    assert check_min_localization(right)
    res = check_min_localization(lambda H, nb: max(0.0, -float(np.linalg.eigvalsh(H).min())))
    assert not res and "nbeta" in res.message
    res = check_min_localization(lambda H, nb: -nb * float(np.linalg.eigvalsh(H).min()))
    assert not res and "return 0" in res.message


def test_graded_table_names_the_stub_functions() -> None:
    assert set(ch10.GRADED) == {
        "ch10-ex-interval-loss",
        "ch10-ex-unused-bias",
        "ch10-ex-hutchinson",
        "ch10-ex-min-localization",
    }
    assert [g.function for g in ch10.GRADED.values()] == [
        "my_interval_loss",
        "my_unused_bias",
        "my_hutchinson",
        "my_min_localization",
    ]
