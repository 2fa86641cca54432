"""utils.signal against exact and published results, with an independent integrator (scipy quad)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import brentq

from utils import random_networks
from utils import signal as sig


def _gauss(f, q: float) -> float:
    """E[f(sqrt(q) z)] by adaptive quadrature on the Gaussian density (independent of Gauss-Hermite)."""
    s = math.sqrt(q)
    val, _ = integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12, limit=200)
    return val


def _gauss2(f, q: float, c: float) -> float:
    """E[f(u1) f(u2)] for a bivariate Gaussian (variances q, correlation c) by nested scipy quad."""
    s = math.sqrt(q)
    r = math.sqrt(1 - c * c)
    dens = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    val, _ = integrate.dblquad(
        lambda z2, z1: f(s * z1) * f(s * (c * z1 + r * z2)) * dens(z1) * dens(z2), -9, 9, -9, 9, epsabs=1e-11
    )
    return val


def _dtanh(x: float) -> float:
    return 1.0 - math.tanh(x) ** 2


# ---- exact critical points ---------------------------------------------------------------


def test_tanh_critical_point_at_zero_bias_is_one() -> None:
    assert sig.critical_sigma_w(0.0) == pytest.approx(1.0, abs=1e-9)
    assert sig.chi(1.0, 0.0) == pytest.approx(1.0, abs=1e-12)  # q* = 0, chi_1 = sigma_w^2 tanh'(0)^2
    assert sig.depth_scales(1.0, 0.0).xi_c == math.inf
    assert sig.kernel_fixed_point(0.9, 0.0) == 0.0


def test_relu_critical_at_he_point() -> None:
    assert sig.critical_sigma_w(0.0, "relu") == pytest.approx(math.sqrt(2.0))
    assert sig.chi(math.sqrt(2.0), 0.0, "relu") == pytest.approx(1.0)
    assert math.isnan(sig.kernel_fixed_point(math.sqrt(2.0), 0.0, "relu"))  # marginal: every q is fixed
    assert sig.kernel_fixed_point(1.6, 0.1, "relu") == math.inf
    assert sig.kernel_fixed_point(1.0, 0.5, "relu") == pytest.approx(0.25 / (1 - 0.5))


@pytest.mark.parametrize("sigma_b2", [0.01, 0.05, 0.2, 0.5])
def test_chi1_is_one_on_the_critical_line_by_independent_quad(sigma_b2: float) -> None:
    sb = math.sqrt(sigma_b2)
    sw = sig.critical_sigma_w(sb)
    q = sig.kernel_fixed_point(sw, sb)
    # the fixed point satisfies its equation, by independent quadrature
    assert sw**2 * _gauss(lambda u: math.tanh(u) ** 2, q) + sb**2 == pytest.approx(q, rel=1e-6)
    # and chi_1 = 1 there
    assert sw**2 * _gauss(lambda u: _dtanh(u) ** 2, q) == pytest.approx(1.0, abs=1e-6)


def test_critical_point_at_schoenholz_bias_by_independent_root_finding() -> None:
    # the chapter prints sigma_w^2 = 1.7610 at sigma_b^2 = 0.05 (Schoenholz et al.'s bias variance) as a
    # computed reference: redo it with scipy quad for q* and chi_1 and an outer root finder
    sb2 = 0.05

    def chi1(sw2: float) -> float:
        q = brentq(lambda q: sw2 * _gauss(lambda u: math.tanh(u) ** 2, q) + sb2 - q, 1e-6, 10.0, xtol=1e-13)
        return sw2 * _gauss(lambda u: _dtanh(u) ** 2, q) - 1.0

    sw2_c = brentq(chi1, 1.2, 2.5, xtol=1e-10)
    assert sig.critical_sigma_w(math.sqrt(sb2)) ** 2 == pytest.approx(sw2_c, abs=1e-7)
    assert sw2_c == pytest.approx(1.7610, abs=5e-5)


@pytest.mark.parametrize("side", [+1, -1])
def test_xi_c_times_chi1_gap_tends_to_one_on_both_sides(side: int) -> None:
    # nu = 1: xi_c ~ 1/|chi_1 - 1| near the critical line, ordered (-1) and chaotic (+1) side alike
    sb = math.sqrt(0.05)
    sw2_c = sig.critical_sigma_w(sb) ** 2
    products = []
    for eps in [0.1, 0.03, 0.01, 0.003]:
        sw = math.sqrt(sw2_c * (1 + side * eps))
        products.append(sig.depth_scales(sw, sb).xi_c * abs(sig.chi(sw, sb) - 1))
    errors = np.abs(np.array(products) - 1)
    assert np.all(np.diff(errors) < 0)  # closer to 1 at every step towards criticality
    assert errors[-1] < 0.006
    # and the log-log slope of xi_c against the distance is -1 (the exercise's nu)
    d = np.geomspace(1e-3, 3e-2, 6) * sw2_c
    xi = [sig.depth_scales(math.sqrt(sw2_c + side * x), sb).xi_c for x in d]
    assert -np.polyfit(np.log(d), np.log(xi), 1)[0] == pytest.approx(1.0, abs=0.03)


def test_six_xi_c_depths_the_chapter_quotes() -> None:
    sb = math.sqrt(0.05)
    six_xi = lambda sw2: 6 * sig.depth_scales(math.sqrt(sw2), sb).xi_c  # noqa: E731
    assert six_xi(1.2) == pytest.approx(35.7, abs=0.05)  # ex-scale solution
    assert six_xi(3.0) == pytest.approx(54.3, abs=0.05)
    grid = np.linspace(0.5, 4.0, 12)  # the chapter's TRAIN_SIGMA_W2
    # ordered side: 6 xi_c = 7 and 14 at the two networks that stay at chance at depth 36; 30 at the next
    # one, which trains at depth 36 all the same (the criterion's edge is fuzzy)
    assert six_xi(grid[0]) == pytest.approx(7.1, abs=0.05) and six_xi(grid[1]) == pytest.approx(14.3, abs=0.05)
    assert six_xi(grid[2]) == pytest.approx(30.3, abs=0.05)
    # chaotic side: 6 xi_c is 42 to 53 for sigma_w^2 = 3.05 .. 4.0, deeper than 36
    chaotic = [six_xi(a) for a in grid[8:]]
    assert min(chaotic) == pytest.approx(42, abs=0.5) and max(chaotic) == pytest.approx(53, abs=0.5)


def test_chi_parallel_below_one_on_the_biased_critical_line() -> None:
    # PDLT criticality chi_par = chi_perp = 1 holds for tanh only at (sigma_b, sigma_w) = (0, 1)
    assert sig.chi_parallel(1.0, 0.0) == pytest.approx(1.0, abs=1e-12)
    for sb2 in [0.01, 0.05, 0.2]:
        sb = math.sqrt(sb2)
        assert sig.chi_parallel(sig.critical_sigma_w(sb), sb) < 0.9
    sb = math.sqrt(0.05)
    assert sig.chi_parallel(sig.critical_sigma_w(sb), sb) == pytest.approx(0.518, abs=1e-3)


def test_universality_class_power_laws() -> None:
    # K* = 0 class: q' = q - 2 q^2 + ... gives q^l ~ 1/(2l); scale-invariant ReLU: 1 - c^l ~ 9 pi^2 / (2 l^2)
    tanh = sig.kernel_flow(1.0, 0.5, 1.0, 0.0, 1000)
    assert 2 * 1000 * tanh.q[1000] == pytest.approx(1.0, abs=0.005)
    # other members: erf at sigma_w^2 = pi / 4 (its phi is erf(u) sqrt(pi) / 2 = u - u^3/3 + ...) also
    # 1/(2l), sin (u - u^3/6) 1/l: q^l ~ 1/(-phi3 l) with phi3 the third derivative at 0, one exponent
    erf = sig.kernel_flow(1.0, 0.5, math.sqrt(math.pi) / 2, 0.0, 1000, "erf")
    assert 2 * 1000 * erf.q[1000] == pytest.approx(1.0, abs=0.005)
    sine = sig.kernel_flow(1.0, 0.5, 1.0, 0.0, 1000, np.sin)
    assert 1000 * sine.q[1000] == pytest.approx(1.0, abs=0.01)
    relu = sig.kernel_flow(1.0, 0.0, math.sqrt(2), 0.0, 4000, "relu")
    ratios = [(1 - relu.c[n]) * 2 * n**2 / (9 * math.pi**2) for n in (100, 1000, 4000)]
    assert ratios[0] < ratios[1] < ratios[2] < 1.0 and ratios[2] > 0.98


@pytest.mark.parametrize("sw,sb", [(0.7, 0.4), (1.5, 0.3), (2.2, 0.1), (2.0, 1.0)])
def test_fixed_point_and_slopes_by_independent_quad(sw: float, sb: float) -> None:
    q = sig.kernel_fixed_point(sw, sb)
    assert sw**2 * _gauss(lambda u: math.tanh(u) ** 2, q) + sb**2 == pytest.approx(q, rel=1e-6)
    assert sig.chi(sw, sb) == pytest.approx(sw**2 * _gauss(lambda u: _dtanh(u) ** 2, q), rel=1e-6)
    # chi_parallel is the slope of the length map at q*: central difference of the quad length map
    h = 1e-4 * q
    L = lambda qq: sw**2 * _gauss(lambda u: math.tanh(u) ** 2, qq) + sb**2  # noqa: E731
    assert sig.chi_parallel(sw, sb) == pytest.approx((L(q + h) - L(q - h)) / (2 * h), rel=1e-5)


def test_correlation_map_and_chaotic_fixed_point_by_independent_quad() -> None:
    sw, sb = 2.0, 0.3
    q = sig.kernel_fixed_point(sw, sb)
    for c in (-0.5, 0.2, 0.9):
        want = (sw**2 * _gauss2(math.tanh, q, c) + sb**2) / q
        assert sig._correlation_map(c, q, sw, sb) == pytest.approx(want, abs=1e-6)
    c_star = sig.correlation_fixed_point(sw, sb)
    assert 0.0 < c_star < 1.0
    assert (sw**2 * _gauss2(math.tanh, q, c_star) + sb**2) / q == pytest.approx(c_star, abs=1e-6)
    # chi_c is the slope of the correlation map at c*
    h = 1e-4
    slope = (sig._correlation_map(c_star + h, q, sw, sb) - sig._correlation_map(c_star - h, q, sw, sb)) / (2 * h)
    assert sig._chi_c(sw, sb) == pytest.approx(slope, rel=1e-5)
    xi = sig.depth_scales(sw, sb)
    assert xi.xi_c == pytest.approx(-1 / math.log(sig._chi_c(sw, sb)))
    assert xi.xi_q == pytest.approx(-1 / math.log(sig.chi_parallel(sw, sb)))


def test_ordered_phase_correlations_go_to_one_and_depth_scale_diverges_at_criticality() -> None:
    assert sig.correlation_fixed_point(0.8, 0.3) == 1.0
    assert sig._chi_c(0.8, 0.3) == pytest.approx(sig.chi(0.8, 0.3))
    sb = math.sqrt(0.05)
    swc = sig.critical_sigma_w(sb)
    assert sig.depth_scales(swc * 1.001, sb).xi_c > 100
    assert sig.depth_scales(swc * 0.999, sb).xi_c > 100


# ---- ReLU closed forms vs quadrature ---------------------------------------------------


def test_relu_closed_forms_vs_quadrature() -> None:
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731  (a callable: goes through the generic quadrature)
    sw, sb, q = 1.3, 0.2, 0.7
    assert sig.length_map(q, sw, sb, "relu") == pytest.approx(sw**2 * q / 2 + sb**2)
    assert sig.length_map(q, sw, sb, relu) == pytest.approx(sw**2 * q / 2 + sb**2, rel=1e-4)
    for c in (-0.9, 0.0, 0.5, 0.99):
        exact = sig._correlation_map(c, q, sw, sb, "relu")
        num = (sw**2 * _gauss2(lambda u: max(u, 0.0), q, c) + sb**2) / (sw**2 * q / 2 + sb**2)
        assert exact == pytest.approx(num, abs=1e-6)
    assert sig.chi(1.2, 0.5, "relu") == pytest.approx(1.2**2 / 2)


@pytest.mark.parametrize("a", [0.0, 0.2, 0.5, 1.0])
def test_leaky_relu_closed_forms_vs_quadrature(a: float) -> None:
    leaky = sig.leaky_relu(a)
    sw, sb, q = 1.3, 0.2, 0.7
    assert sig.length_map(q, sw, sb, leaky) == pytest.approx(sw**2 * q * (1 + a * a) / 2 + sb**2)
    for c in (-0.9, 0.0, 0.5, 0.99):
        exact = sig._correlation_map(c, q, sw, sb, leaky)
        num = (sw**2 * _gauss2(lambda u: max(u, a * u), q, c) + sb**2) / (sw**2 * q * (1 + a * a) / 2 + sb**2)
        assert exact == pytest.approx(num, abs=1e-6)
    assert sig.critical_sigma_w(0.3, leaky) ** 2 == pytest.approx(2 / (1 + a * a))
    if a == 0.0:  # ReLU itself
        assert sig._correlation_map(0.3, q, sw, sb, leaky) == pytest.approx(
            sig._correlation_map(0.3, q, sw, sb, "relu")
        )


def test_leaky_relu_is_in_the_scale_invariant_class_with_its_own_amplitude() -> None:
    # near c = 1 the map is 1 - e -> 1 - e + b_a e^(3/2), b_a = (2 sqrt2 / (3 pi)) (1 - a)^2 / (1 + a^2),
    # so 1 - c^l -> 4 / (b_a l)^2: ReLU's 9 pi^2 / (2 l^2) times ((1 + a^2) / (1 - a)^2)^2
    a = 0.2
    leaky = sig.leaky_relu(a)
    flow = sig.kernel_flow(1.0, 0.0, sig.critical_sigma_w(0.0, leaky), 0.0, 4000, leaky)
    n = 4000
    predicted = 9 * math.pi**2 / (2 * n**2) * ((1 + a * a) / (1 - a) ** 2) ** 2
    assert (1 - flow.c[n]) / predicted == pytest.approx(1.0, abs=0.03)
    with pytest.raises(ValueError, match="slope must be <= 1"):
        sig.leaky_relu(1.5)


def test_callable_tanh_matches_named() -> None:
    sw, sb = 1.6, 0.3
    assert sig.kernel_fixed_point(sw, sb, np.tanh) == pytest.approx(sig.kernel_fixed_point(sw, sb), rel=1e-12)
    assert sig.chi(sw, sb, np.tanh) == pytest.approx(sig.chi(sw, sb), rel=1e-6)


def test_kernel_flow_converges_to_fixed_points() -> None:
    flow = sig.kernel_flow(2.0, 0.5, 2.0, 0.3, depth=200)
    assert flow.q[-1] == pytest.approx(sig.kernel_fixed_point(2.0, 0.3), rel=1e-9)
    assert flow.c[-1] == pytest.approx(sig.correlation_fixed_point(2.0, 0.3), abs=1e-8)


# ---- erf: closed forms (Williams 1997) -------------------------------------------------------


def _erf_kernel(q: float, c: float) -> float:
    """E[erf(u1) erf(u2)] = (2/pi) arcsin(2 q c / (1 + 2 q)) for variances q, correlation c (Williams 1997)."""
    return 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q))


def test_deep_ordered_flow_stays_a_correlation() -> None:
    """Deep in the ordered phase c -> 1; rounding must not carry it past 1 (chapter 5's sliders)."""
    flow = sig.kernel_flow(1.0, 0.0, 0.5, 0.1, 30)  # gave c = 1 + 2e-16, then a ValueError
    assert np.all(np.abs(flow.c) <= 1.0) and flow.c[-1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("q", [0.0, 0.3, 1.0, 4.0])
def test_erf_maps_match_the_arcsine_kernel(q: float) -> None:
    # Gauss-Hermite's error grows with q (1-D: 201 nodes, 2-D: 101 per axis), about 1e-8 at q = 4
    sw, sb = 1.4, 0.3
    assert sig.length_map(q, sw, sb, "erf") == pytest.approx(sw**2 * _erf_kernel(q, 1.0) + sb**2, rel=1e-10)
    if q > 0:
        for c in (-0.7, 0.0, 0.4, 0.95):
            want = (sw**2 * _erf_kernel(q, c) + sb**2) / (sw**2 * _erf_kernel(q, 1.0) + sb**2)
            assert sig._correlation_map(c, q, sw, sb, "erf") == pytest.approx(want, abs=3e-8)


@pytest.mark.parametrize("sw,sb", [(1.2, 0.2), (2.5, 0.5)])
def test_erf_fixed_point_and_slopes(sw: float, sb: float) -> None:
    q = sig.kernel_fixed_point(sw, sb, "erf")
    assert sw**2 * _erf_kernel(q, 1.0) + sb**2 == pytest.approx(q, rel=1e-8)
    # erf'(x)^2 = (4/pi) exp(-2 x^2), so chi_1 = sigma_w^2 (4/pi) / sqrt(1 + 4 q*)
    assert sig.chi(sw, sb, "erf") == pytest.approx(sw**2 * 4 / math.pi / math.sqrt(1 + 4 * q), rel=1e-8)
    # chi_parallel is the slope of the closed-form length map at q*
    h = 1e-5
    slope = sw**2 * (_erf_kernel(q + h, 1.0) - _erf_kernel(q - h, 1.0)) / (2 * h)
    assert sig.chi_parallel(sw, sb, "erf") == pytest.approx(slope, rel=1e-7)


@pytest.mark.parametrize("sb", [0.0, 0.1, 0.5])
def test_erf_critical_line_from_closed_forms(sb: float) -> None:
    # chi_1 = 1 at q* means sigma_w^2 = (pi / 4) sqrt(1 + 4 q*); the fixed-point equation then
    # reads q = (sqrt(1 + 4 q) / 2) arcsin(2 q / (1 + 2 q)) + sigma_b^2, one equation for q*.
    if sb == 0.0:
        q_star = 0.0  # q = 0 loses stability where sigma_w^2 erf'(0)^2 = 1: sigma_w = sqrt(pi) / 2
    else:
        q_star = brentq(lambda q: math.sqrt(1 + 4 * q) / 2 * math.asin(2 * q / (1 + 2 * q)) + sb**2 - q, 1e-12, 50)
    want = math.sqrt(math.pi / 4 * math.sqrt(1 + 4 * q_star))
    # at sigma_b = 0, chi_1 - 1 only touches zero (from below on both sides), so the root is found
    # to about 1e-8
    assert sig.critical_sigma_w(sb, "erf") == pytest.approx(want, rel=1e-7)


def test_torch_activations_match_the_numpy_ones() -> None:
    import torch
    from scipy.special import erf

    assert set(random_networks.TORCH_ACTIVATIONS) == set(sig.ACTIVATIONS)
    x = np.linspace(-4, 4, 81)
    reference = {"tanh": np.tanh(x), "relu": np.maximum(x, 0), "erf": erf(x), "linear": x}
    for name, fn in random_networks.TORCH_ACTIVATIONS.items():
        np.testing.assert_allclose(fn(torch.tensor(x)).numpy(), reference[name], rtol=1e-12, atol=1e-15)


def test_wide_erf_networks_match_theory() -> None:
    sw, sb = 1.8, 0.2
    flow = sig.kernel_flow(1.0, 0.3, sw, sb, depth=6, activation="erf")
    emp = random_networks.propagate(1.0, 0.3, sw, sb, depth=6, width=1000, activation="erf", num_models=16, seed=0)
    assert np.max(np.abs(emp.q.mean(0) / flow.q - 1)) < 0.05
    assert np.max(np.abs(emp.c.mean(0) - flow.c)) < 0.05


# ---- random networks ---------------------------------------------------------------------


@pytest.mark.parametrize("sw,sb", [(0.8, 0.3), (1.33, math.sqrt(0.05)), (2.0, 0.3)])
def test_wide_networks_match_theory(sw: float, sb: float) -> None:
    # width 1000, 16 networks, 10 layers: the network average of q^l is within 5 % of the
    # infinite-width length map, and of c^l within 0.05 of the correlation map (in the chaotic
    # phase finite-width corrections pull c^l down by ~0.03 at this width)
    flow = sig.kernel_flow(1.0, 0.5, sw, sb, depth=10)
    emp = random_networks.propagate(1.0, 0.5, sw, sb, depth=10, width=1000, num_models=16, seed=0)
    assert np.max(np.abs(emp.q.mean(0) / flow.q - 1)) < 0.05
    assert np.max(np.abs(emp.c.mean(0) - flow.c)) < 0.05


def test_relu_length_fluctuations_exact_finite_width() -> None:
    width, depth = 64, 5
    emp = random_networks.propagate(
        1.0, 0.0, math.sqrt(2.0), 0.0, depth=depth, width=width, activation="relu", num_models=3000, seed=3
    )
    ratio = emp.q[:, 1:].var(0) / emp.q[:, 1:].mean(0) ** 2
    exact = sig.relu_length_fluctuations(np.arange(1, depth + 1), width)
    assert (
        np.max(np.abs(ratio / exact - 1)) < 0.15
    )  # 3000 networks: the sampling error of a heavy-tailed variance is ~5 %
    # each further layer multiplies E[q^2] / E[q]^2 by the second moment of its factor (2/N) chi^2_K,
    # K ~ Binomial(N, 1/2) live units: E[K (K + 2)] (2/N)^2, summed here over K exactly
    from scipy.stats import binom

    for n in (1, 3, 10):
        k = np.arange(n + 1)
        moment = float(np.sum(binom.pmf(k, n, 0.5) * k * (k + 2))) * (2 / n) ** 2
        ratio = 1 + sig.relu_length_fluctuations(np.arange(1, 6), n)
        np.testing.assert_allclose(ratio[1:] / ratio[:-1], moment, rtol=1e-12)
    # the first layer (input and read-out factors) at width 2, where 1 + 3/(N+2) and 1 + 2/N are far
    # from 1: 100000 networks, the standard error of the ratio from 20 batches
    q = random_networks.propagate(
        1.0, 0.0, math.sqrt(2.0), 0.0, depth=1, width=2, activation="relu", num_models=100_000, seed=5
    ).q[:, 1]
    batches = q.reshape(20, -1)
    se = np.std(batches.var(1) / batches.mean(1) ** 2) / math.sqrt(20)
    assert abs(q.var() / q.mean() ** 2 - sig.relu_length_fluctuations(1, 2)) < 5 * se and se < 0.05
    # and about 5 l / N for 1 << l << N
    assert sig.relu_length_fluctuations(20, 10**6) * 10**6 == pytest.approx(5 * 20, rel=1e-3)


def test_propagate_starts_from_the_stated_inputs() -> None:
    # layer 0 holds two vectors of length q0 and correlation c0 exactly, in directions that vary by seed
    a = random_networks.propagate(1.7, 0.3, 1.5, 0.2, depth=3, width=50, num_models=2, seed=7)
    c = random_networks.propagate(1.7, 0.3, 1.5, 0.2, depth=3, width=50, num_models=2, seed=8)
    assert np.allclose(a.q[:, 0], 1.7) and np.allclose(a.c[:, 0], 0.3)
    assert not np.allclose(a.q[:, 1:], c.q[:, 1:])


@pytest.mark.parametrize("sw2", [1.0, 1.7610, 2.5])
def test_gradients_grow_like_chi1_to_the_depth(sw2: float) -> None:
    # mean-field backprop (Schoenholz et al. 2017): E|dF/dh^l|^2 / N = chi_1^(L - l), chi_1 by quadrature
    sb = math.sqrt(0.05)
    depth = 30
    g = random_networks.gradient_norms(math.sqrt(sw2), sb, depth=depth, width=400, num_models=8, seed=0).mean(0)
    assert g.shape == (depth + 1,)
    factor = math.exp(-np.polyfit(np.arange(depth + 1), np.log(g), 1)[0])
    chi1 = sig.chi(math.sqrt(sw2), sb)
    assert factor == pytest.approx(chi1, rel=0.025)  # seeds 0-3 gave 0.987-1.012
    assert g[0] / g[-1] == pytest.approx(chi1**depth, rel=0.5)  # the whole depth: chi_1^30 spans 2e-4 .. 43


def test_gradient_norms_by_hand_on_a_tiny_network() -> None:
    # autograd against the backward recursion delta^{l-1} = phi'(h^{l-1}) * W^T delta^l, written out
    import torch

    g = random_networks.gradient_norms(1.3, 0.2, depth=2, width=3, q0=0.7, seed=5)[0]
    gen = torch.Generator().manual_seed(5)
    h0 = torch.randn(1, 3, 1, generator=gen, dtype=torch.float64)
    h0 = math.sqrt(0.7 * 3) * h0 / h0.norm(dim=1, keepdim=True)
    ws, hs = [], [h0]
    for _ in range(2):
        w = torch.randn(1, 3, 3, generator=gen).double() * (1.3 / math.sqrt(3))
        b = torch.randn(1, 3, 1, generator=gen, dtype=torch.float64) * 0.2
        ws.append(w[0])
        hs.append(torch.bmm(w, torch.tanh(hs[-1])) + b)
    delta = torch.randn(1, 3, 1, generator=gen, dtype=torch.float64)[0, :, 0]
    want = [float(delta @ delta) / 3]
    for layer in (1, 0):
        delta = (1 - torch.tanh(hs[layer][0, :, 0]) ** 2) * (ws[layer].T @ delta)
        want.insert(0, float(delta @ delta) / 3)
    assert np.allclose(g, want, rtol=1e-12)


def test_parallel_mlp_weight_spread_is_sigma_w_over_sqrt_fan_in() -> None:
    sws = np.array([0.5, 1.0, 2.0])
    model = random_networks.ParallelMLP(sws, in_dim=16, width=64, depth=3, sigma_b=0.3, seed=1)
    for w, fan_in in zip(model.weights, [16, 64, 64], strict=True):
        spread = w.detach().double().std(dim=(1, 2)).numpy()
        assert np.allclose(spread, sws / math.sqrt(fan_in), rtol=0.06)  # 1024-4096 draws per model and layer
    for b in model.biases:
        assert np.allclose(b.detach().double().std(dim=(1, 2)).numpy(), 0.3, rtol=0.35)  # 64 draws


def test_parallel_mlp_models_are_independent() -> None:
    import torch

    model = random_networks.ParallelMLP([1.0, 2.0], in_dim=3, width=5, depth=2, seed=0)
    x = torch.randn(4, 3)
    out = model(x)
    assert out.shape == (2, 4, 1)
    out[0].sum().backward()  # model 0's output has no gradient into model 1's parameters
    assert torch.all(model.weights[0].grad[1] == 0) and torch.any(model.weights[0].grad[0] != 0)
    assert model.weights[1].data[1].std() > model.weights[1].data[0].std()


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: sig.chi(-1.0, 0.1), ValueError, r"^sigma_w must be >= 0"),
        (lambda: sig.kernel_fixed_point(1.0, -0.1), ValueError, r"^sigma_b must be >= 0"),
        (lambda: sig.chi(1.0, 0.1, "sigmoidal"), ValueError, r"^activation must be one of"),
        (lambda: sig.length_map(1.0, 1.0, 0.0, 3), TypeError, r"^activation must be one of .* or a callable"),
        (lambda: sig.length_map(-1.0, 1.0, 0.0), ValueError, r"^q must be >= 0"),
        (lambda: sig.length_map("1", 1.0, 0.0), TypeError, r"^q must be a real number"),
        (lambda: sig._correlation_map(1.5, 1.0, 1.0, 0.0), ValueError, r"^c must be <= 1"),
        (lambda: sig._correlation_map(0.5, -1.0, 1.0, 0.0), ValueError, r"^q must be >= 0"),
        (lambda: sig.kernel_flow(1.0, 0.5, 1.0, 0.0, depth=-1), ValueError, r"^depth must be >= 0"),
        (lambda: sig.relu_length_fluctuations(0, 10), ValueError, r"^depth must be >= 1"),
        (lambda: sig.relu_log_length_variance(2, 1), ValueError, r"^width must be >= 2"),
        (lambda: sig.critical_sigma_w(-0.2), ValueError, r"^sigma_b must be >= 0"),
        (lambda: random_networks.propagate(1.0, 0.5, 1.0, 0.0, depth=2, width=1), ValueError, r"^width must be >= 2"),
        (lambda: random_networks.propagate(1.0, 0.5, 1.0, 0.0, depth=2, seed=-1), ValueError, r"^seed must be >= 0"),
        (
            lambda: random_networks.propagate(1.0, 0.5, 1.0, 0.0, depth=2, activation=np.tanh),
            TypeError,
            r"^activation must be",
        ),
        (
            lambda: random_networks.ParallelMLP([1.0, -1.0], in_dim=2, width=3, depth=1),
            ValueError,
            r"^sigma_w must be >= 0",
        ),
        (
            lambda: random_networks.ParallelMLP([], in_dim=2, width=3, depth=1),
            ValueError,
            r"^sigma_w must be a number or",
        ),
        (
            lambda: random_networks.gradient_norms(math.sqrt(2), 0.0, depth=2, activation="relu"),
            ValueError,
            r"^q0 must be given",
        ),
        (lambda: random_networks.gradient_norms(1.0, 0.1, depth=0), ValueError, r"^depth must be >= 1"),
    ],
)
def test_bad_input_errors_name_the_argument(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_scalar_in_float_out() -> None:
    for value in (
        sig.length_map(1, 1.0, 0.1),
        sig._correlation_map(0.5, np.float64(1.0), 1.0, 0.1),
        sig.relu_length_fluctuations(3, 100),
        sig.relu_log_length_variance(3, 100),
    ):
        assert type(value) is float
    assert sig._correlation_map(np.array([0.1, 0.5]), 1.0, 1.0, 0.1).shape == (2,)


def test_relu_log_length_variance_exact_finite_width() -> None:
    width, depth = 32, 8
    emp = random_networks.propagate(
        1.0, 0.0, math.sqrt(2.0), 0.0, depth=depth, width=width, activation="relu", num_models=2000, seed=4
    )
    var = np.log(emp.q[:, 1:]).var(0)
    exact = sig.relu_log_length_variance(np.arange(1, depth + 1), width)
    assert np.max(np.abs(var / exact - 1)) < 0.1  # 2000 networks: sampling error of a variance ~ 3 %
    # large-width limit 5 l / N
    assert sig.relu_log_length_variance(1, 4000) * 4000 == pytest.approx(5.0, rel=2e-3)
