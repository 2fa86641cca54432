"""utils.rg against exact results: brute-force partition functions, transfer matrices, closed forms, literature values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq

from utils import rg


def decimation_constant_1d(K: float, h: float) -> float:
    """The free-energy constant g per removed spin: e^{4 g} = 16 cosh(2K + h) cosh(2K - h) cosh(h)^2."""
    return (np.log(16.0) + np.log(np.cosh(2 * K + h)) + np.log(np.cosh(2 * K - h)) + 2 * np.log(np.cosh(h))) / 4.0


def z_chain_bruteforce(n: int, K: float, h: float) -> float:
    """Partition function of a periodic Ising chain of n spins, by summing all 2^n configurations."""
    total = 0.0
    for s in itertools.product((-1, 1), repeat=n):
        s = np.array(s)
        total += np.exp(K * np.sum(s * np.roll(s, -1)) + h * np.sum(s))
    return total


def z_chain_transfer(n: int, K: float, h: float) -> float:
    """Same, from the symmetric transfer matrix: Z = Tr T^n."""
    spins = np.array([1.0, -1.0])
    T = np.exp(K * np.outer(spins, spins) + h * (spins[:, None] + spins[None, :]) / 2)
    return float(np.trace(np.linalg.matrix_power(T, n)))


def test_zero_field_identity() -> None:
    K = np.linspace(0.0, 3.0, 31)
    K_new, h_new = rg.decimate_1d(K)
    np.testing.assert_allclose(np.tanh(K_new), np.tanh(K) ** 2, rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(h_new, 0.0)
    assert rg.decimate_1d(0.5)[0] == pytest.approx(0.5 * np.log(np.cosh(1.0)), rel=1e-14)


@pytest.mark.parametrize("K, h", [(0.3, 0.0), (0.7, 0.2), (1.2, -0.5), (0.1, 1.5), (-0.4, 0.3)])
def test_decimation_preserves_partition_function_bruteforce(K: float, h: float) -> None:
    # Z_{2N}(K, h) = exp(N g) Z_N(K', h') for a periodic chain; both sides summed over all configurations.
    N = 5
    K1, h1 = rg.decimate_1d(K, h)
    g = decimation_constant_1d(K, h)
    assert z_chain_bruteforce(2 * N, K, h) == pytest.approx(np.exp(N * g) * z_chain_bruteforce(N, K1, h1), rel=1e-12)


@pytest.mark.parametrize("K, h", [(0.5, 0.1), (2.0, 0.05), (0.05, 2.0)])
def test_decimation_long_chain_transfer_matrix(K: float, h: float) -> None:
    N = 40
    K1, h1 = rg.decimate_1d(K, h)
    g = decimation_constant_1d(K, h)
    lhs = np.log(z_chain_transfer(2 * N, K, h))
    rhs = N * g + np.log(z_chain_transfer(N, K1, h1))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_field_flips_sign_and_flow_goes_to_zero_coupling() -> None:
    K1, h1 = rg.decimate_1d(0.8, 0.3)
    K2, h2 = rg.decimate_1d(0.8, -0.3)
    assert K1 == pytest.approx(K2) and h1 == pytest.approx(-h2)
    assert h1 > 0.3  # the field grows (relevant), the coupling shrinks
    K, h = 2.0, 0.0
    for _ in range(30):
        K, h = rg.decimate_1d(K, h)
    assert K < 1e-6  # no finite-temperature fixed point in 1D: every K > 0 flows to 0


def test_decimation_large_coupling_no_overflow() -> None:
    K1, h1 = rg.decimate_1d(500.0, 1.0)
    assert np.isfinite(K1) and np.isfinite(h1)
    # tanh K' = tanh^2 K with 1 - tanh K ~ 2 e^{-2K}: K' ~ K - ln(2)/2
    assert rg.decimate_1d(400.0)[0] == pytest.approx(400.0 - 0.5 * np.log(2.0), rel=1e-14)


def mk_direct(K: float) -> float:
    return float(np.arctanh(np.tanh(2 * K) ** 2))


def test_migdal_kadanoff_formula() -> None:
    K = np.linspace(0.0, 2.0, 41)
    np.testing.assert_allclose(rg.migdal_kadanoff(K), np.arctanh(np.tanh(2 * K) ** 2), rtol=1e-12, atol=1e-300)
    # b = 3, d = 2: tanh K' = tanh(3K)^3
    np.testing.assert_allclose(np.tanh(rg.migdal_kadanoff(K, b=3)), np.tanh(3 * K) ** 3, rtol=1e-12, atol=1e-300)
    # d = 1 is exact decimation
    np.testing.assert_allclose(rg.migdal_kadanoff(K, b=2, d=1), rg.decimate_1d(K)[0], rtol=1e-13, atol=1e-300)
    # large couplings: K' = 2K - ln(2)/2 + O(e^{-4K})
    assert rg.migdal_kadanoff(300.0) == pytest.approx(600.0 - 0.5 * np.log(2.0), rel=1e-15)
    assert rg.migdal_kadanoff(3.0) == pytest.approx(mk_direct(3.0), rel=1e-9)


def test_migdal_kadanoff_fixed_point_and_nu_independent() -> None:
    # Independent: brentq on the direct formula, a plain central difference, and the analytic slope.
    K_ref = brentq(lambda K: mk_direct(K) - K, 0.1, 1.0, xtol=1e-15)
    h = 1e-6
    lam_fd = (mk_direct(K_ref + h) - mk_direct(K_ref - h)) / (2 * h)
    t = np.tanh(2 * K_ref)
    lam_exact = 4 * t / (1 + t**2)  # d/dK atanh(tanh(2K)^2)
    K_star = rg.fixed_point(rg.migdal_kadanoff, 0.3)
    lin = rg.linearize(rg.migdal_kadanoff, K_star, b=2)
    assert K_star == pytest.approx(K_ref, abs=1e-12)
    assert K_star == pytest.approx(0.3047, abs=5e-5)  # literature value, e.g. Kardar, Statistical Physics of Fields
    assert lin.eigenvalue == pytest.approx(lam_exact, rel=1e-9)
    assert lin.eigenvalue == pytest.approx(lam_fd, rel=1e-7)
    assert lin.nu == pytest.approx(np.log(2) / np.log(lam_exact), rel=1e-9)
    assert lin.nu == pytest.approx(1.338, abs=1e-3)
    assert lin.y == pytest.approx(1 / lin.nu)


def test_exact_2d_constants() -> None:
    assert np.sinh(2 * rg.K_C_2D) == pytest.approx(1.0, rel=1e-15)  # Kramers-Wannier / Onsager
    # nu from Onsager's exact correlation length above T_c: 1/xi = ln coth K - 2K = 2 (K* - K),
    # with K* the dual coupling; it vanishes at K_c and xi ~ (K_c - K)^(-nu).
    dK = np.logspace(-8, -5, 7)
    K = rg.K_C_2D - dK
    inv_xi = np.log(1 / np.tanh(K)) - 2 * K
    assert np.log(1 / np.tanh(rg.K_C_2D)) - 2 * rg.K_C_2D == pytest.approx(0.0, abs=1e-15)
    slope = np.polyfit(np.log(dK), np.log(inv_xi), 1)[0]
    assert slope == pytest.approx(rg.NU_2D, abs=1e-5)
    K_star = rg.fixed_point(rg.migdal_kadanoff, 0.3)
    assert K_star < rg.K_C_2D  # MK overestimates the ordering tendency (T* > T_c)


def test_fixed_point_bracket_and_errors() -> None:
    assert rg.fixed_point(np.cos, 0.5, bracket=(0.0, 1.0)) == pytest.approx(0.7390851332151607, abs=1e-12)
    assert rg.fixed_point(np.cos, 1.0) == pytest.approx(0.7390851332151607, abs=1e-12)
    with pytest.raises(ValueError, match=r"^bracket \(0.0, 0.5\) does not enclose a fixed point"):
        rg.fixed_point(np.cos, 0.5, bracket=(0.0, 0.5))
    with pytest.raises(ValueError, match=r"^bracket must be a pair"):
        rg.fixed_point(np.cos, 0.5, bracket=0.5)
    with pytest.raises(RuntimeError, match=r"^fixed_point did not converge .*pass bracket=\(a, b\)"):
        rg.fixed_point(lambda x: x + 1.0, 0.0)  # no fixed point at all
    with pytest.raises(TypeError, match=r"^f must be callable"):
        rg.fixed_point(3.0, 0.5)


def test_linearize_exact_maps() -> None:
    lin = rg.linearize(lambda x: 3 * x - 2, 1.0, b=2)
    assert lin.eigenvalue == pytest.approx(3.0, rel=1e-12)
    assert lin.nu == pytest.approx(np.log(2) / np.log(3), rel=1e-12)
    # compounding p -> p^2: fixed point p = 1 has eigenvalue b = 2 (relevant, nu = 1); p = 0 is stable
    lin1 = rg.linearize(lambda p: p**2, 1.0, b=2)
    assert lin1.eigenvalue == pytest.approx(2.0, rel=1e-12) and lin1.nu == pytest.approx(1.0, rel=1e-12)
    assert rg.compounding_map(0.9) == pytest.approx(0.81)
    assert rg.compounding_map(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]


def test_scalar_in_float_out() -> None:
    for value in (
        rg.decimate_1d(0.5)[0],
        rg.decimate_1d(0.5, 0.1)[1],
        rg.migdal_kadanoff(np.float64(0.3)),
        rg.compounding_map(0.5),
    ):
        assert type(value) is float
    K1, h1 = rg.decimate_1d(np.array([0.5, 1.0]), 0.1)
    assert K1.shape == h1.shape == (2,)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: rg.decimate_1d("a"), TypeError, r"^K must be a real number"),
        (lambda: rg.decimate_1d(0.5, np.inf), ValueError, r"^h must be finite"),
        (lambda: rg.migdal_kadanoff(-0.1), ValueError, r"^K must be >= 0 \(ferromagnetic coupling\)"),
        (lambda: rg.migdal_kadanoff(0.3, b=1), ValueError, r"^b must be > 1"),
        (lambda: rg.migdal_kadanoff(0.3, b=0.5), ValueError, r"^b must be >= 1"),
        (lambda: rg.migdal_kadanoff(0.3, d=0), ValueError, r"^d must be >= 1"),
        (lambda: rg.compounding_map(1.2), ValueError, r"^p must be <= 1"),
        (lambda: rg.compounding_map(-0.2), ValueError, r"^p must be >= 0"),
        (lambda: rg.linearize(np.cos, 0.7, b=0.5), ValueError, r"^b must be >= 1"),
        (lambda: rg.linearize(np.cos, 0.7, b=1), ValueError, r"^b must be > 1"),
        (lambda: rg.linearize(lambda x: -x, 0.0), ValueError, r"^f must have a positive, finite slope"),
        (lambda: rg.linearize("f", 0.0), TypeError, r"^f must be callable"),
        (lambda: rg.linearize(np.cos, 0.7, step=0), ValueError, r"^step must be > 0"),
    ],
)
def test_bad_input(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


# --- majority voting, a two-coupling flow, scaling relations, block-spin correlations ----------


def test_majority_vote_closed_form_and_enumeration() -> None:
    p = np.linspace(0, 1, 11)
    np.testing.assert_allclose(rg.majority_vote(p), 3 * p**2 - 2 * p**3, rtol=1e-14, atol=1e-16)
    for q in (0.2, 0.5, 0.7):  # n = 5 by summing over all 2^5 vote patterns
        brute = sum(
            np.prod([q if v else 1 - q for v in votes])
            for votes in itertools.product((0, 1), repeat=5)
            if sum(votes) >= 3
        )
        assert rg.majority_vote(q, 5) == pytest.approx(brute, rel=1e-13)
    # the Reynolds-Klein-Stanley RG of triangular-lattice site percolation: a triangle of 3 sites becomes one
    # site, lengths grow by b = sqrt 3; p* = 1/2 (the exact threshold), nu = ln sqrt 3 / ln(3/2) = 1.355 (exact 4/3)
    lin = rg.linearize(rg.majority_vote, 0.5, b=np.sqrt(3))
    assert rg.majority_vote(0.5) == 0.5 and lin.eigenvalue == pytest.approx(1.5, rel=1e-12)
    assert lin.nu == pytest.approx(np.log(np.sqrt(3)) / np.log(1.5), rel=1e-12)
    assert round(lin.nu, 3) == 1.355 and abs(lin.nu - 4 / 3) / (4 / 3) < 0.02


def test_two_coupling_flow_fixed_point_and_eigenvalues() -> None:
    K1, L1 = rg.decimate_square_nnn(0.3, 0.05)
    assert K1 == pytest.approx(2 * 0.09 + 0.05) and L1 == pytest.approx(0.09)
    assert rg.decimate_square_nnn(1 / 3, 1 / 9) == pytest.approx((1 / 3, 1 / 9), rel=1e-15)
    lin = rg.linearize_map(lambda x: np.array(rg.decimate_square_nnn(x[0], x[1])), [1 / 3, 1 / 9], b=np.sqrt(2))
    exact = np.array([(2 + np.sqrt(10)) / 3, (2 - np.sqrt(10)) / 3])
    np.testing.assert_allclose(lin.eigenvalues, exact, rtol=1e-9)
    np.testing.assert_allclose(lin.y, np.log(np.abs(exact)) / np.log(np.sqrt(2)), rtol=1e-9)
    for lam, v in zip(lin.eigenvalues, lin.eigenvectors.T, strict=True):  # M v = Lambda v, exact Jacobian
        M = np.array([[4 / 3, 1.0], [2 / 3, 0.0]])
        np.testing.assert_allclose(M @ v, lam * v, atol=1e-9)
    assert lin.y[0] > 0 > lin.y[1]


def test_exponents_from_eigenvalues_published_values() -> None:
    # 2D Ising (Onsager, Yang, Fisher): alpha = 0, beta = 1/8, gamma = 7/4, delta = 15, nu = 1, eta = 1/4
    e = rg.exponents_from_eigenvalues(rg.Y_T_2D, rg.Y_H_2D, 2)
    want = {"alpha": 0.0, "beta": 0.125, "gamma": 1.75, "delta": 15.0, "nu": 1.0, "eta": 0.25}
    assert e == pytest.approx(want, abs=1e-15)
    # mean field at d = 4 (y_t = 2, y_h = 3): beta = 1/2, gamma = 1, delta = 3, eta = 0, alpha = 0
    mf = rg.exponents_from_eigenvalues(2.0, 3.0, 4)
    assert mf == pytest.approx({"alpha": 0.0, "beta": 0.5, "gamma": 1.0, "delta": 3.0, "nu": 0.5, "eta": 0.0})
    # the scaling laws hold for any eigenvalues (3D-like values)
    x = rg.exponents_from_eigenvalues(1.587, 2.482, 3)
    assert x["alpha"] + 2 * x["beta"] + x["gamma"] == pytest.approx(2.0)  # Rushbrooke
    assert x["gamma"] == pytest.approx(x["beta"] * (x["delta"] - 1))  # Widom
    assert x["gamma"] == pytest.approx(x["nu"] * (2 - x["eta"]))  # Fisher


def test_neighbour_correlation() -> None:
    up = np.ones((3, 8, 8))
    check = np.where(np.add.outer(np.arange(8), np.arange(8)) % 2 == 0, 1.0, -1.0)
    np.testing.assert_allclose(rg.neighbour_correlation(up), 1.0)
    assert rg.neighbour_correlation(check) == pytest.approx(-1.0)
    s = np.random.default_rng(0).choice([-1.0, 1.0], size=(6, 6))
    loop = np.mean([s[i, j] * s[i, (j + 1) % 6] + s[i, j] * s[(i + 1) % 6, j] for i in range(6) for j in range(6)]) / 2
    assert rg.neighbour_correlation(s) == pytest.approx(loop, rel=1e-14)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: rg.majority_vote(1.5), ValueError, r"^p must be <= 1"),
        (lambda: rg.majority_vote(0.5, 4), ValueError, r"^num_votes must be odd"),
        (lambda: rg.decimate_square_nnn("a", 0.1), TypeError, r"^K must be a real number"),
        (lambda: rg.linearize_map(lambda x: x, [0.0], b=1), ValueError, r"^b must be > 1"),
        (lambda: rg.linearize_map(lambda x: np.array([np.inf]), [0.0]), ValueError, r"^f must be differentiable"),
        (lambda: rg.exponents_from_eigenvalues(1.0, 0.5, 2), ValueError, r"^y_h must lie in"),
        (lambda: rg.exponents_from_eigenvalues(-1.0, 1.5, 2), ValueError, r"^y_t must be > 0"),
        (lambda: rg.neighbour_correlation(np.ones((4, 5))), ValueError, r"^spins must end in two equal axes"),
    ],
)
def test_bad_input_two_couplings(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def nnn_step(x: np.ndarray) -> np.ndarray:
    return np.array(rg.decimate_square_nnn(x[0], x[1]))


def test_critical_coupling_finds_the_critical_surface() -> None:
    phases = {"ordered": lambda x: x[0] > 2.0, "disordered": lambda x: x[0] < 1e-3}
    # a line through the fixed point crosses the critical surface there: (1/3, 1/9)
    t = rg.critical_coupling(nnn_step, lambda t: (t, 1 / 9), (0.2, 0.6), **phases)
    assert t == pytest.approx(1 / 3, abs=1e-14)
    # the nearest-neighbour model (L = 0): K_c = 0.3921 in this approximation (exact 2D: 0.4407);
    # started there, the flow runs into the fixed point (distance after 20 steps ~ 1e-16 * 1.72^20)
    K_c = rg.critical_coupling(nnn_step, lambda t: (t, 0.0), (0.2, 0.6), **phases)
    assert K_c == pytest.approx(0.39209, abs=1e-5)
    x = np.array([K_c, 0.0])
    for _ in range(20):
        x = nnn_step(x)
    assert np.allclose(x, [1 / 3, 1 / 9], atol=1e-8)
    # one coupling: the critical point of Migdal-Kadanoff is its fixed point (found by Brent's method)
    K_mk = rg.critical_coupling(
        rg.migdal_kadanoff, lambda t: t, (0.1, 1.0), ordered=lambda K: K > 3, disordered=lambda K: K < 1e-3
    )
    assert K_mk == pytest.approx(rg.fixed_point(rg.migdal_kadanoff, 0.3, bracket=(0.1, 1.0)), abs=1e-13)
    with pytest.raises(ValueError, match=r"^bracket must flow to disorder"):
        rg.critical_coupling(nnn_step, lambda t: (t, 0.0), (0.5, 0.6), **phases)
    with pytest.raises(RuntimeError, match=r"^the flow from start"):
        rg.critical_coupling(lambda x: x, lambda t: (t, 0.0), (0.2, 0.6), max_steps=5, **phases)


def test_chapter4_claims() -> None:
    """The numbers chapter 4 states about the two-coupling flow, with the chapter's calls."""
    phases = {"ordered": lambda x: x[0] > 2.0, "disordered": lambda x: x[0] < 1e-3}
    lin = rg.linearize_map(nnn_step, [1 / 3, 1 / 9], b=np.sqrt(2))
    assert round(1 / lin.y[0], 2) == 0.64 and round(lin.y[0], 2) == 1.57  # nu = 0.64, y_t = 1.57
    assert round(abs(lin.eigenvalues[1]), 2) == 0.39 and round(lin.eigenvalues[0], 2) == 1.72
    # universality: xi ~ delta^-nu with the same nu for L0 = 0 and L0 = K0/2 (different K_c)
    fp = np.array([1 / 3, 1 / 9])
    deltas = np.logspace(-10, -3, 29)
    K_cs = []
    for ratio in (0.0, 0.5):
        K_c = rg.critical_coupling(nnn_step, lambda K, r=ratio: (K, r * K), (0.1, 0.6), **phases)
        K_cs.append(K_c)
        n_esc = []
        for d in deltas:
            x, n = np.array([K_c * (1 + d), ratio * K_c * (1 + d)]), 0
            while n < 400 and (n < 5 or abs(x[0] - fp[0]) < 0.05):
                x, n = nnn_step(x), n + 1
            n_esc.append(n)
        slope = np.polyfit(np.log(deltas), np.array(n_esc) * np.log(np.sqrt(2)), 1)[0]
        assert abs(-slope - 1 / lin.y[0]) < 0.01
    assert round(K_cs[0], 3) == 0.392 and round(K_cs[1], 3) == 0.307
    # migdal-kadanoff y_t = 0.75 and the Peierls estimate 2 / ln 3 = 1.82 (an estimate, below the exact 2.269)
    K_star = rg.fixed_point(rg.migdal_kadanoff, 0.3)
    assert round(rg.linearize(rg.migdal_kadanoff, K_star).y, 2) == 0.75
    assert round(2 / np.log(3), 2) == 1.82
    # the exercise solutions' numbers (chapters/04_renormalization/numbers.toml): b = 3 and d = 3
    f3 = lambda K: rg.migdal_kadanoff(K, b=3)  # noqa: E731
    K3 = rg.fixed_point(f3, 0.3, bracket=(0.05, 2.0))
    assert round(K3, 4) == 0.2406 and round(rg.linearize(f3, K3, b=3).nu, 3) == 1.355
    fd3 = lambda K: rg.migdal_kadanoff(K, b=2, d=3)  # noqa: E731
    Kd3 = rg.fixed_point(fd3, 0.1, bracket=(0.01, 1.0))
    assert round(Kd3, 3) == 0.065 and round(rg.linearize(fd3, Kd3, b=2).nu, 2) == 1.06


def test_field_eigenvalue_at_the_zero_temperature_fixed_point() -> None:
    """Chapter 4, section 7: dh'/dh = 1 + tanh 2K at h = 0, which tends to b^d = 2 (a discontinuity fixed point)."""
    for K in (0.5, 1.0, 2.0, 4.0):
        lin = rg.linearize(lambda h, K=K: rg.decimate_1d(K, h)[1], 0.0, b=2)
        assert lin.eigenvalue == pytest.approx(1 + np.tanh(2 * K), rel=1e-9)
    assert rg.linearize(lambda h: rg.decimate_1d(20.0, h)[1], 0.0, b=2).y == pytest.approx(1.0, abs=1e-9)


def test_block_spin_neighbour_correlation_flows() -> None:
    """Chapter 4, section 1: blocked neighbour correlations rise below T_c and fall above it."""
    from utils import ising

    for T, rising in ((2.0, True), (2.6, False)):
        spins = ising.sample(64, T, num_samples=8, num_burnin=500, thin=20, seed=1)[0]
        c = [rg.neighbour_correlation(ising.block_spin(spins, b)).mean() for b in (1, 2, 4, 8)]
        assert np.all(np.diff(c) > 0) if rising else np.all(np.diff(c[1:]) < 0), (T, c)
