"""utils.ising_field against exact results: enumeration, Kaufman's energy, an exact Markov chain."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from utils import ising, ising_field, mcmc

# ------------------------------------------------------------------------------------------------
# Exact enumeration, checked against independent answers
# ------------------------------------------------------------------------------------------------


def brute_force_magnetization(L: int, T: float, h: float) -> float:
    """<m> by a plain loop over all configurations, with the energy written out site by site."""
    num = den = 0.0
    for config in itertools.product((-1, 1), repeat=L * L):
        s = np.array(config).reshape(L, L)
        bonds = sum(s[i, j] * (s[(i + 1) % L, j] + s[i, (j + 1) % L]) for i in range(L) for j in range(L))
        E = -bonds - h * s.sum()
        w = math.exp(-E / T)
        num += w * s.mean()
        den += w
    return num / den


@pytest.mark.parametrize(("L", "T", "h"), [(2, 1.5, 0.3), (3, 2.0, -0.2), (3, 5.0, 1.0)])
def test_exact_magnetization_matches_a_plain_loop(L: int, T: float, h: float) -> None:
    assert ising_field.exact_magnetization(L, T, h) == pytest.approx(brute_force_magnetization(L, T, h), rel=1e-12)


def test_enumeration_gives_the_published_density_of_states_of_4x4() -> None:
    # Beale (1996), PRL 76, 78: the exact g(E) of the periodic 4 x 4 lattice, E = -B = 0, 4, ..., 32
    # (symmetric in E -> -E). Kaufman's energy against enumeration is test_ising's, on its own loop.
    M, B, counts = ising_field._density_of_states(4)
    g = {E: int(counts[B == -E].sum()) for E in range(-32, 33, 4)}
    beale = {32: 2, 24: 32, 20: 64, 16: 424, 12: 1728, 8: 6688, 4: 13568, 0: 20524, 28: 0}
    for E, count in beale.items():
        assert g[E] == g[-E] == count, E
    assert sum(g.values()) == counts.sum() == 2**16
    # and each bond sum splits evenly between M and -M (spin-flip symmetry)
    for m, b, c in zip(M, B, counts, strict=True):
        assert c == counts[(M == -m) & (B == b)].sum()


def test_exact_magnetization_limits_and_symmetry() -> None:
    h = np.array([-0.5, -0.1, 0.0, 0.1, 0.5])
    m = ising_field.exact_magnetization(4, 2.0, h)
    assert isinstance(m, np.ndarray) and m.shape == (5,)
    np.testing.assert_allclose(m, -m[::-1], atol=1e-14)  # m(-h) = -m(h)
    assert m[2] == 0.0 and np.all(np.diff(m) > 0)
    assert isinstance(ising_field.exact_magnetization(4, 2.0, 0.1), float)
    # independent spins far above every coupling: m -> tanh(h / T)
    assert ising_field.exact_magnetization(4, 1e4, 10.0) == pytest.approx(math.tanh(1e-3), rel=1e-3)
    # far below T_c only the two ground states count: m = tanh(L^2 h / T)
    assert ising_field.exact_magnetization(4, 0.05, 1e-3) == pytest.approx(math.tanh(0.32), rel=1e-12)


# ------------------------------------------------------------------------------------------------
# The sampler against the exact answers
# ------------------------------------------------------------------------------------------------


def equilibrium_series(L: int, T: float, h: float, n: int, seed: int, burnin: int = 1000) -> np.ndarray:
    return ising_field.metropolis_field_sweep(L, T, np.full(n + burnin, h), sweeps_per_field=1, seed=seed)[burnin:]


@pytest.mark.parametrize(("T", "h", "seed"), [(2.5, 0.1, 1), (2.5, 0.4, 2), (2.0, -0.2, 3), (3.5, 1.0, 4)])
def test_sampler_matches_exact_enumeration_of_4x4(T: float, h: float, seed: int) -> None:
    m = equilibrium_series(4, T, h, 200_000, seed)
    exact = ising_field.exact_magnetization(4, T, h)
    assert abs(m.mean() - exact) < 4 * mcmc.binned_error(m), (m.mean(), exact)


def test_zero_field_reduces_to_the_existing_sampler_and_to_enumeration() -> None:
    # <m^2> of the 4x4 lattice at h = 0, exactly, and from both samplers
    T = 2.5
    M, B, counts = ising_field._density_of_states(4)
    w = counts * np.exp((B - B.max()) / T)
    m2_exact = np.sum(w * (M / 16.0) ** 2) / np.sum(w)
    m = equilibrium_series(4, T, 0.0, 200_000, seed=5)
    assert abs(np.mean(m**2) - m2_exact) < 4 * mcmc.binned_error(m**2)
    # L = 8: <|m|> and <m^2> agree with utils.ising's multispin sampler
    m8 = equilibrium_series(8, T, 0.0, 100_000, seed=6)
    ref = ising.sample_observables(8, T, num_samples=100_000, num_burnin=1000, seed=7).m[0]
    for f in (np.abs, np.square):
        a, b = f(m8), f(ref)
        assert abs(a.mean() - b.mean()) < 4 * math.hypot(mcmc.binned_error(a), mcmc.binned_error(b))


def test_magnetization_is_odd_in_the_field() -> None:
    up = equilibrium_series(8, 2.5, 0.2, 50_000, seed=8)
    down = equilibrium_series(8, 2.5, -0.2, 50_000, seed=9)
    assert up.mean() > 0.3
    assert abs(up.mean() + down.mean()) < 4 * math.hypot(mcmc.binned_error(up), mcmc.binned_error(down))


def test_hysteresis_below_tc_and_none_far_above() -> None:
    h = np.linspace(1.0, -1.0, 41)
    loop = np.concatenate([h, h[::-1]])  # down from +1, then back up
    zero_down, zero_up = 20, 61  # the two visits of h = 0
    cold = ising_field.metropolis_field_sweep(16, 1.5, loop, sweeps_per_field=5, seed=10)
    assert loop[zero_down] == loop[zero_up] == 0.0
    assert cold[zero_down] > 0.9 and cold[zero_up] < -0.9  # the history decides the sign at h = 0
    assert cold[40] < -0.9 and cold[-1] > 0.9  # a strong field saturates
    hot = ising_field.metropolis_field_sweep(16, 5.0, loop, sweeps_per_field=5, seed=10)
    assert abs(hot[zero_down] - hot[zero_up]) < 0.2


def test_same_seed_same_numbers_and_random_start() -> None:
    fields = np.linspace(0.5, -0.5, 11)
    a = ising_field.metropolis_field_sweep(8, 2.0, fields, sweeps_per_field=3, seed=11)
    b = ising_field.metropolis_field_sweep(8, 2.0, fields, sweeps_per_field=3, seed=11)
    c = ising_field.metropolis_field_sweep(8, 2.0, fields, sweeps_per_field=3, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (11,) and np.all(np.abs(a) <= 1)
    # a random start at infinite temperature stays near m = 0
    r = ising_field.metropolis_field_sweep(32, 1e6, [0.0], sweeps_per_field=1, seed=13, start="random")
    assert abs(r[0]) < 0.1


# ------------------------------------------------------------------------------------------------
# Metastable lifetimes against an exact Markov chain
# ------------------------------------------------------------------------------------------------


def exact_mean_escape_time(T: float, h: float) -> float:
    """Mean number of sweeps from all +1 until sum(s) < 0, 2 x 2 lattice, from the exact sweep matrix."""
    L, n = 2, 4
    configs = np.array([[1 - 2 * ((c >> k) & 1) for k in range(n)] for c in range(2**n)])  # site k = (k // 2, k % 2)

    def site_update(i: int, j: int) -> np.ndarray:
        P = np.zeros((2**n, 2**n))
        k = i * L + j
        for c, s in enumerate(configs):
            grid = s.reshape(L, L)
            nb = grid[(i + 1) % L, j] + grid[i - 1, j] + grid[i, (j + 1) % L] + grid[i, j - 1]
            a = min(1.0, math.exp(-2 * grid[i, j] * (nb + h) / T))
            P[c, c ^ (1 << k)] += a
            P[c, c] += 1 - a
        return P

    sweep = site_update(0, 0) @ site_update(1, 1) @ site_update(0, 1) @ site_update(1, 0)  # checkerboard order
    alive = configs.sum(axis=1) >= 0
    Q = sweep[np.ix_(alive, alive)]
    t = np.linalg.solve(np.eye(alive.sum()) - Q, np.ones(alive.sum()))
    return float(t[np.flatnonzero(alive).tolist().index(0)])  # code 0 = all spins +1


# (3, -3): escapes mostly within a few sweeps, where "m < 0" and "m <= 0" differ by 5%
@pytest.mark.parametrize(("T", "h"), [(1.0, -0.5), (2.0, -0.3), (3.0, -3.0)])
def test_mean_lifetime_matches_the_exact_markov_chain(T: float, h: float) -> None:
    times = ising_field.metastable_lifetime(2, T, h, num_runs=20_000, max_sweeps=10**6, seed=14)
    assert np.all(np.isfinite(times)) and np.all(times >= 1)
    exact = exact_mean_escape_time(T, h)
    assert abs(times.mean() - exact) < 4 * times.std() / math.sqrt(times.size), (times.mean(), exact)


def test_lifetime_grows_as_the_field_weakens_and_is_censored() -> None:
    strong = ising_field.metastable_lifetime(16, 1.5, -0.8, num_runs=8, max_sweeps=10_000, seed=15)
    weak = ising_field.metastable_lifetime(16, 1.5, -0.4, num_runs=8, max_sweeps=10_000, seed=15)
    assert np.median(weak) > 3 * np.median(strong)
    stuck = ising_field.metastable_lifetime(16, 1.0, -0.01, num_runs=3, max_sweeps=50, seed=16)
    assert np.all(np.isinf(stuck))


# ------------------------------------------------------------------------------------------------
# Argument errors name the argument
# ------------------------------------------------------------------------------------------------


def test_errors_name_the_argument() -> None:
    sweep = ising_field.metropolis_field_sweep
    with pytest.raises(ValueError, match=r"^L must be even"):
        sweep(5, 2.0, [0.1], sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^L must be >= 2"):
        sweep(0, 2.0, [0.1], sweeps_per_field=1)
    with pytest.raises(TypeError, match=r"^L must be an integer"):
        sweep(4.0, 2.0, [0.1], sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^T must be > 0"):
        sweep(4, 0.0, [0.1], sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^fields must be a non-empty 1-D"):
        sweep(4, 2.0, [], sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^fields must be a non-empty 1-D"):
        sweep(4, 2.0, [[0.1]], sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^fields must be finite"):
        sweep(4, 2.0, [0.1, np.nan], sweeps_per_field=1)
    with pytest.raises(TypeError, match=r"^fields must be a real number"):
        sweep(4, 2.0, "up", sweeps_per_field=1)
    with pytest.raises(ValueError, match=r"^sweeps_per_field must be >= 1"):
        sweep(4, 2.0, [0.1], sweeps_per_field=0)
    with pytest.raises(ValueError, match=r"^start must be one of"):
        sweep(4, 2.0, [0.1], sweeps_per_field=1, start="up")
    with pytest.raises(ValueError, match=r"^seed must be >= 0"):
        sweep(4, 2.0, [0.1], sweeps_per_field=1, seed=-1)
    life = ising_field.metastable_lifetime
    with pytest.raises(ValueError, match=r"^h must be < 0"):
        life(4, 2.0, 0.1, num_runs=1, max_sweeps=10)
    with pytest.raises(ValueError, match=r"^num_runs must be >= 1"):
        life(4, 2.0, -0.1, num_runs=0, max_sweeps=10)
    with pytest.raises(ValueError, match=r"^max_sweeps must be >= 1"):
        life(4, 2.0, -0.1, num_runs=1, max_sweeps=0)
    with pytest.raises(ValueError, match=r"^L must be even"):
        life(3, 2.0, -0.1, num_runs=1, max_sweeps=10)
    exact = ising_field.exact_magnetization
    with pytest.raises(ValueError, match=r"^L must be <= 4"):
        exact(5, 2.0, 0.1)
    with pytest.raises(ValueError, match=r"^T must be > 0"):
        exact(3, -1.0, 0.1)
    with pytest.raises(TypeError, match=r"^h must be a real number"):
        exact(3, 2.0, "0.1")
