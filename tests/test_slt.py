"""utils.slt: exact learning coefficients vs hand-worked and published cases; the exact finite-nbeta
LLC target against brute-force Monte Carlo, closed forms and Aoyagi's asymptotics."""

import itertools
import math
import pickle

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import hyperu

from utils.slt import (
    exact_llc_target,
    learning_coefficient_dln,
    learning_coefficient_normal_crossing,
    learning_coefficient_rrr,
)


@pytest.mark.parametrize("m,n", [(1, 1), (3, 2), (4, 5), (7, 3)])
@pytest.mark.parametrize("full_rank", [True, False])
def test_one_layer_is_regular(m, n, full_rank):
    # One linear layer is a regular model: lambda = d / 2 = m n / 2 whatever the true rank.
    r = min(m, n) if full_rank else 0
    assert learning_coefficient_dln([m, n], r) == m * n / 2


def test_two_layer_dln_equals_rrr_everywhere():
    for m, h, n in itertools.product(range(1, 7), repeat=3):
        for r in range(min(m, h, n) + 1):
            assert learning_coefficient_dln([m, h, n], r) == pytest.approx(learning_coefficient_rrr(m, h, n, r))


def test_rrr_hand_worked_cases():
    # Case 1 (M+H+N+r even): (2(H+r)(M+N) - (M-N)^2 - (H+r)^2) / 8.
    assert learning_coefficient_rrr(3, 3, 3, 1) == (2 * 4 * 6 - 0 - 16) / 8  # = 4
    assert learning_coefficient_rrr(2, 2, 2, 0) == 1.5
    # Case 1, odd: the same plus 1/8.
    assert learning_coefficient_rrr(2, 1, 2, 0) == (2 * 1 * 4 - 0 - 1 + 1) / 8  # = 1
    # Case 2 (M + H < N + r): (HM - Hr + Nr) / 2; y = b a x with 1-d input: lambda = 1/2.
    assert learning_coefficient_rrr(1, 1, 5, 0) == 0.5
    # Case 3 (N + H < M + r): (HN - Hr + Mr) / 2.
    assert learning_coefficient_rrr(6, 1, 1, 1) == (1 - 1 + 6) / 2
    # Case 4 (M + N < H + r): the regular count M N / 2 of the product matrix.
    assert learning_coefficient_rrr(1, 5, 1, 1) == 0.5
    # Full rank with H = min(M, N): the product is a generic M x N matrix of rank H ... regular
    # dimension of rank-H matrices: H (M + N - H) / 2.
    assert learning_coefficient_rrr(4, 2, 3, 2) == 2 * (4 + 3 - 2) / 2


def test_dln_depth_examples():
    # Rank-r truth with all widths equal to r: every layer invertible, regular count r^2 per layer... the
    # product manifold has dimension r^2, so lambda = r (H_1 + H_out) / 2 - r^2 / 2 = r^2 / 2.
    assert learning_coefficient_dln([3, 3, 3, 3], 3) == 4.5
    # (Deep zero truth with 1-d layers, lambda = 1/2 for any depth: test_multiplicities, depths 1 to 5.)
    # Lambda is positive and at most half the parameter count (the regular bound).
    for widths in ([5, 4, 3, 6], [2, 7, 7, 2], [3, 3, 3, 3, 3]):
        d = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        for r in range(min(widths) + 1):
            assert 0 < learning_coefficient_dln(widths, r) <= d / 2


