"""utils.bayes and utils.bayes_exact against closed forms: incomplete gamma, erf integrals, Gaussians."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from utils.bayes import (
    fit_lambda,
    fit_volume_lambda,
    free_energy,
    posterior_density,
    posterior_mass,
    volume_fraction,
)
from utils.bayes_exact import crossover_n, free_energy_crossing, free_energy_power, laplace_free_energy

TOL = 1e-8  # the module promises 1e-8; the contract asks for 1e-3
NS = [1.0, 10.0, 1e3, 1e6]


def power(p):
    return lambda w: np.abs(w[:, 0]) ** p


def crossing(w):
    return (w[:, 0] * w[:, 1]) ** 2


def exact_power(n, p, lo, hi):
    """-log of (1/(hi-lo)) * integral over [lo, hi] (lo < 0 < hi) of exp(-n |w|^p): incomplete gamma."""

    def half(a):
        return special.gamma(1 + 1 / p) * n ** (-1 / p) * special.gammainc(1 / p, n * a**p)

    return -math.log((half(-lo) + half(hi)) / (hi - lo))


def exact_crossing(n, box):
    """w1^2 w2^2 on a box: the w2 integral is a difference of erfs, the w1 integral is done by quad."""
    (lo1, hi1), (lo2, hi2) = box
    root = math.sqrt(n)

    def inner(x):
        s = root * abs(x)
        if s < 1e-9:
            return hi2 - lo2
        return math.sqrt(math.pi) / (2 * s) * (special.erf(s * hi2) - special.erf(s * lo2))

    z = 0.0
    for a, b in [(lo1, 0.0), (0.0, hi1)]:  # split at the singular line w1 = 0
        z += integrate.quad(inner, a, b, points=[math.copysign(1 / root, a + b)], limit=500, epsabs=0, epsrel=1e-13)[0]
    return -math.log(z / ((hi1 - lo1) * (hi2 - lo2)))


def exact_gaussian_1d(n, c, mu, lo, hi):
    """integral over [lo, hi] of exp(-n c (w - mu)^2)."""
    s = math.sqrt(n * c)
    return math.sqrt(math.pi) / (2 * s) * (special.erf(s * (hi - mu)) - special.erf(s * (lo - mu)))


# --- free_energy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", NS + [1e8])
@pytest.mark.parametrize("p", [2, 4])
@pytest.mark.parametrize("box", [(-1.0, 1.0), (-0.7, 1.3), (-0.5, 2.0)])
def test_power_potentials_match_incomplete_gamma(n, p, box):
    assert free_energy(power(p), n, bounds=[box]) == pytest.approx(exact_power(n, p, *box), abs=TOL)


@pytest.mark.parametrize("p", [6, 8])
def test_flatter_minima_to_1e_6(p):
    for box in [(-1.0, 1.0), (-0.7, 1.3)]:
        for n in NS + [1e8]:
            assert free_energy(power(p), n, bounds=[box]) == pytest.approx(exact_power(n, p, *box), abs=1e-6)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("box", [[(-1, 1), (-1, 1)], [(-0.5, 1), (-1, 2)], [(0, 1), (0, 1)]])
def test_crossing_matches_erf_integral(n, box):
    # The integrand concentrates within n^(-1/2) / |w1| of the axes: the hard case of the contract.
    assert free_energy(crossing, n, bounds=box) == pytest.approx(exact_crossing(n, box), abs=TOL)


def test_a_uniform_grid_is_not_enough_but_free_energy_is():
    n, m = 1e6, 401
    g = np.linspace(-1, 1, m)
    w1, w2 = np.meshgrid(g, g)
    naive = -math.log(np.mean(np.exp(-n * (w1 * w2) ** 2)))
    exact = exact_crossing(n, [(-1, 1), (-1, 1)])
    assert abs(naive - exact) > 0.1  # the grid line w1 = 0 alone holds 1/401 of the mass
    assert free_energy(crossing, n, bounds=[(-1, 1), (-1, 1)]) == pytest.approx(exact, abs=1e-3)


@pytest.mark.parametrize("n", NS)
def test_shifted_gaussian_2d(n):
    def k(w):
        return (w[:, 0] - 0.3) ** 2 + 2 * (w[:, 1] + 0.2) ** 2

    z = exact_gaussian_1d(n, 1, 0.3, -1, 1) * exact_gaussian_1d(n, 2, -0.2, -1, 1)
    assert free_energy(k, n, bounds=[(-1, 1), (-1, 1)]) == pytest.approx(math.log(4) - math.log(z), abs=TOL)


@pytest.mark.parametrize("n", [1e3, 1e6])
def test_correlated_gaussian_inside_the_box(n):
    # Minimum along a tilted valley; the box cuts off only exp(-n * 0.1)-small tails.
    a = np.array([[2.0, 1.5], [1.5, 2.0]])

    def k(w):
        return 0.5 * np.einsum("mi,ij,mj->m", w, a, w)

    exact = math.log(4) - math.log(2 * math.pi / (n * math.sqrt(np.linalg.det(a))))
    assert free_energy(k, n, bounds=[(-1, 1), (-1, 1)]) == pytest.approx(exact, abs=TOL)


@pytest.mark.parametrize("n", [1e2, 1e4, 1e6])
def test_ring_minimum_set(n):
    # K = (|w|^2 - a^2)^2: a circle of minima; in polar coordinates Z = pi^(3/2)/(2 sqrt n) (1 + erf(sqrt(n) a^2)).
    a = 0.5

    def k(w):
        return (w[:, 0] ** 2 + w[:, 1] ** 2 - a * a) ** 2

    z = math.pi**1.5 / (2 * math.sqrt(n)) * (1 + special.erf(math.sqrt(n) * a * a))
    assert free_energy(k, n, bounds=[(-1, 1), (-1, 1)]) == pytest.approx(math.log(4) - math.log(z), abs=TOL)


def test_two_wells_and_a_large_minimum_loss():
    # exp(-n K) underflows everywhere when n K_min = 2e4; the log-scale sums do not.
    n, k0 = 1e6, 0.02

    def k(w):
        return k0 + np.minimum((w[:, 0] + 0.5) ** 2, 1e-3 + (w[:, 0] - 0.5) ** 2)

    z = exact_gaussian_1d(n, 1, -0.5, -1, 0) + math.exp(-n * 1e-3) * exact_gaussian_1d(n, 1, 0.5, 0, 1)
    assert free_energy(k, n, bounds=[(-1, 1)]) == pytest.approx(n * k0 + math.log(2) - math.log(z), abs=TOL)


# --- posterior mass and density ------------------------------------------------------------------------


def test_posterior_mass_of_gaussian_regions():
    n, k = 50.0, lambda w: (w[:, 0] - 0.2) ** 2
    whole = exact_gaussian_1d(n, 1, 0.2, -1, 1)
    for lo, hi in [(-1, 0), (0.1, 0.4), (0.2, 1)]:
        want = exact_gaussian_1d(n, 1, 0.2, lo, hi) / whole
        assert posterior_mass(k, n, bounds=[(-1, 1)], region=[(lo, hi)]) == pytest.approx(want, abs=1e-12)

    def k2(w):
        return w[:, 0] ** 2 + 3 * w[:, 1] ** 2

    want = (exact_gaussian_1d(n, 1, 0, 0, 1) / exact_gaussian_1d(n, 1, 0, -1, 1)) * (
        exact_gaussian_1d(n, 3, 0, -1, 0.1) / exact_gaussian_1d(n, 3, 0, -1, 1)
    )
    got = posterior_mass(k2, n, bounds=[(-1, 1), (-1, 1)], region=[(0, 1), (-1, 0.1)])
    assert got == pytest.approx(want, abs=1e-12)


def test_posterior_density_is_the_normalised_gaussian():
    n, k = 30.0, lambda w: w[:, 0] ** 2 + w[:, 1] ** 2
    z = exact_gaussian_1d(n, 1, 0, -1, 1) ** 2
    w = np.array([[0.0, 0.0], [0.3, -0.1], [1.0, 1.0], [1.5, 0.0]])
    want = np.exp(-n * (w**2).sum(1)) / z
    want[-1] = 0.0  # outside the box
    np.testing.assert_allclose(posterior_density(k, n, w, bounds=[(-1, 1), (-1, 1)]), want, rtol=1e-12)
    one_d = posterior_density(power(2), n, np.array([0.0, 0.5]), bounds=[(-1, 1)])
    np.testing.assert_allclose(one_d, np.exp(-n * np.array([0.0, 0.25])) / exact_gaussian_1d(n, 1, 0, -1, 1))


# --- volumes and fits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, box, exact",
    [
        (power(4), [(-1, 1)], lambda e: e**0.25),
        (crossing, [(-1, 1), (-1, 1)], lambda e: np.sqrt(e) * (1 + 0.5 * np.log(1 / e))),
        (lambda w: (w**2).sum(1), [(-1, 1), (-1, 1)], lambda e: np.pi * e / 4),
    ],
)
def test_volume_fraction_matches_closed_forms(k, box, exact):
    eps = np.geomspace(1e-4, 0.5, 6)
    est = volume_fraction(k, eps, bounds=box, num_samples=200_000, seed=3)
    z = (est.fraction - exact(eps)) / est.stderr
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_allclose(est.stderr, np.sqrt(est.fraction * (1 - est.fraction) / 200_000))
    again = volume_fraction(k, eps, bounds=box, num_samples=200_000, seed=3)
    np.testing.assert_array_equal(est.fraction, again.fraction)


def test_volume_fraction_counts_exactly():
    # K = 0 everywhere: every sample lies below any eps > 0 and none below eps = 0.
    est = volume_fraction(lambda w: np.zeros(len(w)), [0.0, 1e-9, 1.0], bounds=[(-1, 1)], num_samples=1000)
    np.testing.assert_array_equal(est.fraction, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(est.stderr, [0.0, 0.0, 0.0])


def test_fit_lambda_recovers_synthetic_and_exact_coefficients():
    n = np.geomspace(10, 1e8, 15)
    for lam, m, k0, c in [(0.25, 1, 0.0, 0.3), (0.5, 2, 0.0, -1.0), (1.5, 3, 0.01, 2.0)]:
        f = n * k0 + lam * np.log(n) - (m - 1) * np.log(np.log(n)) + c
        fit = fit_lambda(n, f, multiplicity=m, min_loss=k0)
        assert fit.lam == pytest.approx(lam, abs=1e-9) and fit.const == pytest.approx(c, abs=1e-8)
    big = np.geomspace(1e3, 1e8, 12)
    assert fit_lambda(big, free_energy_power(big, 4)).lam == pytest.approx(0.25, abs=1e-6)
    assert fit_lambda(big, free_energy_crossing(big), multiplicity=2).lam == pytest.approx(0.5, abs=0.02)


def test_fit_volume_lambda_recovers_synthetic_coefficients():
    eps = np.geomspace(1e-10, 1e-2, 9)
    for lam, m in [(0.25, 1), (0.5, 2), (1.0, 1)]:
        v = 0.7 * eps**lam * (-np.log(eps)) ** (m - 1)
        fit = fit_volume_lambda(eps, v, multiplicity=m)
        assert fit.lam == pytest.approx(lam, abs=1e-9) and fit.const == pytest.approx(math.log(0.7), abs=1e-8)


# --- closed forms, Laplace and n* ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [0.5, 3.0, 40.0])
def test_closed_forms_against_scipy_quadrature(n):
    z4 = integrate.quad(lambda w: math.exp(-n * w**4), -2, 2, epsabs=0, epsrel=1e-13)[0] / 4
    assert free_energy_power(n, 4, half_width=2.0) == pytest.approx(-math.log(z4), abs=1e-11)
    zx = integrate.dblquad(lambda y, x: math.exp(-n * x * x * y * y), 0, 1, 0, 1, epsabs=0, epsrel=1e-12)[0]
    assert free_energy_crossing(n) == pytest.approx(-math.log(zx), abs=1e-10)


def test_closed_forms_approach_watanabe_asymptotics():
    n = np.array([1e8, 1e12])
    np.testing.assert_allclose(free_energy_power(n, 4), 0.25 * np.log(n) - math.log(special.gamma(1.25)), atol=1e-12)
    const = math.log(2 / math.sqrt(math.pi)) - np.log(np.euler_gamma / 2 + math.log(2) + 0.5 * np.log(n))
    np.testing.assert_allclose(free_energy_crossing(n), 0.5 * np.log(n) + const, atol=1e-12)


def test_laplace_is_exact_for_a_gaussian_and_infinite_for_a_singular_hessian():
    h = np.array([[2.0, 1.5], [1.5, 2.0]])

    def k(w):
        return 0.5 * np.einsum("mi,ij,mj->m", w, h, w)

    for n in [1e3, 1e5]:
        assert laplace_free_energy(n, h, volume=4.0) == pytest.approx(
            free_energy(k, n, bounds=[(-1, 1), (-1, 1)]), abs=1e-9
        )
    assert laplace_free_energy(1e3, np.zeros((2, 2)), volume=4.0) == -math.inf
    assert laplace_free_energy(1e3, np.diag([0.0, 2.0]), volume=4.0) == -math.inf
    assert laplace_free_energy(10.0, [[2.0]], volume=2.0, min_loss=0.1) == pytest.approx(
        1.0 + 0.5 * math.log(10 / (2 * math.pi)) + 0.5 * math.log(2.0) + math.log(2.0)
    )


@pytest.mark.parametrize("dl, dlam, dc", [(0.002, 0.25, 0.02), (0.01, 0.5, -1.0), (1e-5, 1.5, 3.0)])
def test_crossover_n_is_the_largest_root(dl, dlam, dc):
    def g(logn):
        return math.exp(logn) * dl - dlam * logn - dc

    n_star = crossover_n(dl, dlam, dc)
    lo = math.log(dlam / dl)  # g is smallest at n = dlam / dl; the largest root lies above it
    want = math.exp(optimize.brentq(g, lo, lo + 50, xtol=1e-14))
    assert n_star == pytest.approx(want, rel=1e-10)


def test_crossover_n_is_nan_when_the_curves_never_cross():
    assert math.isnan(crossover_n(1.0, 0.25, -5.0))


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bounds", [[(-1, 1), (-1, 1), (-1, 1)], [(-1, 0, 1)], [(1, -1)], [(0, 0)], [(0, math.inf)], [], "box"]
)
def test_bad_bounds(bounds):
    with pytest.raises(ValueError, match=r"^bounds must"):
        free_energy(power(2), 10, bounds=bounds)


@pytest.mark.parametrize("n", [0, -1.0, math.nan])
def test_bad_n(n):
    with pytest.raises(ValueError, match=r"^n must"):
        free_energy(power(2), n, bounds=[(-1, 1)])


def test_bad_potential():
    with pytest.raises(ValueError, match=r"^potential must return an array of shape \(m,\)"):
        free_energy(lambda w: w, 10, bounds=[(-1, 1)])  # returns (m, 1)
    with pytest.raises(ValueError, match=r"^potential must return an array of shape \(m,\)"):
        free_energy(lambda w: w.sum(), 10, bounds=[(-1, 1), (-1, 1)])
    with pytest.raises(ValueError, match=r"^potential returned nan at w ="):
        free_energy(lambda w: np.where(w[:, 0] > 0.5, np.nan, 1.0), 10, bounds=[(-1, 1)])
    with pytest.raises(ValueError, match=r"^potential returned -inf"):
        free_energy(lambda w: np.where(w[:, 0] > 0.5, -np.inf, 1.0), 10, bounds=[(-1, 1)])
    with pytest.raises(TypeError, match=r"^potential must be callable"):
        free_energy(3.0, 10, bounds=[(-1, 1)])


def test_bad_region_and_points():
    with pytest.raises(ValueError, match=r"^region must be a box inside bounds"):
        posterior_mass(power(2), 10, bounds=[(-1, 1)], region=[(0, 2)])
    with pytest.raises(ValueError, match=r"^region must"):
        posterior_mass(power(2), 10, bounds=[(-1, 1)], region=[(0, 1), (0, 1)])
    with pytest.raises(ValueError, match=r"^w must have shape \(m, 2\)"):
        posterior_density(crossing, 10, np.zeros(3), bounds=[(-1, 1), (-1, 1)])


def test_bad_fit_and_exact_arguments():
    with pytest.raises(ValueError, match=r"^n must be > 1"):
        fit_lambda([1.0, 10.0], [0.0, 1.0], multiplicity=2)
    with pytest.raises(ValueError, match=r"^n must be a 1-D array"):
        fit_lambda([10.0], [1.0])
    with pytest.raises(ValueError, match=r"^volume must be > 0"):
        fit_volume_lambda([1e-3, 1e-2], [0.0, 0.1])
    with pytest.raises(ValueError, match=r"^hessian must be a symmetric square matrix"):
        laplace_free_energy(10.0, [[1.0, 2.0], [0.0, 1.0]], volume=1.0)
    with pytest.raises(ValueError, match=r"^hessian must be positive semi-definite"):
        laplace_free_energy(10.0, [[-1.0]], volume=1.0)
    with pytest.raises(ValueError, match=r"^delta_lambda must be > 0"):
        crossover_n(0.01, 0.0)
    with pytest.raises(ValueError, match=r"^num_samples must be >= 1"):
        volume_fraction(power(2), [0.1], bounds=[(-1, 1)], num_samples=0)
