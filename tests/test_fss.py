"""utils.fss, utils.mcmc's tau_int error and utils.ising.correlation_function against exact answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from utils import fss, ising, mcmc


def test_crossing_of_two_lines_is_exact() -> None:
    x = np.linspace(0.0, 1.0, 11)
    a, b = 2 * x, 0.5 + x  # cross at x = 0.5, value 1
    assert fss.crossing(x, a, b) == pytest.approx((0.5, 1.0))
    a2, b2 = 1 - x, 0.33 + 0 * x  # cross at x = 0.67 inside a grid interval
    assert fss.crossing(x, a2, b2) == pytest.approx((0.67, 0.33))
    with pytest.raises(ValueError, match=r"^a and b must cross"):
        fss.crossing(x, a, a + 1)
    with pytest.raises(ValueError, match=r"^x, a and b must be 1-D arrays of one length"):
        fss.crossing(x, a[:5], b)


def test_power_law_fit_recovers_exponent_and_its_error() -> None:
    L = np.array([8.0, 16, 32, 64, 128])
    exact = fss.power_law_fit(L, 3 * L**1.75, 0.01 * L**1.75)
    assert exact.slope == pytest.approx(1.75) and exact.amplitude == pytest.approx(3.0) and exact.chi2 < 1e-20
    # 1% errors: the spread of the fitted slope over noisy copies matches slope_err
    rng = np.random.default_rng(0)
    y = 3 * L**1.75
    fits = [fss.power_law_fit(L, y * (1 + 0.01 * rng.normal(size=L.size)), 0.01 * y) for _ in range(2000)]
    slopes = np.array([f.slope for f in fits])
    assert np.std(slopes) == pytest.approx(fits[0].slope_err, rel=0.1)
    assert np.mean([f.chi2 for f in fits]) == pytest.approx(L.size - 2, rel=0.1)
    assert fits[0].z_score(1.75) == pytest.approx((fits[0].slope - 1.75) / fits[0].slope_err)
    with pytest.raises(ValueError, match=r"^y must be > 0"):
        fss.power_law_fit(L, -y, y)
    with pytest.raises(ValueError, match=r"^x, y and y_err must be 1-D arrays of one length >= 3"):
        fss.power_law_fit(L[:2], y[:2], y[:2])


def test_tau_int_error_matches_spread_over_independent_chains() -> None:
    rho = 0.9  # AR(1): tau_int = (1 + rho) / (2 (1 - rho)) = 9.5
    rng = np.random.default_rng(1)
    runs = [
        mcmc.integrated_autocorrelation_time_error(lfilter([1.0], [1.0, -rho], rng.normal(size=20_000)))
        for _ in range(200)
    ]
    taus, errs = np.array(runs).T
    assert np.mean(taus) == pytest.approx(9.5, rel=0.05)
    # Sokal's formula is an approximation: on AR(1) chains it is ~25% conservative, never too small
    assert np.std(taus) < np.mean(errs) < 1.5 * np.std(taus)
    x = lfilter([1.0], [1.0, -rho], rng.normal(size=5000))
    assert mcmc.integrated_autocorrelation_time_error(x)[0] == pytest.approx(mcmc.integrated_autocorrelation_time(x))


def test_correlation_function_of_hand_made_configurations() -> None:
    L = 8
    i, j = np.indices((L, L))
    up = np.ones((L, L), dtype=np.int8)
    checker = np.where((i + j) % 2 == 0, 1, -1).astype(np.int8)
    stripes = np.where(j % 2 == 0, 1, -1).astype(np.int8)  # alternate along j, constant along i
    np.testing.assert_allclose(ising.correlation_function(up), np.ones(5))
    np.testing.assert_allclose(ising.correlation_function(checker), [1, -1, 1, -1, 1])
    np.testing.assert_allclose(ising.correlation_function(stripes), [1, 0, 1, 0, 1])
    # a batch and a brute-force loop over sites agree
    s = np.random.default_rng(2).choice(np.array([-1, 1], dtype=np.int8), size=(3, 6, 6))
    brute = [
        [
            np.mean(
                [(x[a, b] * x[a, (b + r) % 6] + x[a, b] * x[(a + r) % 6, b]) / 2 for a in range(6) for b in range(6)]
            )
            for r in range(4)
        ]
        for x in s
    ]
    np.testing.assert_allclose(ising.correlation_function(s), brute, atol=1e-12)
    assert ising.correlation_function(s).shape == (3, 4)