def test_normal_crossing():
    assert learning_coefficient_normal_crossing([1, 1]) == 0.5
    assert learning_coefficient_normal_crossing([3]) == pytest.approx(1 / 6)
    assert learning_coefficient_normal_crossing([1, 2, 0]) == 0.25


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: learning_coefficient_dln([3, 2, 3], 3), ValueError, r"^rank must be <= min\(widths\) = 2"),
        (lambda: learning_coefficient_dln([3], 1), ValueError, r"^widths must hold at least 2 integers"),
        (lambda: learning_coefficient_dln([3, 2.5], 1), TypeError, r"^widths\[1\] must be an integer"),
        (lambda: learning_coefficient_dln(5, 1), TypeError, r"^widths must be a sequence of integers"),
        (lambda: learning_coefficient_dln([3, 0], 0), ValueError, r"^widths\[1\] must be >= 1"),
        (lambda: learning_coefficient_dln([3, 3], -1), ValueError, r"^rank must be >= 0"),
        (lambda: learning_coefficient_rrr(2, 2, 2, 3), ValueError, r"^r must be <= min\(m, h, n\)"),
        (lambda: learning_coefficient_rrr(0, 2, 2, 0), ValueError, r"^m must be >= 1"),
        (
            lambda: learning_coefficient_normal_crossing([0, 0]),
            ValueError,
            r"^powers must contain at least one positive",
        ),
        (lambda: learning_coefficient_normal_crossing(2), TypeError, r"^powers must be a sequence of integers"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- multiplicities -----------------------------------------------------------------------------


def test_multiplicities():
    # Two layers: Aoyagi (2024)'s a (l - a) + 1 reproduces Aoyagi & Watanabe (2005)'s RRR order.
    for m, h, n in itertools.product(range(1, 7), repeat=3):
        for r in range(min(m, h, n) + 1):
            assert (
                learning_coefficient_dln([m, h, n], r).multiplicity == learning_coefficient_rrr(m, h, n, r).multiplicity
            )
    # K = (w_1 ... w_L)^2 is a normal crossing: lambda = 1/2 with multiplicity L (chapter 8).
    for layers in range(1, 6):
        lam = learning_coefficient_dln([1] * (layers + 1), 0)
        assert (lam, lam.multiplicity) == (0.5, layers)
    assert learning_coefficient_dln([2, 2, 2, 2], 0).multiplicity == 3  # l = 3, a = 2
    assert learning_coefficient_dln([3, 3, 3], 1).multiplicity == 1
    assert learning_coefficient_rrr(3, 2, 2, 0).multiplicity == 2  # M + H + N + r odd
    assert learning_coefficient_dln([4, 5], 2).multiplicity == 1  # regular
    lam = learning_coefficient_dln([2, 2, 2, 2], 0)
    assert isinstance(lam, float) and repr(lam) == "1.5" and pickle.loads(pickle.dumps(lam)).multiplicity == 3


# -- the exact finite-nbeta target ---------------------------------------------------------------


def brute_force_target(widths, nbeta, gamma, samples, seed):
    """nbeta E[L] under exp(-nbeta L - gamma |w|^2 / 2), L = ||W_L ... W_1||^2 / 2, by importance
    sampling from the Gaussian prior; returns the estimate and its delta-method standard error."""
    rng = np.random.default_rng(seed)
    mats = [
        rng.standard_normal((samples, b, a)) / math.sqrt(gamma) for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    prod = mats[0]
    for mat in mats[1:]:
        prod = mat @ prod
    energy = 0.5 * nbeta * (prod**2).sum(axis=(1, 2))
    weight = np.exp(-(energy - energy.min()))
    weight /= weight.sum()
    est = float((weight * energy).sum())
    return est, math.sqrt(float(((weight * (energy - est)) ** 2).sum()))


@pytest.mark.parametrize(
    "widths, nbeta, gamma",
    [
        ([2, 2, 3], 3.0, 1.0),
        ([4, 2, 1], 6.0, 0.7),
        ([1, 3, 2], 2.5, 2.0),
        ([5, 2, 2], 1.5, 1.0),
        ([2, 4, 2], 4.0, 1.5),
        ([2, 2, 2, 2], 3.0, 1.0),
        ([2, 1, 2, 3], 5.0, 1.2),
        ([3, 2, 2, 1], 2.0, 0.8),
        ([1, 2, 2, 2], 8.0, 1.0),
        ([3, 4], 2.0, 3.0),
    ],
)
def test_exact_target_matches_brute_force(widths, nbeta, gamma):
    est, se = brute_force_target(widths, nbeta, gamma, 400_000, seed=sum(widths))
    exact = exact_llc_target(widths, nbeta, gamma)
    assert abs(est - exact) < 4 * se and se < 0.01 * exact, (est, se, exact)


def test_exact_target_closed_forms():
    # One layer: a Gaussian posterior with precision (nbeta + gamma) I, E = (d/2) nbeta / (nbeta + gamma).
    assert exact_llc_target([3, 2], 50.0, 2.0) == pytest.approx(3 * 50 / 52, rel=1e-12)
    # [d_in, 1, d_out]: Z(t) = t^(-a) Gamma(a) U(a, a - d_in/2 + 1, 1/(2t)), a = d_out/2, so
    # E = -t d ln Z / dt = a - a z U(a + 1, b + 1, z) / U(a, b, z) with z = 1/(2t).
    for d_in, d_out in [(1, 1), (2, 3), (3, 1), (5, 2)]:
        a, b = d_out / 2, d_out / 2 - d_in / 2 + 1
        for t in (0.3, 20.0, 3e4, 1e9):
            z = 1 / (2 * t)
            closed = a - a * z * hyperu(a + 1, b + 1, z) / hyperu(a, b, z)
            assert exact_llc_target([d_in, 1, d_out], t) == pytest.approx(closed, rel=1e-7)
    # [1, 1, 1]: integrate b out of exp(-t a^2 b^2 / 2 - (a^2 + b^2) / 2) by hand, then a by quadrature.
    t = 700.0

    def marginal(a):
        return math.exp(-a * a / 2) / math.sqrt(1 + t * a * a)

    z = integrate.quad(marginal, -40, 40, points=[0.0], limit=400)[0]
    num = integrate.quad(lambda a: 0.5 * t * a * a / (1 + t * a * a) * marginal(a), -40, 40, points=[0.0], limit=400)[0]
    assert exact_llc_target([1, 1, 1], t) == pytest.approx(num / z, rel=1e-8)


def test_exact_target_symmetries_and_scaling():
    # Transposing the network (reversed widths) leaves ||P|| unchanged; the code integrates a
    # different layer out for [4, 2, 5] and [5, 2, 4] (Wishart matrices with 5 and 4 degrees of freedom).
    nb = np.array([0.5, 40.0, 1e5])
    np.testing.assert_allclose(exact_llc_target([4, 2, 5], nb), exact_llc_target([5, 2, 4], nb), rtol=1e-7)
    np.testing.assert_allclose(exact_llc_target([2, 1, 2, 3], nb), exact_llc_target([3, 2, 1, 2], nb), rtol=1e-7)
    # L layers: E(nbeta, gamma) = E(nbeta / gamma^L, 1); arrays keep their shape.
    assert exact_llc_target([2, 2, 2, 2], 300.0, 2.0) == pytest.approx(exact_llc_target([2, 2, 2, 2], 37.5), rel=1e-12)
    assert exact_llc_target([3, 2, 2], np.array([10.0, 100.0])).shape == (2,)
    values = exact_llc_target([3, 2, 2], np.geomspace(1, 1e8, 9))
    assert np.all(np.diff(values) > 0) and values[-1] < learning_coefficient_dln([3, 2, 2], 0)


@pytest.mark.parametrize("widths", [[3, 2, 2], [2, 2, 2], [1, 1, 1], [1, 1, 1, 1], [2, 2, 2, 1], [4, 3, 2], [3, 2, 3]])
def test_exact_target_tends_to_aoyagi_with_its_multiplicity(widths):
    # The density of states v(K) ~ K^(lambda - 1) (-ln K)^(m - 1) gives E = lambda - (m - 1) / (ln nbeta + c)
    # + O(1 / ln^3): fit (m - 1, c) with Aoyagi's lambda on nbeta = 10^8 ... 10^16.
    lam = learning_coefficient_dln(widths, 0)
    nb = np.geomspace(1e8, 1e16, 5)
    values = exact_llc_target(widths, nb)
    (b, c), _ = optimize.curve_fit(lambda lt, b, c: lam - b / (lt + c), np.log(nb), values, p0=(1.0, 1.0))
    assert abs(b - (lam.multiplicity - 1)) < 0.1, (b, lam.multiplicity)
    assert np.all(values < lam + 1e-9)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: exact_llc_target([3, 3, 3], 10.0), NotImplementedError, r"two-layer networks with min\(h, d_out\)"),
        (lambda: exact_llc_target([2, 3, 3, 2], 10.0), NotImplementedError, r"hidden widths <= 2"),
        (lambda: exact_llc_target([2, 2, 2, 2, 2], 10.0), NotImplementedError, r"hidden widths <= 2"),
        (lambda: exact_llc_target([2, 2, 2], 0.0), ValueError, r"^nbeta must be a positive"),
        (lambda: exact_llc_target([2, 2, 2], [[1.0]]), ValueError, r"^nbeta must be a positive"),
        (lambda: exact_llc_target([2, 2, 2], "10"), ValueError, r"^nbeta must be a positive"),
        (lambda: exact_llc_target([2, 2, 2], 10.0, 0.0), ValueError, r"^localization must be > 0"),
        (lambda: exact_llc_target([2], 10.0), ValueError, r"^widths must hold at least 2"),
    ],
)
def test_exact_target_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
