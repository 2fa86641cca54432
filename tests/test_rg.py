"""utils.rg against exact results: brute-force partition functions, transfer matrices, closed forms, literature values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq

from utils import rg


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
    g = rg.decimation_constant_1d(K, h)
    assert z_chain_bruteforce(2 * N, K, h) == pytest.approx(np.exp(N * g) * z_chain_bruteforce(N, K1, h1), rel=1e-12)


@pytest.mark.parametrize("K, h", [(0.5, 0.1), (2.0, 0.05), (0.05, 2.0)])
def test_decimation_long_chain_transfer_matrix(K: float, h: float) -> None:
    N = 40
    K1, h1 = rg.decimate_1d(K, h)
    g = rg.decimation_constant_1d(K, h)
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
    assert rg.K_C_2D == pytest.approx(0.44068679350977147, rel=1e-15)
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
        rg.decimation_constant_1d(1),
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
