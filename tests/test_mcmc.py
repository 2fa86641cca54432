"""utils.mcmc's chain diagnostics against ArviZ's numbers and closed forms.

The reference values were computed once with ArviZ 0.23.4 (``arviz.stats.diagnostics``:
``_rhat_rank``, ``_ess_bulk``, ``_ess_mean``, ``_mcse_mean``, the functions behind ``az.rhat``,
``az.ess(method="bulk"|"mean")`` and ``az.mcse``, which implement Vehtari et al. 2021) on the
deterministic traces of :func:`fixed_trace`, and typed in here.
"""

import math

import numpy as np
import pytest

from utils import mcmc


def fixed_trace(chains=4, draws=301, phi=0.9, shift=0.0):
    """AR(1) chains driven by a deterministic pseudo-random sequence; the last chain shifted by ``shift``."""
    k = np.arange(chains * draws, dtype=float).reshape(chains, draws)
    e = np.modf(np.abs(np.sin(12.9898 * k + 78.233)) * 43758.5453)[0] - 0.5
    x = np.zeros_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    x[-1] += shift
    return x


# (trace arguments, R-hat, bulk ESS, ESS of the mean, MCSE of the mean) from ArviZ 0.23.4
ARVIZ = [
    ({}, 1.0314439974496428, 67.494014926984, 66.73785593760888, 0.07997596833362883),
    ({"shift": 0.5}, 1.129596369006139, 24.80910771702121, 23.508903038931923, 0.14656785782456122),
    ({"phi": 0.0, "draws": 200}, 1.0004636381055771, 851.5171095119772, 832.4639720446025, 0.010030330840278226),
    (
        {"chains": 2, "draws": 1000, "phi": 0.99},
        1.1983661514504518,
        8.844164050497644,
        7.655631701066553,
        0.7137895904518857,
    ),
]


@pytest.mark.parametrize("kwargs, r_hat, ess_bulk, ess_mean, mcse", ARVIZ)
def test_matches_arviz(kwargs, r_hat, ess_bulk, ess_mean, mcse):
    x = fixed_trace(**kwargs)
    assert mcmc.r_hat(x) == pytest.approx(r_hat, rel=1e-10)
    assert mcmc.ess_bulk(x) == pytest.approx(ess_bulk, rel=1e-10)
    assert mcmc._ess_mean(x) == pytest.approx(ess_mean, rel=1e-10)
    assert mcmc.mcse_mean(x) == pytest.approx(mcse, rel=1e-10)


def ar1(chains, draws, phi, seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(chains, draws))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / math.sqrt(1 - phi**2)  # start in the stationary law
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_ess_of_ar1_matches_closed_form(phi):
    # For AR(1), tau = (1 + phi) / (1 - phi): ESS = chains * draws * (1 - phi) / (1 + phi).
    x = ar1(4, 20_000, phi, seed=1)
    exact = x.size * (1 - phi) / (1 + phi)
    assert mcmc._ess_mean(x) == pytest.approx(exact, rel=0.1)
    assert mcmc.ess_bulk(x) == pytest.approx(exact, rel=0.1)
    sd = 1 / math.sqrt(1 - phi**2)
    assert mcmc.mcse_mean(x) == pytest.approx(sd / math.sqrt(exact), rel=0.1)
    assert mcmc.r_hat(x) < 1.01
    assert abs(mcmc.drift_z(x)) < 3


def test_r_hat_catches_shift_scale_and_trend():
    rng = np.random.default_rng(2)
    iid = rng.normal(size=(4, 1000))
    assert mcmc.r_hat(iid) < 1.01
    shifted = iid + np.array([0, 0, 0, 0.3])[:, None]
    assert mcmc.r_hat(shifted) > 1.01
    # Same mean, one chain twice as wide: only the folded (rank) R-hat sees it.
    scaled = iid * np.array([1, 1, 1, 2.0])[:, None]
    assert mcmc._classic_r_hat(mcmc._split(scaled)) < 1.01  # classic split R-hat (Gelman et al. 2013)
    assert mcmc.r_hat(scaled) > 1.01
    # All chains still rising: split halves disagree, and the running mean drifts.
    rising = iid + np.linspace(0, 1, 1000)
    assert mcmc.r_hat(rising) > 1.01
    assert mcmc.drift_z(rising) > 3
    assert mcmc.drift_z(-rising) < -3


def test_constant_and_bad_traces():
    const = np.ones((4, 100))
    assert mcmc.r_hat(const) == 1.0
    assert mcmc.ess_bulk(const) == 400
    with pytest.raises(ValueError, match=r"^trace must have shape"):
        mcmc.r_hat(np.zeros(10))
    with pytest.raises(ValueError, match=r"^trace must have shape"):
        mcmc.ess_bulk(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^trace must be finite"):
        mcmc.mcse_mean(np.array([[0.0, 1.0, np.nan, 2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"^trace needs at least 16 draws"):
        mcmc.drift_z(np.zeros((2, 10)))
