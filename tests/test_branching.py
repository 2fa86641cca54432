"""utils.branching against exact results: the fixed-point equation, Lambert W, closed forms, binomial error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import lambertw

from utils import branching as br


def test_q_solves_its_equation() -> None:
    m = np.linspace(1.05, 8.0, 60)
    q = br.extinction_probability(m)
    np.testing.assert_allclose(q, np.exp(m * (q - 1.0)), rtol=1e-13, atol=1e-15)
    assert np.all((q > 0) & (q < 1))


def test_q_is_one_at_and_below_critical() -> None:
    m = np.array([0.0, 0.3, 0.9, 0.999999, 1.0])
    assert np.all(br.extinction_probability(m) == 1.0)
    assert np.all(br.survival_probability(m) == 0.0)
    assert br.extinction_probability(1.0) == 1.0


@pytest.mark.parametrize(
    "fn",
    [
        br.extinction_probability,
        br.survival_probability,
        br.relaxation_time,
        br.mean_total_progeny,
        lambda m: br.pgf(0.5, m),
    ],
)
def test_scalar_in_float_out(fn) -> None:
    for m in (0.5, 2, np.float64(1.5)):
        assert type(fn(m)) is float
    out = fn(np.array([0.5, 2.0]))
    assert isinstance(out, np.ndarray) and out.shape == (2,)


def test_known_value_m2_and_lambert_w() -> None:
    # Independent closed form: q = -W(-m e^{-m}) / m (principal branch).
    m = np.array([1.01, 1.3, 2.0, 3.0, 10.0])
    exact = np.real(-lambertw(-m * np.exp(-m)) / m)
    np.testing.assert_allclose(br.extinction_probability(m), exact, rtol=1e-10)


def test_tiny_q_keeps_relative_precision() -> None:
    # For large m, q ~ exp(-m): the smallest root stays accurate in relative terms.
    m = 50.0
    q = br.extinction_probability(m)
    assert q == pytest.approx(np.exp(-m * (1 - q)), rel=1e-12)
    assert q == pytest.approx(np.real(-lambertw(-m * np.exp(-m)) / m), rel=1e-9)  # Lambert W, as above


@pytest.mark.parametrize("eps", [1e-2, 1e-4, 1e-6, 1e-9])
def test_near_critical_expansion_to_full_relative_precision(eps: float) -> None:
    # s = 1 - q = 2 eps - (8/3) eps^2 + (28/9) eps^3 + O(eps^4) for Poisson(1 + eps) offspring
    # (mean-field beta = 1; the next term is about -3.4 eps^4, so the relative error of the series
    # is below 2 eps^3). At eps = 1e-9 an s obtained as 1 - q, even with q correctly rounded, is
    # off by up to 1e-16 / 2e-9 = 5e-8 relative: the tolerance 1e-14 sees that. (abs=0: pytest's
    # default abs=1e-12 would allow 5e-4 relative at s = 2e-9.)
    m = 1.0 + eps
    e = m - 1.0  # the eps that m holds: 1 + 1e-9 rounds to 1 + 1.00000008e-9
    series = 2 * e - 8 / 3 * e**2 + 28 / 9 * e**3
    assert br.survival_probability(m) == pytest.approx(series, rel=2 * e**3 + 1e-14, abs=0)
    # and q = 1 - s, which is close to 1 here, to full absolute precision
    assert br.extinction_probability(m) == pytest.approx(1 - series, rel=0, abs=4 * e**4 + 4e-16)


def test_geometric_offspring_closed_form() -> None:
    m = np.array([0.5, 1.0, 1.5, 4.0])
    np.testing.assert_allclose(br.extinction_probability(m, "geometric"), np.minimum(1.0, 1.0 / m), rtol=1e-14)
    q = br.extinction_probability(m, "geometric")
    np.testing.assert_allclose(br.pgf(q, m, "geometric"), q, rtol=1e-14)


def test_generation_iterates_increase_to_q() -> None:
    q_n = br.extinction_by_generation(1.8, 200)
    assert q_n[0] == 0.0 and q_n[1] == pytest.approx(np.exp(-1.8))
    assert np.all(np.diff(q_n) >= 0)
    assert q_n[-1] == pytest.approx(br.extinction_probability(1.8), abs=1e-13)


def test_relaxation_time_closed_forms() -> None:
    # Subcritical: q = 1, f'(1) = m, tau = -1/ln m. Supercritical: f'(q) = m q. Both ~ 1/|m-1|.
    assert br.relaxation_time(0.5) == pytest.approx(1 / np.log(2))
    assert br.relaxation_time(1.0) == np.inf
    q = br.extinction_probability(2.0)
    assert br.relaxation_time(2.0) == pytest.approx(-1 / np.log(2 * q))
    for eps in (1e-3, 1e-4):
        assert br.relaxation_time(1 - eps) * eps == pytest.approx(1.0, rel=1e-3)
        assert br.relaxation_time(1 + eps) * eps == pytest.approx(1.0, rel=3e-3)
    # and the exact iterates really approach q at that rate
    q_n = br.extinction_by_generation(1.5, 60)
    gap = br.extinction_probability(1.5) - q_n
    rate = gap[41:51] / gap[40:50]
    np.testing.assert_allclose(rate, np.exp(-1 / br.relaxation_time(1.5)), rtol=1e-3)


def test_mean_total_progeny() -> None:
    assert br.mean_total_progeny(0.75) == pytest.approx(4.0)
    assert br.mean_total_progeny(1.0) == np.inf
    # simulation: mean total number born, subcritical, within 5 standard errors
    z = br.simulate(0.75, 80, 20_000, seed=3)
    total = z.sum(axis=1)
    assert abs(total.mean() - 4.0) < 5 * total.std() / np.sqrt(len(total))


@pytest.mark.parametrize("m, offspring", [(0.8, "poisson"), (1.0, "poisson"), (1.6, "poisson"), (1.6, "geometric")])
def test_simulation_matches_exact_within_binomial_error(m: float, offspring: str) -> None:
    num_gen, num_runs = 25, 20_000
    z = br.simulate(m, num_gen, num_runs, offspring=offspring, cap=5_000, seed=11)
    exact = br.extinction_by_generation(m, num_gen, offspring)
    for n in (1, 5, num_gen):
        frac = np.mean(z[:, n] == 0)
        se = np.sqrt(exact[n] * (1 - exact[n]) / num_runs)
        assert abs(frac - exact[n]) < 5 * se + 1e-12, (n, frac, exact[n])


def test_simulation_mean_grows_like_m_power_n() -> None:
    z = br.simulate(1.3, 6, 40_000, cap=10**9, seed=5)
    mean = z.mean(axis=0)
    se = z.std(axis=0) / np.sqrt(z.shape[0])
    assert np.all(np.abs(mean - 1.3 ** np.arange(7)) < 5 * se + 1e-12)


def test_simulation_is_seeded_and_capped() -> None:
    a = br.simulate(2.5, 20, 100, cap=50, seed=7)
    b = br.simulate(2.5, 20, 100, cap=50, seed=7)
    c = br.simulate(2.5, 20, 100, cap=50, seed=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (100, 21) and a.max() == 50 and np.all(a[:, 0] == 1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: br.extinction_probability(-0.5), ValueError, r"^m must be >= 0 \(mean number of offspring\)"),
        (lambda: br.extinction_probability(np.nan), ValueError, r"^m must be finite"),
        (lambda: br.extinction_probability("two"), TypeError, r"^m must be a real number"),
        (lambda: br.extinction_probability(None), TypeError, r"^m must be a real number"),
        (lambda: br.extinction_probability(2.0, "binomial"), ValueError, r"^offspring must be one of"),
        (lambda: br.pgf("x", 2.0), TypeError, r"^s must be a real number"),
        (lambda: br.simulate(1.5, 0, 10), ValueError, r"^generations must be >= 1"),
        (lambda: br.simulate(1.5, 10, 2.5), TypeError, r"^num_runs must be an integer"),
        (lambda: br.simulate(1.5, 10, 10, cap=0), ValueError, r"^cap must be >= 1"),
        (lambda: br.simulate(-1.0, 10, 10), ValueError, r"^m must be >= 0"),
        (lambda: br.simulate(1.5, 10, 10, seed=-1), ValueError, r"^seed must be >= 0"),
        (lambda: br.extinction_by_generation(1.5, -1), ValueError, r"^generations must be >= 0"),
    ],
)
def test_bad_input(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


# --- avalanches (total progeny) and increasing returns ---------------------------------------


def test_total_progeny_pmf_small_sizes_by_hand() -> None:
    # enumerate the trees: S = 1 (no child), 2 (one childless child), 3 (two childless children, or a chain)
    for m in (0.4, 1.0, 2.3):
        e = np.exp(-m)
        p1, p2, p3 = br.total_progeny_pmf([1, 2, 3], m)
        assert p1 == pytest.approx(e, rel=1e-14)
        assert p2 == pytest.approx(m * e * e, rel=1e-14)
        assert p3 == pytest.approx(m**2 / 2 * e**3 + (m * e) * (m * e) * e, rel=1e-13)


@pytest.mark.parametrize("m", [0.3, 0.8, 1.5, 2.5])
def test_total_progeny_pmf_normalisation_and_mean(m: float) -> None:
    s = np.arange(1, 200_001)
    p = br.total_progeny_pmf(s, m)
    # finite cascades have total probability q (1 for m <= 1); sub-critical mean size 1 / (1 - m)
    assert p.sum() == pytest.approx(br.extinction_probability(m), rel=1e-12)
    if m < 1:
        assert (s * p).sum() == pytest.approx(1 / (1 - m), rel=1e-12)


def test_total_progeny_critical_power_law_and_cutoff() -> None:
    # m = 1: P(s) s^{3/2} sqrt(2 pi) = 1 - 1/(12 s) + ... (Stirling)
    s = np.array([1e3, 1e5])
    assert np.sqrt(2 * np.pi) * s**1.5 * br.total_progeny_pmf(s, 1.0) == pytest.approx(1 - 1 / (12 * s), rel=1e-8)
    # m != 1: s^{3/2} P(s) e^{s / s_xi} tends to a constant (the naive 2 / (1 - m)^2 misses by 0.36 here)
    for m in (0.9, 1.1):
        s_xi = br.avalanche_cutoff(m)
        g = [np.log(br.total_progeny_pmf(x, m)) + 1.5 * np.log(x) + x / s_xi for x in (1000.0, 2000.0)]
        assert abs(g[0] - g[1]) < 1e-4
    assert br.avalanche_cutoff(1 - 1e-6) == pytest.approx(2e12 / (1 + 2e-6 / 3), rel=1e-9)
    assert br.avalanche_cutoff(1.0) == np.inf


def test_simulated_avalanches_follow_the_borel_law() -> None:
    m, n, cap = 0.95, 40_000, 500
    sizes = br.simulate_total_progeny(m, n, cap=cap, seed=4)
    assert sizes.shape == (n,) and sizes.min() >= 1 and sizes.max() <= cap
    exact = br.total_progeny_pmf(np.arange(1, cap), m)
    for s in (1, 2, 3, 10):
        frac = np.mean(sizes == s)
        se = np.sqrt(exact[s - 1] * (1 - exact[s - 1]) / n)
        assert abs(frac - exact[s - 1]) < 5 * se
    tail = 1 - exact.sum()  # P(S >= cap)
    assert abs(np.mean(sizes == cap) - tail) < 5 * np.sqrt(tail * (1 - tail) / n)
    assert np.array_equal(sizes, br.simulate_total_progeny(m, n, cap=cap, seed=4))


@pytest.mark.parametrize("a", [0.5, 1.0, 1.5, 2.0])
def test_increasing_returns_solves_its_ode(a: float) -> None:
    from scipy.integrate import solve_ivp

    rate, x0 = 0.7, 1.3
    t_end = 0.9 * min(br.blowup_time(a, rate=rate, x0=x0), 3.0)
    t = np.linspace(0, t_end, 7)
    sol = solve_ivp(lambda _, x: rate * x**a, (0, t_end), [x0], t_eval=t, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(br.increasing_returns(t, a, rate=rate, x0=x0), sol.y[0], rtol=1e-8)


def test_blowup_time() -> None:
    # dx/dt = x^2, x(0) = 1: x = 1 / (1 - t), blows up at t = 1
    assert br.blowup_time(2.0) == 1.0 and br.blowup_time(1.0) == np.inf
    assert br.increasing_returns(0.5, 2.0) == pytest.approx(2.0, rel=1e-15)
    assert br.increasing_returns(1.0, 2.0) == np.inf and br.increasing_returns(2.0, 2.0) == np.inf
    # dx/dt = 2 x^1.5 from x = 4, integrated numerically until x = 1e12 (the time left is then about 1e-6)
    from scipy.integrate import solve_ivp

    def huge(_, x):
        return x[0] - 1e12

    huge.terminal = True
    sol = solve_ivp(lambda _, x: 2.0 * x**1.5, (0, 10.0), [4.0], events=huge, rtol=1e-12, atol=1e-12)
    assert br.blowup_time(1.5, rate=2.0, x0=4.0) == pytest.approx(sol.t_events[0][0], abs=1e-5)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: br.total_progeny_pmf(0, 1.0), ValueError, r"^s must be >= 1"),
        (lambda: br.total_progeny_pmf(2.5, 1.0), ValueError, r"^s must hold whole numbers"),
        (lambda: br.total_progeny_pmf(2, 0.0), ValueError, r"^m must be > 0"),
        (lambda: br.avalanche_cutoff(-1.0), ValueError, r"^m must be > 0"),
        (lambda: br.simulate_total_progeny(1.0, 0), ValueError, r"^num_runs must be >= 1"),
        (lambda: br.simulate_total_progeny(1.0, 10, cap=0), ValueError, r"^cap must be >= 1"),
        (lambda: br.simulate_total_progeny(1.0, 10, seed=-2), ValueError, r"^seed must be >= 0"),
        (lambda: br.increasing_returns(-1.0, 2.0), ValueError, r"^t must be >= 0"),
        (lambda: br.increasing_returns(1.0, 2.0, rate=0), ValueError, r"^rate must be > 0"),
        (lambda: br.blowup_time(2.0, x0=-1.0), ValueError, r"^x0 must be > 0"),
        (lambda: br.blowup_time("2"), TypeError, r"^exponent must be a real number"),
    ],
)
def test_bad_input_avalanches(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_chapter2_claims() -> None:
    """The numbers chapter 2 states, computed with the chapter's calls and seeds."""
    assert round(100 * br.survival_probability(1.1), 1) == 17.6  # "only 17.6 % run away at m = 1.1"
    # the exact curve's local exponent d ln(1 - q) / d ln(m - 1) is 1 - 4(m - 1)/3 + ...: 0.999999 at 1e-6
    eps, h = np.array([1e-6, 1e-4, 1e-2]), 1e-3
    local = (
        np.log(br.survival_probability(1 + eps * np.exp(h))) - np.log(br.survival_probability(1 + eps * np.exp(-h)))
    ) / (2 * h)
    assert np.all(np.abs(local - (1 - 4 * eps / 3)) < 2 * eps**2 + 1e-7)  # m - 1 holds eps to ~1e-10
    assert f"{local[0]:.6f}" == "0.999999"
    # the avalanche histogram at m = 1: slope -3/2 over two decades, bins within 3 Poisson errors
    n, cap = 20_000, 10_000
    sizes = br.simulate_total_progeny(1.0, n, cap=cap, seed=3)
    edges = np.unique(np.round(np.logspace(0, np.log10(cap), 25)))
    counts, _ = np.histogram(sizes[sizes < cap], bins=edges)
    width = np.diff(edges)
    centres = np.sqrt(edges[:-1] * (edges[1:] - 1))
    pmf = br.total_progeny_pmf(np.arange(1, cap), 1.0)
    p_bin = np.array([pmf[int(a) - 1 : int(b) - 1].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    ok = counts >= 10
    z = (counts - n * p_bin)[ok] / np.sqrt(n * p_bin[ok])
    assert np.max(np.abs(z)) < 3
    mid = (centres > 10) & (centres < 1000) & ok
    slope = np.polyfit(np.log(centres[mid]), np.log(counts[mid] / width[mid]), 1)[0]
    assert abs(slope + 1.5) < 0.02
    # the survival scan: simulation within 3 binomial errors of the exact finite-time curve
    grid = np.round(np.arange(0.6, 2.41, 0.1), 2)
    for i, m in enumerate(grid):
        alive = np.mean(br.simulate(m, 60, 4000, cap=2000, seed=10 + i)[:, -1] > 0)
        exact = 1 - br.extinction_by_generation(m, 60)[-1]
        assert abs(alive - exact) < 3 * np.sqrt(max(exact * (1 - exact), 1e-12) / 4000)


# --- moments of the population, with and without survival -------------------------------------


def population_pmf_by_convolution(m: float, generations: int, size: int) -> np.ndarray:
    """P(Z_n = k), k < size, for Poisson(m) offspring: Z_n | Z_{n-1} = j is Poisson(j m), summed over j."""
    from scipy.stats import poisson

    pmf = np.zeros(size)
    pmf[1] = 1.0
    k = np.arange(size)
    for _ in range(generations):
        new = np.zeros(size)
        new[0] = pmf[0]
        for j in np.nonzero(pmf[1:] > 1e-300)[0] + 1:
            new += pmf[j] * poisson.pmf(k, j * m)
        pmf = new
    return pmf


@pytest.mark.parametrize("m, n", [(0.7, 3), (1.0, 4), (1.4, 3)])
def test_population_moments_poisson_against_the_exact_law(m: float, n: int) -> None:
    pmf = population_pmf_by_convolution(m, n, 400)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)  # nothing lost beyond the truncation
    k = np.arange(pmf.size)
    for surviving in (False, True):
        w = pmf.copy()
        if surviving:
            w[0] = 0.0
            w /= w.sum()
        mean = (k * w).sum()
        var = ((k - mean) ** 2 * w).sum()
        skew = ((k - mean) ** 3 * w).sum() / var**1.5
        got = br.population_moments(m, n, surviving=surviving)
        assert (got.mean, got.variance, got.skewness) == pytest.approx((mean, var, skew), rel=1e-10)


@pytest.mark.parametrize("m", [0.8, 1.0, 1.25, 2.0])
def test_population_moments_geometric_closed_form(m: float) -> None:
    # Linear-fractional offspring: Z_n given Z_n > 0 is geometric on 1, 2, ... with mean mu = m^n / P(Z_n > 0),
    # whose variance is mu (mu - 1) and skewness (2 - 1/mu) / sqrt(1 - 1/mu).
    for n in (1, 5, 20):
        alive = 1 - br.extinction_by_generation(m, n, "geometric")[-1]
        mu = m**n / alive
        got = br.population_moments(m, n, "geometric", surviving=True)
        assert got.mean == pytest.approx(mu, rel=1e-12)
        assert got.variance == pytest.approx(mu * (mu - 1), rel=1e-10)
        assert got.skewness == pytest.approx((2 - 1 / mu) / np.sqrt(1 - 1 / mu), rel=1e-9)
    # unconditioned, one generation: the offspring law itself (variance m (1 + m), skewness (1 + 2m) / sqrt(m (1 + m)))
    one = br.population_moments(m, 1, "geometric")
    assert (one.mean, one.variance, one.skewness) == pytest.approx(
        (m, m * (1 + m), (1 + 2 * m) / np.sqrt(m * (1 + m))), rel=1e-12
    )


def test_population_moments_against_simulation() -> None:
    # critical Poisson process: skewness of Z_20 given survival, within 4 bootstrap errors of the exact value
    from utils.stats import bootstrap

    z = br.simulate(1.0, 20, 60_000, cap=10**9, seed=2)[:, -1]
    alive = z[z > 0].astype(float)

    def skew(x: np.ndarray) -> float:
        return float(np.mean((x - x.mean()) ** 3) / x.std() ** 3)

    est = bootstrap(alive, skew, num_resamples=200, seed=0)
    exact = br.population_moments(1.0, 20, surviving=True).skewness
    assert abs(est.value - exact) < 4 * est.error, (est, exact)
    assert 1.7 < exact < 2.0  # heading to the exponential's 2 (Yaglom), not to a Gaussian's 0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: br.population_moments(0.0, 3), ValueError, r"^m must be > 0"),
        (lambda: br.population_moments(1.5, 0), ValueError, r"^generations must be >= 1"),
        (lambda: br.population_moments(1.5, 3, "binomial"), ValueError, r"^offspring must be one of"),
        (lambda: br.population_moments(1.5, 3, surviving=1), TypeError, r"^surviving must be True or False"),
    ],
)
def test_bad_input_moments(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_borel_prefactor_is_one_over_m_root_two_pi() -> None:
    # s^{3/2} P(s) e^{s / s_xi} -> 1 / (m sqrt(2 pi)) (Stirling), not 1 / sqrt(2 pi m)
    # (in logs); Stirling's next terms: 1/s! = (e/s)^s (2 pi s)^{-1/2} (1 - 1/(12 s) + 1/(288 s^2) + ...)
    s = 2000.0
    for m in (0.5, 0.9, 1.3):
        log_limit = np.log(br.total_progeny_pmf(s, m)) + 1.5 * np.log(s) + s / br.avalanche_cutoff(m)
        assert np.exp(log_limit) == pytest.approx(
            (1 - 1 / (12 * s) + 1 / (288 * s**2)) / (m * np.sqrt(2 * np.pi)), rel=1e-9
        )
