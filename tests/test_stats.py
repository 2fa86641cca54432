"""utils.stats against closed forms: the standard error of a mean, the jackknife variance of a mean
(exactly s^2/n) and of a ratio (the delta method), the bootstrap's s/sqrt(n), and the formatter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from utils.mcmc import binned_error
from utils.stats import Estimate, bootstrap, format_pm, jackknife, seed_mean


def test_seed_mean_is_the_mean_and_its_standard_error() -> None:
    est = seed_mean([1.0, 2.0, 3.0, 4.0])
    # s^2 = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, SE = sqrt(5/3 / 4)
    assert est.value == 2.5
    assert est.error == pytest.approx(math.sqrt(5 / 12), rel=1e-14)
    assert isinstance(est.value, float) and isinstance(est.error, float)


def test_seed_mean_along_any_axis() -> None:
    rng = np.random.default_rng(1)
    runs = rng.normal(size=(5, 3))  # 5 steps x 3 seeds
    est = seed_mean(runs, axis=1)
    assert est.value.shape == (5,)
    np.testing.assert_allclose(est.value, runs.mean(axis=1))
    np.testing.assert_allclose(est.error, runs.std(axis=1, ddof=1) / math.sqrt(3))
    np.testing.assert_allclose(seed_mean(runs.T).error, est.error)


def test_seed_mean_reads_tensors() -> None:
    torch = pytest.importorskip("torch")
    est = seed_mean(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert est.value == 2.5


def test_jackknife_of_the_mean_is_exactly_s2_over_n() -> None:
    x = np.random.default_rng(2).exponential(size=37)
    est = jackknife(x, np.mean)
    assert est.value == pytest.approx(x.mean(), rel=1e-14)
    assert est.error**2 == pytest.approx(x.var(ddof=1) / x.size, rel=1e-12)


def test_jackknife_of_block_means_is_the_binned_error() -> None:
    # a correlated AR(1) series: leaving out one of 20 consecutive blocks gives the binned error bar
    rng = np.random.default_rng(3)
    x = np.zeros(4000)
    for t in range(1, x.size):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    est = jackknife(x, np.mean, num_blocks=20)
    assert est.error == pytest.approx(binned_error(x, num_bins=20), rel=1e-10)


def test_jackknife_of_a_ratio_matches_the_delta_method() -> None:
    rng = np.random.default_rng(4)
    n = 5000
    y = 2.0 + rng.normal(size=n)
    x = 1.0 + 0.5 * y + rng.normal(size=n)
    pairs = np.stack([x, y], axis=1)
    est = jackknife(pairs, lambda b: b[:, 0].mean() / b[:, 1].mean())
    mx, my = x.mean(), y.mean()
    cov = np.cov(x, y)
    # Var(mx/my) ~ (var x / my^2 - 2 mx cov / my^3 + mx^2 var y / my^4) / n
    delta = (cov[0, 0] / my**2 - 2 * mx * cov[0, 1] / my**3 + mx**2 * cov[1, 1] / my**4) / n
    assert est.value == pytest.approx(mx / my, rel=1e-12)
    assert est.error == pytest.approx(math.sqrt(delta), rel=1e-3)


def test_jackknife_bias_correction_removes_the_1_over_n_bias() -> None:
    # the plug-in variance (ddof 0) has bias -sigma^2/n; the jackknife correction gives ddof 1 exactly
    x = np.random.default_rng(5).normal(size=15)
    est = jackknife(x, np.var, bias_correct=True)
    assert est.value == pytest.approx(x.var(ddof=1), rel=1e-12)


def test_bootstrap_standard_error_of_a_mean() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=400)
    num_resamples = 4000
    est = bootstrap(x, np.mean, num_resamples=num_resamples, seed=1)
    # the ideal bootstrap SE is the plug-in sqrt((n-1)/n) s / sqrt(n); a bootstrap of B resamples
    # estimates it with a relative Monte Carlo error of about 1/sqrt(2 B) (normal data)
    ideal = math.sqrt((x.size - 1) / x.size) * x.std(ddof=1) / math.sqrt(x.size)
    mc = 1 / math.sqrt(2 * num_resamples)
    assert est.value == x.mean()
    assert abs(est.error / ideal - 1) < 4 * mc


def test_bootstrap_is_seeded() -> None:
    x = np.random.default_rng(7).normal(size=50)
    a = bootstrap(x, np.median, num_resamples=200, seed=3)
    b = bootstrap(x, np.median, num_resamples=200, seed=3)
    c = bootstrap(x, np.median, num_resamples=200, seed=4)
    assert a == b
    assert a.error != c.error


def test_bootstrap_of_a_vector_statistic() -> None:
    x = np.random.default_rng(8).normal(size=(100, 3))
    est = bootstrap(x, lambda d: d.mean(axis=0), num_resamples=100)
    assert est.value.shape == est.error.shape == (3,)


@pytest.mark.parametrize(
    ("value", "error", "shown"),
    [
        (0.28349, 0.0021, "0.2835 ± 0.0021"),
        (0.28349, 0.0042, "0.283 ± 0.004"),
        (9.191, 0.187, "9.19 ± 0.19"),
        (2.1665, 0.0012, "2.1665 ± 0.0012"),
        (1.0, 0.096, "1.00 ± 0.10"),  # 0.096 rounds to 0.1, whose first digit is 1
        (5.0, 0.96, "5.0 ± 1.0"),
        (1234.5, 23.4, "1234 ± 23"),
        (1234.5, 567.0, "1200 ± 600"),
        (-0.0004, 0.01, "0.000 ± 0.010"),
        (-3.14159, 0.05, "-3.14 ± 0.05"),
        (2.0, 0.0, "2 ± 0"),
    ],
)
def test_format_pm(value: float, error: float, shown: str) -> None:
    assert format_pm(value, error) == shown


def test_format_pm_with_fixed_digits_and_estimate_str() -> None:
    assert format_pm(1.0, 0.096, error_digits=1) == "1.0 ± 0.1"
    assert format_pm(0.2835, 0.0042, error_digits=2) == "0.2835 ± 0.0042"
    assert str(Estimate(0.28349, 0.0042)) == "0.283 ± 0.004"
    assert str(Estimate(np.array([1.0, 2.0]), np.array([0.5, 0.25]))) == "[1.0 ± 0.5, 2.00 ± 0.25]"


def test_bad_arguments_name_the_argument() -> None:
    with pytest.raises(ValueError, match="results must hold at least 2 seeds"):
        seed_mean([1.0])
    with pytest.raises(ValueError, match="results must be finite"):
        seed_mean([1.0, np.nan])
    with pytest.raises(TypeError, match="statistic must be callable"):
        bootstrap([1.0, 2.0], "mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_resamples must be >= 2"):
        bootstrap([1.0, 2.0], np.mean, num_resamples=1)
    with pytest.raises(ValueError, match="data must hold at least 2 entries"):
        bootstrap([1.0], np.mean)
    with pytest.raises(ValueError, match="blocks must hold at least 2 entries"):
        jackknife([[1.0, 2.0]], np.mean)
    with pytest.raises(ValueError, match="num_blocks must be <= 3"):
        jackknife([1.0, 2.0, 3.0], np.mean, num_blocks=4)
    with pytest.raises(ValueError, match="statistic returned a non-finite value"):
        jackknife([1.0, 2.0, 3.0], lambda b: np.inf * b.min())
    with pytest.raises(ValueError, match="error must be >= 0"):
        format_pm(1.0, -0.1)
    with pytest.raises(ValueError, match="error_digits must be <= 2"):
        format_pm(1.0, 0.1, error_digits=3)
