"""utils.ising against exact results: Onsager/Yang, series expansions, exact enumeration, hand-made configs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.signal import lfilter

from utils import _ising_multispin, ising, ising_exact, mcmc

# ------------------------------------------------------------------------------------------------
# Exact formulas, checked against independent facts
# ------------------------------------------------------------------------------------------------


def test_critical_temperature_is_self_dual_point() -> None:
    # Kramers-Wannier duality: sinh(2 / T_c) = 1.
    assert math.sinh(2 / ising_exact.T_C) == pytest.approx(1.0, rel=1e-14)


def test_onsager_energy_at_tc_is_minus_sqrt2() -> None:
    assert ising_exact.onsager_energy(ising_exact.T_C) == pytest.approx(-math.sqrt(2), abs=1e-9)
    # continuous through T_c (the elliptic integral diverges, its prefactor vanishes)
    for eps in (1e-3, 1e-6):
        assert ising_exact.onsager_energy(ising_exact.T_C * (1 - eps)) == pytest.approx(-math.sqrt(2), abs=20 * eps)
        assert ising_exact.onsager_energy(ising_exact.T_C * (1 + eps)) == pytest.approx(-math.sqrt(2), abs=20 * eps)


def test_onsager_energy_high_temperature_series() -> None:
    # ln Z / N = ln 2 + 2 ln cosh(b) + t^4 + 2 t^6 + ...  =>  u = -2t - 4t^3 - 8t^5 + O(t^7), t = tanh(1/T)
    for T in (30.0, 100.0):
        t = math.tanh(1 / T)
        u = ising_exact.onsager_energy(T)
        assert (u + 2 * t + 4 * t**3) / t**5 == pytest.approx(-8.0, abs=0.05)


def test_onsager_low_temperature_series() -> None:
    # one flipped spin costs dE = 8:  u = -2 + 8 e^{-8b},  M = 1 - 2 e^{-8b},  c = 64 b^2 e^{-8b}  (+ O(e^{-12b}))
    T = 0.5
    x = math.exp(-8 / T)
    assert (ising_exact.onsager_energy(T) + 2) / (8 * x) == pytest.approx(1.0, abs=0.003)
    assert (1 - ising_exact.onsager_magnetization(T)) / (2 * x) == pytest.approx(1.0, abs=0.003)
    assert ising_exact.onsager_specific_heat(T) / (64 * x / T**2) == pytest.approx(1.0, abs=0.003)
    assert ising_exact.onsager_energy(0.05) == pytest.approx(-2.0, abs=1e-12)
    assert ising_exact.onsager_magnetization(0.05) == pytest.approx(1.0, abs=1e-12)


def test_onsager_magnetization_vanishes_above_tc_and_has_beta_one_eighth() -> None:
    T = np.array([ising_exact.T_C, 2.5, 3.0, 10.0])
    assert np.all(ising_exact.onsager_magnetization(T) == 0)
    t = np.logspace(-7, -4, 12)  # reduced temperature 1 - T / T_c
    M = ising_exact.onsager_magnetization(ising_exact.T_C * (1 - t))
    slope = np.polyfit(np.log(t), np.log(M), 1)[0]
    assert slope == pytest.approx(ising_exact.EXPONENTS["beta"], abs=2e-4)


def test_exponents_obey_the_scaling_relations() -> None:
    # Independent facts: beta is the slope of Yang's M (above); alpha = 0 (c diverges like a log,
    # below); the four scaling relations then fix the rest in d = 2.
    x = ising_exact.EXPONENTS
    assert x["alpha"] + 2 * x["beta"] + x["gamma"] == pytest.approx(2.0)  # Rushbrooke
    assert x["gamma"] == pytest.approx(x["beta"] * (x["delta"] - 1))  # Widom
    assert x["gamma"] == pytest.approx(x["nu"] * (2 - x["eta"]))  # Fisher
    assert 2 * x["nu"] == pytest.approx(2 - x["alpha"])  # Josephson (hyperscaling), d = 2
    assert set(x) == {"alpha", "beta", "gamma", "delta", "nu", "eta"}


def test_onsager_specific_heat_is_derivative_of_energy() -> None:
    T = np.array([0.8, 1.5, 2.0, 2.2, 2.3, 2.6, 4.0])
    h = 1e-5
    numeric = (ising_exact.onsager_energy(T + h) - ising_exact.onsager_energy(T - h)) / (2 * h)
    np.testing.assert_allclose(ising_exact.onsager_specific_heat(T), numeric, rtol=1e-6)


def test_onsager_specific_heat_log_divergence_amplitude() -> None:
    # c ~ -(8/pi) b_c^2 ln|1 - T/T_c| on both sides of T_c (Onsager 1944)
    amplitude = 8 / math.pi / ising_exact.T_C**2
    for sign in (-1, 1):
        c_near = ising_exact.onsager_specific_heat(ising_exact.T_C * (1 + sign * 1e-7))
        c_far = ising_exact.onsager_specific_heat(ising_exact.T_C * (1 + sign * 1e-5))
        assert (c_near - c_far) / math.log(1e2) == pytest.approx(amplitude, rel=2e-3)
    assert ising_exact.onsager_specific_heat(ising_exact.T_C) == math.inf
    # a logarithm, not a power law |t|^-alpha (whose slope against ln|t| would grow 10^alpha-fold
    # per decade): the same slope over three decades, so the exponent alpha is 0
    t = np.logspace(-6, -3, 4)
    slopes = np.diff(ising_exact.onsager_specific_heat(ising_exact.T_C * (1 - t))) / np.diff(np.log(t))
    assert slopes == pytest.approx(np.full(3, slopes[0]), rel=1e-3)
    assert 10 ** (3 * ising_exact.EXPONENTS["alpha"]) == pytest.approx(slopes[0] / slopes[-1], rel=1e-3)


EXACT = (
    ising_exact.onsager_energy,
    ising_exact.onsager_magnetization,
    ising_exact.onsager_specific_heat,
    lambda T: ising_exact.finite_lattice_energy(4, T),
    ising_exact.surface_tension,
    ising_exact.nucleation_barrier,
)


@pytest.mark.parametrize("fn", EXACT)
def test_exact_functions_give_float_for_scalar_and_array_for_array(fn) -> None:
    out = fn(np.array([1.0, 2.0]))
    assert isinstance(out, np.ndarray) and out.shape == (2,)
    assert type(fn(1.0)) is float and type(fn(np.float64(1.0))) is float and type(fn(2)) is float


@pytest.mark.parametrize("fn", EXACT)
@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (0.0, ValueError, r"^T must be > 0"),
        (-1.0, ValueError, r"^T must be > 0"),
        ([1.0, -1.0], ValueError, r"^T must be > 0"),
        (float("nan"), ValueError, r"^T must be finite"),
        ("a", TypeError, r"^T must be a real number"),
        (None, TypeError, r"^T must be a real number"),
        (1j, TypeError, r"^T must be a real number"),
    ],
)
def test_exact_functions_reject_bad_T(fn, bad, error, match) -> None:
    with pytest.raises(error, match=match):
        fn(bad)


# ------------------------------------------------------------------------------------------------
# Interfaces and the nucleation barrier, against independent exact facts
# ------------------------------------------------------------------------------------------------


def _wulff_polygon_area(T: float, num: int) -> float:
    """The Wulff construction from tau alone: the polygon cut out by the half-planes r.n <= tau(n)."""
    theta = 2 * np.pi * np.arange(num) / num
    tau = ising_exact.surface_tension(T, theta)
    c, s = np.cos(theta), np.sin(theta)
    c2, s2, tau2 = np.roll(c, -1), np.roll(s, -1), np.roll(tau, -1)
    det = c * s2 - s * c2  # consecutive support lines meet at the polygon's vertices
    x = (tau * s2 - tau2 * s) / det
    y = (c * tau2 - c2 * tau) / det
    return float(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def test_surface_tension_on_the_axis_and_the_diagonal() -> None:
    # Onsager (1944): tau(0) = 2 + T ln tanh(1/T); the diagonal interface: tau(pi/4) = sqrt 2 T ln sinh(2/T)
    T = np.array([0.5, 1.0, 1.5, 2.0, 2.25])
    np.testing.assert_allclose(ising_exact.surface_tension(T), 2 + T * np.log(np.tanh(1 / T)), rtol=1e-12)
    np.testing.assert_allclose(
        ising_exact.surface_tension(T, np.pi / 4), math.sqrt(2) * T * np.log(np.sinh(2 / T)), rtol=1e-10
    )
    # the square's symmetry, and zero at and above T_c
    theta = np.linspace(0, np.pi / 4, 7)
    for image in (-theta, np.pi / 2 - theta, np.pi + theta):
        np.testing.assert_allclose(ising_exact.surface_tension(1.7, image), ising_exact.surface_tension(1.7, theta))
    assert ising_exact.surface_tension(ising_exact.T_C, 0.3) == 0.0
    assert ising_exact.surface_tension(3.0) == 0.0
    # at T -> 0 an interface costs its broken bonds, 2 J each: 2 (|cos| + |sin|) per unit length
    theta = np.array([0.0, 0.4, np.pi / 4])
    low = ising_exact.surface_tension(0.005, theta)
    np.testing.assert_allclose(low, 2 * (np.cos(theta) + np.sin(theta)), atol=0.01)


@pytest.mark.parametrize("T", [0.7, 1.3, 1.9, 2.15])
def test_nucleation_barrier_is_the_wulff_construction_of_the_surface_tension(T: float) -> None:
    # Held-out temperatures; the polygon of 20000 support lines converges to the Wulff shape as 1/N^2.
    # And the closed-form shape cosh(x/T) + cosh(y/T) = cosh(2/T) coth(2/T) (Rottman & Wortis 1981).
    M = ising_exact.onsager_magnetization(T)
    xi = ising_exact.nucleation_barrier(T)
    assert xi == pytest.approx(_wulff_polygon_area(T, 20_000) / (2 * M), rel=1e-7)
    A = math.cosh(2 / T) / math.tanh(2 / T)
    half_width, _ = integrate.quad(lambda u: math.acosh(max(A - math.cosh(u), 1.0)), 0, math.acosh(A - 1))
    assert xi == pytest.approx(4 * T * T * half_width / (2 * M), rel=1e-8)


def test_nucleation_barrier_low_temperature_square_droplet() -> None:
    # T -> 0: a square droplet of side l costs 8 l - 2 |h| l^2, maximal 8 / |h| at l = 2 / |h|: Xi = 8.
    # Its corners are rounded by step entropy: area 4 (2/T)^2 - 4 pi^2/6 in units of T^2, so
    # Xi = 8 - pi^2 T^2 / 3 up to corrections exponentially small in 1/T.
    for T in (0.05, 0.1, 0.2):
        assert ising_exact.nucleation_barrier(T) == pytest.approx(8 - math.pi**2 * T**2 / 3, abs=1e-8)
    assert ising_exact.nucleation_barrier(0.01) == pytest.approx(8.0, abs=1e-3)


def test_nucleation_barrier_near_tc_is_a_round_droplet_and_vanishes() -> None:
    # Near T_c the tension becomes isotropic: W -> a disc of radius tau(0), Xi -> pi tau0^2 / (2 M),
    # and Xi ~ (T_c - T)^(2 nu - beta) = (T_c - T)^(15/8).
    for t in (1e-3, 1e-4):
        T = ising_exact.T_C * (1 - t)
        round_drop = math.pi * ising_exact.surface_tension(T) ** 2 / (2 * ising_exact.onsager_magnetization(T))
        assert ising_exact.nucleation_barrier(T) / round_drop == pytest.approx(1.0, abs=100 * t**2)
    t = np.logspace(-5, -3, 5)
    slope = np.polyfit(np.log(t), np.log(ising_exact.nucleation_barrier(ising_exact.T_C * (1 - t))), 1)[0]
    assert slope == pytest.approx(15 / 8, abs=2e-3)
    assert np.all(ising_exact.nucleation_barrier(np.array([ising_exact.T_C, 2.5])) == 0)
    # the value issue 30's referee computed independently: Xi / T = 1.52 at T = 1.5
    assert ising_exact.nucleation_barrier(1.5) / 1.5 == pytest.approx(1.52, abs=0.005)


def test_surface_tension_rejects_bad_theta() -> None:
    with pytest.raises(ValueError, match=r"^theta must be finite"):
        ising_exact.surface_tension(1.0, float("nan"))
    with pytest.raises(TypeError, match=r"^theta must be a real number"):
        ising_exact.surface_tension(1.0, "x")


# ------------------------------------------------------------------------------------------------
# Observables on hand-made configurations
# ------------------------------------------------------------------------------------------------

L = 8
UP = np.ones((L, L), dtype=np.int8)
I, J = np.indices((L, L))
CHECKER = np.where((I + J) % 2 == 0, 1, -1).astype(np.int8)
STRIPES = np.where(J % 2 == 0, 1, -1).astype(np.int8)  # columns alternate
ONE_FLIPPED = UP.copy()
ONE_FLIPPED[3, 5] = -1


def test_energy_and_magnetization_of_hand_made_configs() -> None:
    configs = np.stack([UP, -UP, CHECKER, STRIPES, ONE_FLIPPED])
    np.testing.assert_allclose(ising.energy(configs), [-2, -2, 2, 0, -2 + 8 / L**2])
    np.testing.assert_allclose(ising.magnetization(configs), [1, 1, 0, 0, 1 - 2 / L**2])
    assert ising.energy(UP) == -2.0 and type(ising.energy(UP)) is float  # one configuration: a float
    assert ising.magnetization(ONE_FLIPPED) == 1 - 2 / L**2 and type(ising.magnetization(UP)) is float


def test_energy_counts_periodic_bonds() -> None:
    # one horizontal domain wall in the middle plus its periodic image: 2 L broken bonds
    half = np.where(I < L // 2, 1, -1).astype(np.int8)
    assert ising.energy(half) == pytest.approx(-2 + 2 * (2 * L) / L**2)


def test_block_spin_majority_and_ties() -> None:
    spins = np.array(
        [
            [1, 1, -1, -1],
            [1, -1, -1, -1],
            [-1, 1, 1, -1],  # bottom-left block: tie, top-left spin is -1
            [1, -1, -1, 1],  # bottom-right block: tie, top-left spin is +1
        ],
        dtype=np.int8,
    )
    expected = np.array([[1, -1], [-1, 1]], dtype=np.int8)
    out = ising.block_spin(spins, 2)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(ising.block_spin(-spins, 2), -expected)  # tie rule keeps the symmetry


def test_block_spin_odd_blocks_and_batches() -> None:
    rng = np.random.default_rng(1)
    spins = (2 * rng.integers(0, 2, size=(2, 3, 6, 6)) - 1).astype(np.int8)
    out = ising.block_spin(spins, b=3)
    assert out.shape == (2, 3, 2, 2)
    manual = np.sign(spins[..., :3, 3:].sum(axis=(-2, -1)))
    np.testing.assert_array_equal(out[..., 0, 1], manual)
    np.testing.assert_array_equal(ising.block_spin(UP, 4), np.ones((2, 2)))
    np.testing.assert_array_equal(ising.block_spin(CHECKER, 1), CHECKER)


# ------------------------------------------------------------------------------------------------
# Statistics helpers against known distributions
# ------------------------------------------------------------------------------------------------


def test_binder_cumulant_limits() -> None:
    rng = np.random.default_rng(0)
    assert ising.binder_cumulant(np.full(100, 0.7)) == pytest.approx(2 / 3)
    assert ising.binder_cumulant(rng.normal(size=200_000)) == pytest.approx(0.0, abs=0.02)
    # Gaussian magnetization vector in 2D: <m^4> = 2 <m^2>^2  =>  U4 = 1/3
    v = rng.normal(size=(200_000, 2))
    assert ising.binder_cumulant(np.hypot(v[:, 0], v[:, 1])) == pytest.approx(1 / 3, abs=0.02)


def test_susceptibility_and_specific_heat_formulas() -> None:
    m = np.array([[0.1, 0.3], [0.5, 0.5]])
    np.testing.assert_allclose(ising.susceptibility(m, np.array([2.0, 1.0]), 4), [16 * 0.01 / 2, 0.0])
    e = np.array([-1.0, -1.5, -1.0, -1.5])
    assert ising.specific_heat(e, 0.5, 10) == pytest.approx(100 * 0.0625 / 0.25)
    assert type(ising.specific_heat(e, 0.5, 10)) is float and type(ising.susceptibility(m[0], 2.0, 4)) is float
    for fn, x in ((ising.susceptibility, m), (ising.specific_heat, e)):
        with pytest.raises(ValueError, match=r"^T must be > 0"):
            fn(x, -1.0, 4)
        with pytest.raises(TypeError, match=r"^T must be a real number"):
            fn(x, "hot", 4)


def test_autocorrelation_time_of_ar1_process() -> None:
    # x_t = rho x_{t-1} + noise has rho(t) = rho^t and tau_int = (1 + rho) / (2 (1 - rho))
    rho = 0.8
    x = lfilter([1.0], [1.0, -rho], np.random.default_rng(3).normal(size=200_000))
    np.testing.assert_allclose(mcmc.autocorrelation(x, 3), rho ** np.arange(4), atol=0.01)
    assert mcmc.integrated_autocorrelation_time(x) == pytest.approx((1 + rho) / (2 * (1 - rho)), rel=0.05)
    iid = np.random.default_rng(4).normal(size=40_000)
    assert mcmc.integrated_autocorrelation_time(iid) == pytest.approx(0.5, abs=0.05)
    assert mcmc.binned_error(iid, 40) == pytest.approx(1 / math.sqrt(iid.size), rel=0.3)


# ------------------------------------------------------------------------------------------------
# Samplers: exact enumeration (L = 4) and Onsager/Yang (L = 32)
# ------------------------------------------------------------------------------------------------


def _exact_l4(T: float) -> dict[str, float]:
    """<e>, <|m|>, <m^2> of the 4 x 4 periodic lattice by summing all 2^16 configurations."""
    codes = np.arange(2**16, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(16)) & 1
    configs = (2 * bits - 1).reshape(-1, 4, 4)
    e = ising.energy(configs)
    m = ising.magnetization(configs)
    w = np.exp(-16 * (e - e.min()) / T)
    w /= w.sum()
    return {"e": float(w @ e), "m": float(w @ m), "m2": float(w @ m**2)}


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
@pytest.mark.parametrize("T", [1.8, 2.5])
def test_samplers_match_exact_enumeration_on_4x4(algorithm: str, T: float) -> None:
    exact = _exact_l4(T)
    obs = ising.sample_observables(4, T, num_samples=40_000, num_burnin=100, algorithm=algorithm, seed=11)
    for key, x in (("e", obs.e[0]), ("m", obs.m[0]), ("m2", obs.m[0] ** 2)):
        err = float(mcmc.binned_error(x, 40))
        assert abs(x.mean() - exact[key]) < 5 * err + 1e-4, (key, x.mean(), exact[key], err)


def test_metropolis_matches_onsager_and_yang_away_from_tc() -> None:
    # L = 32: the correlation length at T = 1.5, 2.0 and 3.5 is a few lattice spacings at most, so the
    # finite-size corrections (exponentially small in L / xi) are far below the statistical errors.
    T = np.array([1.5, 2.0, 3.5])
    obs = ising.sample_observables(32, T, num_samples=1500, num_burnin=300, seed=5)
    e_err = mcmc.binned_error(obs.e)
    m_err = mcmc.binned_error(obs.m)
    FINITE_SIZE = 2e-3
    np.testing.assert_array_less(np.abs(obs.e.mean(1) - ising_exact.onsager_energy(T)), 5 * e_err + FINITE_SIZE)
    np.testing.assert_array_less(
        np.abs(obs.m.mean(1) - ising_exact.onsager_magnetization(T))[:2], 5 * m_err[:2] + FINITE_SIZE
    )
    # above T_c, M = 0 and |m| of a finite lattice is O(sqrt(chi T) / L): small
    assert obs.m[2].mean() < 0.1


def test_metropolis_and_wolff_agree_near_tc() -> None:
    T = np.array([2.1, ising_exact.T_C, 2.5])
    a = ising.sample_observables(16, T, num_samples=3000, num_burnin=300, algorithm="metropolis", seed=1)
    b = ising.sample_observables(16, T, num_samples=3000, num_burnin=100, algorithm="wolff", seed=2)
    for x, y in ((a.e, b.e), (a.m, b.m), (a.m**2, b.m**2)):
        err = np.hypot(mcmc.binned_error(x), mcmc.binned_error(y))
        np.testing.assert_array_less(np.abs(x.mean(1) - y.mean(1)), 5 * err)
    # and both energies agree with the exact energy of the finite 16 x 16 lattice (Kaufman 1949)
    exact = ising_exact.finite_lattice_energy(16, T)
    for obs in (a, b):
        np.testing.assert_array_less(np.abs(obs.e.mean(1) - exact), 5 * mcmc.binned_error(obs.e))


@pytest.mark.parametrize("T", [0.5, 1.8, ising_exact.T_C, 2.5, 10.0])
def test_finite_lattice_energy_matches_enumeration(T: float) -> None:
    assert ising_exact.finite_lattice_energy(4, T) == pytest.approx(_exact_l4(T)["e"], abs=1e-8)


def test_finite_lattice_energy_tends_to_onsager() -> None:
    T = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ising_exact.finite_lattice_energy(256, T), ising_exact.onsager_energy(T), atol=1e-8)
    # at T_c the finite-size shift is O(1/L): L (u_L - u_inf) converges
    shift = [L * (ising_exact.finite_lattice_energy(L, ising_exact.T_C) + math.sqrt(2)) for L in (256, 1024)]
    assert shift[0] == pytest.approx(shift[1], abs=1e-3)
    assert shift[1] < 0


# ------------------------------------------------------------------------------------------------
# Shapes, determinism, errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["metropolis", "wolff"])
def test_sample_shape_values_and_determinism(algorithm: str) -> None:
    spins = ising.sample(8, [1.5, 3.0], num_samples=5, num_burnin=3, thin=2, algorithm=algorithm, seed=7)
    assert spins.shape == (2, 5, 8, 8) and spins.dtype == np.int8
    assert set(np.unique(spins)) <= {-1, 1}
    again = ising.sample(8, [1.5, 3.0], num_samples=5, num_burnin=3, thin=2, algorithm=algorithm, seed=7)
    np.testing.assert_array_equal(spins, again)
    other = ising.sample(8, [1.5, 3.0], num_samples=5, num_burnin=3, thin=2, algorithm=algorithm, seed=8)
    assert not np.array_equal(spins, other)
    # each temperature has its own stream: a chain does not depend on the rest of the batch
    alone = ising.sample(8, 1.5, num_samples=5, num_burnin=3, thin=2, algorithm=algorithm, seed=7)
    assert alone.shape == (1, 5, 8, 8)
    np.testing.assert_array_equal(alone[0], spins[0])


def test_sample_observables_equal_observables_of_samples() -> None:
    kw = dict(num_samples=6, num_burnin=2, algorithm="metropolis", seed=3, start="random")
    spins = ising.sample(8, [2.0, 2.6], **kw)
    obs = ising.sample_observables(8, [2.0, 2.6], **kw)
    np.testing.assert_allclose(obs.m, ising.magnetization(spins))
    np.testing.assert_allclose(obs.e, ising.energy(spins))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(L=7), ValueError, r"^L must be even"),
        (dict(L=2), ValueError, r"^L must be >= 4"),
        (dict(L=8.0), TypeError, r"^L must be an integer"),
        (dict(T=0.0), ValueError, r"^T must be > 0"),
        (dict(T=[2.0, -1.0]), ValueError, r"^T must be > 0"),
        (dict(T=float("nan")), ValueError, r"^T must be finite"),
        (dict(T=[]), ValueError, r"^T must be a positive number or a non-empty 1-D sequence"),
        (dict(T="2.0"), TypeError, r"^T must be a real number"),
        (dict(T=[[2.0]]), ValueError, r"^T must be a positive number or a non-empty 1-D sequence"),
        (dict(algorithm="heatbath"), ValueError, r"^algorithm must be one of"),
        (dict(num_samples=0), ValueError, r"^num_samples must be >= 1"),
        (dict(num_samples=2.5), TypeError, r"^num_samples must be an integer"),
        (dict(num_burnin=-1), ValueError, r"^num_burnin must be >= 0"),
        (dict(thin=0), ValueError, r"^thin must be >= 1"),
        (dict(seed=-3), ValueError, r"^seed must be >= 0"),
        (dict(seed=2**70), ValueError, r"^seed must be <= 4294967295"),
        (dict(start="hot"), ValueError, r"^start must be one of"),
    ],
)
def test_sample_rejects_bad_input(kwargs: dict, error: type, match: str) -> None:
    args = dict(L=8, T=2.0, num_samples=2, num_burnin=1) | kwargs
    with pytest.raises(error, match=match):
        ising.sample(args.pop("L"), args.pop("T"), **args)


def test_sample_accepts_the_course_plans_names() -> None:
    # COURSE_PLAN.md lists sample(L, T, *, n_samples, burnin, ...): the same chain as num_samples/num_burnin.
    new = ising.sample(8, [2.0, 3.0], num_samples=3, num_burnin=5, seed=4)
    old = ising.sample(8, [2.0, 3.0], n_samples=3, burnin=5, seed=4)
    assert old.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(old, new)
    obs = ising.sample_observables(8, 2.0, n_samples=3, burnin=5, seed=4)
    np.testing.assert_allclose(obs.m, ising.magnetization(ising.sample(8, 2.0, num_samples=3, num_burnin=5, seed=4)))
    with pytest.raises(TypeError, match=r"^pass num_samples or its older name n_samples, not both"):
        ising.sample(8, 2.0, num_samples=3, n_samples=3, num_burnin=1)
    with pytest.raises(TypeError, match=r"^sample\(\) missing the keyword argument num_burnin"):
        ising.sample(8, 2.0, num_samples=3)


def _transfer_matrix_energy(L: int, T: float) -> float:
    """Exact energy per spin of the periodic L x L lattice from its row-to-row transfer matrix (2^L states).

    ln Z = ln tr(M^L), M = D^(1/2) exp(beta s.s') D^(1/2), D = exp(beta sum_i s_i s_(i+1)) within a row;
    the energy is -(1/L^2) d ln Z / d beta by a central difference.
    """
    rows = np.array(list(itertools.product([1, -1], repeat=L)))
    within = (rows * np.roll(rows, -1, axis=1)).sum(1)
    between = rows @ rows.T

    def log_z(beta: float) -> float:
        half = np.exp(beta * within / 2)
        ev = np.linalg.eigvalsh(half[:, None] * np.exp(beta * between) * half[None, :])
        return L * np.log(ev.max()) + np.log(np.sum((ev / ev.max()) ** L))

    h = 1e-5
    return -(log_z(1 / T + h) - log_z(1 / T - h)) / (2 * h * L * L)


@pytest.mark.parametrize("L", [3, 5, 7])
def test_finite_lattice_energy_is_exact_on_odd_lattices(L: int) -> None:
    for T in (1.5, ising_exact.T_C, 3.0):
        assert ising_exact.finite_lattice_energy(L, T) == pytest.approx(_transfer_matrix_energy(L, T), abs=1e-8)


@pytest.mark.parametrize("L", [5, 7])
def test_wolff_on_odd_lattices_matches_kaufmans_exact_energy(L: int) -> None:
    # Metropolis needs an even L (checkerboard); Wolff runs on any L, and on odd L it must sample the
    # same Boltzmann distribution: its mean energy against Kaufman's exact finite-lattice value
    T = np.array([1.8, ising_exact.T_C, 3.0])
    obs = ising.sample_observables(L, T, num_samples=20_000, num_burnin=200, algorithm="wolff", seed=L)
    err = mcmc.binned_error(obs.e, 40)
    np.testing.assert_array_less(np.abs(obs.e.mean(1) - ising_exact.finite_lattice_energy(L, T)), 5 * err)


def test_observable_functions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^b must divide"):
        ising.block_spin(UP, 3)
    with pytest.raises(ValueError, match=r"^spins must contain only \+1 and -1"):
        ising.energy(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"^spins must have shape \(\.\.\., L, L\)"):
        ising.magnetization(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"^m must have at least 2 samples"):
        ising.binder_cumulant(np.array([0.5]))
    with pytest.raises(ValueError, match=r"^m must not be identically zero"):
        ising.binder_cumulant(np.zeros(10))
    with pytest.raises(TypeError, match=r"^m must be a real number"):
        ising.binder_cumulant(["a", "b"])
    with pytest.raises(ValueError, match=r"^x must have at least num_bins = 20 samples"):
        mcmc.binned_error(np.arange(10.0))
    with pytest.raises(ValueError, match=r"^x must not be constant"):
        mcmc.autocorrelation(np.ones(10))


# ------------------------------------------------------------------------------------------------
# The multispin-coded Metropolis kernels (lanes for L <= 128, rows above) and the scalar one
# ------------------------------------------------------------------------------------------------


def test_multispin_layout_packs_rows_in_lanes() -> None:
    for L in range(4, 129, 2):
        lanes, words = _ising_multispin.layout(L)
        assert lanes * words == L and words % 2 == 0 and lanes * (L // 2) <= 64
    assert _ising_multispin.layout(64) == (2, 32) and _ising_multispin.layout(96) == (1, 96)
    assert _ising_multispin.layout(130) is None and _ising_multispin.layout(7) is None


def test_multispin_row_words_cover_rows_above_64_sites() -> None:
    for L in range(130, 1100, 2):
        W = _ising_multispin.row_words(L)
        assert 64 * (W - 1) < L // 2 <= 64 * W
    assert _ising_multispin.row_words(128) is None and _ising_multispin.row_words(257) is None
    assert _ising_multispin.row_words(256) == 2 and _ising_multispin.row_words(1024) == 8


@pytest.mark.parametrize("L", [4, 6, 130, 200, 258])
def test_rows_layout_packs_and_measures_like_numpy(L: int) -> None:
    # any even L in the multiword layout, including last words with 1 (L = 130, 258) or 36 used bits
    spins = (2 * np.random.default_rng(L).integers(0, 2, size=(3, L, L)) - 1).astype(np.int8)
    spins[1] = 1
    p = _ising_multispin.Packed(spins, rows=True)
    assert p.W == -(-L // 128)
    back = np.empty_like(spins)
    p.unpack(back)
    np.testing.assert_array_equal(back, spins)
    m, e = np.empty((3, 1)), np.empty((3, 1))
    p.measure(m, e, 0)
    np.testing.assert_allclose(e[:, 0], ising.energy(spins), atol=1e-12)
    np.testing.assert_allclose(m[:, 0], ising.magnetization(spins), atol=1e-12)


def _metropolis_chain(L: int, T, *, seed: int, multispin: bool = True) -> ising._Chain:
    """One Metropolis chain of the sampler's internals, from the ordered start."""
    return ising._Chain(
        L,
        T,
        num_samples=1,
        num_burnin=0,
        thin=1,
        algorithm="metropolis",
        seed=seed,
        start="ordered",
        multispin=multispin,
    )


def _sweep_and_measure(chain: ising._Chain, n: int) -> tuple[np.ndarray, np.ndarray]:
    """100 sweeps of burn-in, then ``n`` sweeps with m and e measured after each: arrays ``[1, n]``."""
    m, e = np.empty((1, n)), np.empty((1, n))
    chain.run(100)
    for k in range(n):
        chain.run(1)
        chain.measure(m, e, k)
    return m, e


@pytest.mark.parametrize("kernel", ["rows", "scalar"])
@pytest.mark.parametrize("T", [1.8, 2.5])
def test_rows_and_scalar_kernels_match_exact_enumeration_on_4x4(kernel: str, T: float) -> None:
    # the kernels sample_observables does not choose at L = 4 (test_samplers_match_exact_enumeration_on_4x4
    # checks the one it does), on a lattice small enough to enumerate: the multiword kernel (side shifts
    # wrapping at bit n - 1) and the scalar one
    exact = _exact_l4(T)
    chain = _metropolis_chain(4, T, seed=13, multispin=kernel == "rows")
    if kernel == "rows":
        chain.packed = _ising_multispin.Packed(chain.spins, rows=True)
    assert (chain.packed is None) == (kernel == "scalar")
    m, e = _sweep_and_measure(chain, 40_000)
    for key, x in (("e", e[0]), ("m", m[0]), ("m2", m[0] ** 2)):
        err = float(mcmc.binned_error(x, 40))
        assert abs(x.mean() - exact[key]) < 5 * err + 1e-4, (key, x.mean(), exact[key], err)


@pytest.mark.parametrize("L", [256, 258])
def test_multiword_metropolis_matches_kaufman_at_l_256(L: int) -> None:
    # Kaufman's exact energy of the L x L periodic lattice, near T_c on both sides (xi ~ 15-20 sites)
    T = np.array([2.2, 2.35])
    # an ordered start: below T_c a random one would leave domains to coarsen
    obs = ising.sample_observables(L, T, num_samples=8000, num_burnin=2000, seed=L)
    assert _ising_multispin.row_words(L) is not None
    err = mcmc.binned_error(obs.e)
    np.testing.assert_array_less(np.abs(obs.e.mean(1) - ising_exact.finite_lattice_energy(L, T)), 5 * err)
    assert np.all(err < 1e-3)  # a real test: the error bars are small


@pytest.mark.parametrize("L", [6, 64, 128, 130, 200, 256, 258])
def test_multispin_kernels_equal_the_scalar_kernel_at_zero_temperature(L: int) -> None:
    # With acceptance 0 for uphill moves the checkerboard sweep is deterministic (flip iff dE <= 0):
    # both packed layouts must then reproduce the scalar kernel exactly, site by site, which checks
    # every neighbour of every site (row ends, word carries, the periodic wrap) after each sweep.
    start = (2 * np.random.default_rng(L).integers(0, 2, size=(2, L, L)) - 1).astype(np.int8)
    chains = {}
    for name, multispin in (("scalar", False), ("packed", True), ("rows", True)):
        chain = _metropolis_chain(L, [1.0, 2.0], seed=1, multispin=multispin)
        chain.spins[:] = start
        chain.thresholds[:] = 0
        if multispin:
            chain.packed = _ising_multispin.Packed(chain.spins, rows=name == "rows")
        chains[name] = chain
    for _ in range(3):
        for chain in chains.values():
            chain.run(1)
        expected = chains["scalar"].unpack().copy()
        assert not np.array_equal(expected, start)  # the sweeps did something
        for name in ("packed", "rows"):
            np.testing.assert_array_equal(chains[name].unpack(), expected, err_msg=name)


def test_multiword_metropolis_matches_yang_at_l_512() -> None:
    T = np.array([1.8, 3.0])
    obs = ising.sample_observables(512, T, num_samples=1500, num_burnin=500, seed=5)
    np.testing.assert_array_less(
        np.abs(obs.e.mean(1) - ising_exact.finite_lattice_energy(512, T)), 5 * mcmc.binned_error(obs.e)
    )
    assert abs(obs.m[0].mean() - ising_exact.onsager_magnetization(1.8)) < 5 * mcmc.binned_error(obs.m[0]) + 1e-4


@pytest.mark.parametrize("L", [4, 8, 16, 32, 64, 96, 128, 130, 256])
def test_packed_observables_equal_numpy_observables_of_unpacked_lattices(L: int) -> None:
    # the packed energy uses the kernel's neighbour words; numpy's energy uses np.roll on the lattice
    obs = ising.sample_observables(L, [1.0, 2.3, 5.0], num_samples=3, num_burnin=2, seed=L, start="random")
    spins = ising.sample(L, [1.0, 2.3, 5.0], num_samples=3, num_burnin=2, seed=L, start="random")
    assert len(np.unique(spins)) == 2
    np.testing.assert_allclose(obs.e, ising.energy(spins), atol=1e-12)
    np.testing.assert_allclose(obs.m, ising.magnetization(spins), atol=1e-12)


def test_scalar_kernel_runs_lattices_above_128_and_matches_onsager() -> None:
    chain = _metropolis_chain(132, 3.0, seed=4, multispin=False)
    assert chain.packed is None
    m, e = _sweep_and_measure(chain, 200)
    assert abs(e.mean() - ising_exact.onsager_energy(3.0)) < 5 * mcmc.binned_error(e[0]) + 1e-3
