"""utils.fss, utils.mcmc's tau_int error and utils.ising.correlation_function against exact answers."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.signal import lfilter

from utils import fss, ising, ising_field, mcmc


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
    # the p-value of a correct model is uniform on [0, 1]
    p = np.array([f.p_value for f in fits])
    assert (
        fits[0].dof == 3
        and np.mean(p) == pytest.approx(0.5, abs=0.03)
        and np.mean(p < 0.05) == pytest.approx(0.05, abs=0.015)
    )
    assert fits[0].z_score(1.75) == pytest.approx((fits[0].slope - 1.75) / fits[0].slope_err)
    with pytest.raises(ValueError, match=r"^y must be > 0"):
        fss.power_law_fit(L, -y, y)
    with pytest.raises(ValueError, match=r"^x, y and y_err must be 1-D arrays of one length >= 3"):
        fss.power_law_fit(L[:2], y[:2], y[:2])


def test_linear_fit_errors_and_goodness_of_fit() -> None:
    x = np.array([1.0, 2, 3, 4, 5, 6])
    exact = fss.linear_fit(x, 1.5 - 0.5 * x, np.full(6, 0.1))
    assert (exact.slope, exact.intercept) == pytest.approx((-0.5, 1.5)) and exact.chi2 < 1e-20
    assert exact.p_value == pytest.approx(1.0) and exact.dof == 4
    rng = np.random.default_rng(3)
    err = 0.1 * (1 + x / 3)  # unequal error bars
    fits = [fss.linear_fit(x, 1.5 - 0.5 * x + err * rng.normal(size=6), err) for _ in range(3000)]
    slopes, intercepts = np.array([(f.slope, f.intercept) for f in fits]).T
    assert np.std(slopes) == pytest.approx(fits[0].slope_err, rel=0.05)
    assert np.std(intercepts) == pytest.approx(fits[0].intercept_err, rel=0.05)
    assert np.mean([f.p_value < 0.05 for f in fits]) == pytest.approx(0.05, abs=0.012)
    # a wrong model (a parabola fitted by a line) is rejected
    bad = fss.linear_fit(x, 0.2 * x**2, np.full(6, 0.05))
    assert bad.p_value < 1e-10
    assert fss.linear_fit(x[:2], x[:2], x[:2]).p_value == 1.0
    # a fixed (predicted) slope: only the intercept is fitted; the true slope passes, a wrong one fails
    y = 1.5 - 0.5 * x + 0.1 * rng.normal(size=6)
    fixed = fss.linear_fit(x, y, np.full(6, 0.1), slope=-0.5)
    assert fixed.dof == 5 and fixed.slope == -0.5 and fixed.slope_err == 0
    assert fixed.intercept == pytest.approx(np.mean(y + 0.5 * x)) and fixed.intercept_err == pytest.approx(0.1 / 6**0.5)
    assert fixed.p_value > 1e-3 and fss.linear_fit(x, y, np.full(6, 0.1), slope=-0.3).p_value < 1e-10
    with pytest.raises(ValueError, match=r"^x must not be constant"):
        fss.linear_fit(np.ones(3), x[:3], x[:3])
    with pytest.raises(ValueError, match=r"^y_err must be > 0"):
        fss.linear_fit(x, x, 0 * x)


@functools.cache
def _density_of_states_4x4() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ising_field._density_of_states(4)


def _exact_4x4(beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m per spin, total energy, probability) of every (M, E) class of the periodic 4 x 4 lattice."""
    M, B, counts = _density_of_states_4x4()
    logp = np.log(counts) + beta * B
    p = np.exp(logp - logp.max())
    return M / 16, -B.astype(float), p / p.sum()


def _exact_binder(beta: float) -> float:
    m, _, p = _exact_4x4(beta)
    return 1 - p @ m**4 / (3 * (p @ m**2) ** 2)


def test_reweighting_matches_exact_enumeration_of_4x4() -> None:
    # iid samples of the exact 4 x 4 Boltzmann distribution at beta0, reweighted to nearby beta
    beta0 = 1 / 2.3
    m, E, p = _exact_4x4(beta0)
    rng = np.random.default_rng(4)
    pick = rng.choice(p.size, size=200_000, p=p)
    ms, Es = np.abs(m[pick]), E[pick]
    betas = beta0 + np.array([-0.05, 0.0, 0.05])
    abs_m = fss.reweight(ms, Es, betas, beta0)
    U = fss.reweighted_binder(ms, Es, betas, beta0)
    for k, b in enumerate(betas):
        mb, _, pb = _exact_4x4(b)
        assert abs_m[k] == pytest.approx(pb @ np.abs(mb), abs=0.003)
        assert U[k] == pytest.approx(_exact_binder(b), abs=0.004)
    assert fss.reweight(ms, Es, beta0, beta0) == pytest.approx(ms.mean())
    ess = fss.reweighting_ess(Es, betas, beta0)
    assert ess[1] == pytest.approx(ms.size) and ess[0] < ms.size and ess[2] < ms.size
    # dU4/dbeta: the exact derivative (central difference of the exact U4), and the fluctuation formula
    h = 1e-5
    exact_slope = (_exact_binder(beta0 + h) - _exact_binder(beta0 - h)) / (2 * h)
    assert fss.binder_slope(ms, Es) == pytest.approx(exact_slope, rel=0.03)
    # the fluctuation formula is the derivative of the reweighted curve, exactly, for any samples
    curve = fss.reweighted_binder(ms, Es, beta0 + np.array([-h, h]), beta0)
    assert fss.binder_slope(ms, Es) == pytest.approx((curve[1] - curve[0]) / (2 * h), rel=1e-6)


def test_reweighting_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^x must have the samples along its last axis, 3 of them"):
        fss.reweight(np.ones(4), np.ones(3), 0.5, 0.4)
    with pytest.raises(ValueError, match=r"^energy must be a 1-D array"):
        fss.reweight(np.ones(3), np.ones((3, 1)), 0.5, 0.4)
    with pytest.raises(ValueError, match=r"^beta0 must be > 0"):
        fss.reweighting_ess(np.ones(3), 0.5, -1.0)
    with pytest.raises(ValueError, match=r"^m and energy must be 1-D arrays of one length"):
        fss.binder_slope(np.ones(3), np.ones(4))


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
