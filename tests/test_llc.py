"""utils.llc.estimate_llc against exact answers: the estimator's exact expectation for
Gaussian (regular) and normal-crossing potentials at the given nbeta and localization, and
Aoyagi's deep linear network coefficient."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from utils.llc import (
    LLCResult,
    SamplerDivergedError,
    calibrate_step_size,
    default_nbeta,
    estimate_llc,
    sgld_step,
    split_r_hat,
)
from utils.slt import learning_coefficient_dln


class Potential(torch.nn.Module):
    """A model whose loss is a fixed potential K(w), whatever the data: L_n(w) = K(w)."""

    def __init__(self, k: callable, dim: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(dim, dtype=torch.float64))
        self.k = k

    def forward(self, x):
        return self.k(self.w).expand(x.shape[0])


def mean_loss(out, y):
    return out.mean()


def dummy_data(n):
    return torch.zeros(n, 1, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)


def check_close(res: LLCResult, exact: float, rel_bias: float = 0.03):
    """|estimate - exact| within 4 standard errors (over chains) plus a small step-size bias."""
    se = res.std / math.sqrt(len(res.per_chain))
    assert abs(res.mean - exact) < 4 * se + rel_bias * abs(exact), (res.mean, exact, se)


def exact_1d(k2: int, nbeta: float, gamma: float) -> float:
    """E[nbeta w^(2k)] under exp(-nbeta w^(2k) - gamma w^2 / 2), by quadrature."""

    def f(w):
        return math.exp(-nbeta * w ** (2 * k2) - gamma * w * w / 2)

    z = integrate.quad(f, -5, 5, points=[0.0], limit=200)[0]
    return nbeta * integrate.quad(lambda w: w ** (2 * k2) * f(w), -5, 5, points=[0.0], limit=200)[0] / z


def exact_w1sq_w2sq(nbeta: float, gamma: float) -> float:
    """E[nbeta w1^2 w2^2] under exp(-nbeta w1^2 w2^2 - gamma |w|^2 / 2): the w2 integral is Gaussian."""

    def marg(a):
        return math.exp(-gamma * a * a / 2) / math.sqrt(2 * nbeta * a * a + gamma)

    def inner(a):
        return nbeta * a * a / (2 * nbeta * a * a + gamma)

    z = integrate.quad(marg, -60, 60, points=[0.0], limit=400)[0]
    return integrate.quad(lambda a: inner(a) * marg(a), -60, 60, points=[0.0], limit=400)[0] / z


N_TOY = 1000
NBETA_TOY = default_nbeta(N_TOY)


@pytest.mark.parametrize("k2", [1, 2])
def test_w_power_matches_quadrature(k2):
    # K(w) = w^(2k): lambda = 1/(2k); at finite nbeta and localization the estimator's exact
    # expectation is a 1-d integral, which the sampler must reproduce.
    gamma = 1.0
    model = Potential(lambda w: (w ** (2 * k2)).sum(), 1)
    step = {1: 1e-4, 2: 2e-4}[k2]  # eps * curvature << 1
    res = estimate_llc(
        model,
        mean_loss,
        dummy_data(N_TOY),
        step_size=step,
        localization=gamma,
        num_chains=16,
        num_draws=1500,
        num_burnin=200,
        seed=1,
    )
    exact = exact_1d(k2, NBETA_TOY, gamma)
    check_close(res, exact)
    assert abs(exact - 1 / (2 * k2)) < 0.02  # and the expectation is already close to lambda


def test_normal_crossing_matches_quadrature():
    # K = w1^2 w2^2: lambda = 1/2 (with multiplicity 2, so finite-nbeta values sit below 1/2).
    gamma = 1.0
    model = Potential(lambda w: (w[0] * w[1]) ** 2, 2)
    res = estimate_llc(
        model,
        mean_loss,
        dummy_data(N_TOY),
        step_size=1e-3,
        localization=gamma,
        num_chains=32,
        num_draws=1500,
        num_burnin=100,
        seed=2,
    )
    check_close(res, exact_w1sq_w2sq(NBETA_TOY, gamma), rel_bias=0.05)


def linear_regression(n=500, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.randn(d, 1, generator=g, dtype=torch.float64) + 0.5 * torch.randn(
        n, 1, generator=g, dtype=torch.float64
    )
    model = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.linalg.lstsq(x, y).solution.T)  # w* = the least-squares minimum
    return model, x, y


def half_mse(out, y):
    return 0.5 * ((out - y) ** 2).mean()


def exact_gaussian(x, nbeta, gamma):
    """For L_n(w) = L* + (w - w*)' H (w - w*) / 2: E[nbeta (L - L*)] = nbeta/2 tr(H (nbeta H + gamma)^-1) -> d/2."""
    h = x.T @ x / x.shape[0]
    return (
        0.5 * nbeta * torch.trace(h @ torch.linalg.inv(nbeta * h + gamma * torch.eye(h.shape[0], dtype=h.dtype))).item()
    )


def test_regular_model_full_batch_is_d_over_2():
    model, x, y = linear_regression()
    nbeta = default_nbeta(len(x))
    res = estimate_llc(
        model, half_mse, (x, y), step_size=2e-3, localization=1.0, num_chains=8, num_draws=1000, num_burnin=100, seed=3
    )
    exact = exact_gaussian(x, nbeta, 1.0)
    assert abs(exact - 3.0) < 0.05  # d/2 = 3 up to the localization's tiny shift
    check_close(res, exact)


def test_minibatch_agrees_with_full_batch():
    model, x, y = linear_regression()
    kw = dict(step_size=2e-3, localization=1.0, num_chains=8, num_draws=1000, num_burnin=100, seed=4)
    full = estimate_llc(model, half_mse, (x, y), **kw)
    mini = estimate_llc(model, half_mse, (x, y), batch_size=50, **kw)
    se = math.hypot(full.std, mini.std) / math.sqrt(8)
    assert abs(full.mean - mini.mean) < 4 * se + 0.1
    check_close(mini, exact_gaussian(x, default_nbeta(len(x)), 1.0), rel_bias=0.05)


def test_deep_linear_network_vs_aoyagi():
    # Noiseless teacher of rank 1 for a 3-3-3 linear network: L_n = K_n, w* a true parameter.
    widths, rank = [3, 3, 3], 1
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 3, generator=g, dtype=torch.float64)
    u, v = torch.randn(3, 1, generator=g, dtype=torch.float64), torch.randn(1, 3, generator=g, dtype=torch.float64)
    y = x @ (u @ v).T
    model = torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False), torch.nn.Linear(3, 3, bias=False)).double()
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[0] = v[0]
        model[1].weight.zero_()
        model[1].weight[:, 0] = u[:, 0]

    def loss(out, t):
        return 0.5 * ((out - t) ** 2).sum(1).mean()

    res = estimate_llc(
        model,
        loss,
        (x, y),
        step_size=5e-6,
        nbeta=3e4,
        localization=1.0,
        num_chains=8,
        num_draws=1000,
        num_burnin=200,
        seed=5,
    )
    lam = learning_coefficient_dln(widths, rank)  # = 4
    assert abs(res.mean - lam) < 0.2 * lam, (res.mean, lam)


def test_parameters_unchanged_and_deterministic():
    model, x, y = linear_regression(n=200, d=3)
    before = [p.detach().clone() for p in model.parameters()]
    kw = dict(step_size=1e-3, num_chains=2, num_draws=50, batch_size=32, seed=7)
    a = estimate_llc(model, half_mse, (x, y), **kw)
    b = estimate_llc(model, half_mse, (x, y), **kw)
    c = estimate_llc(model, half_mse, (x, y), **{**kw, "seed": 8})
    for p, q in zip(before, model.parameters(), strict=True):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(a.loss_trace, b.loss_trace)
    assert a.mean == b.mean and a.mean != c.mean
    assert a.loss_trace.shape == (2, 50) and a.per_chain.shape == (2,)
    assert a.init_loss == pytest.approx(half_mse(model(x), y).item())


def test_vmap_and_loop_agree():
    model, x, y = linear_regression(n=200, d=3)
    kw = dict(step_size=1e-3, num_chains=3, num_draws=40, batch_size=20, seed=9)
    a = estimate_llc(model, half_mse, (x, y), vectorize=True, **kw)
    b = estimate_llc(model, half_mse, (x, y), vectorize=False, **kw)
    np.testing.assert_allclose(a.loss_trace, b.loss_trace, rtol=1e-9)


@pytest.mark.filterwarnings("ignore:split R-hat")  # 30 draws of an untrained net: only equality matters
@pytest.mark.parametrize("loss", ["mse", "half_mse"])
@pytest.mark.parametrize("batch_size", [None, 16])
def test_sequential_fast_path_matches_generic(loss, batch_size):
    """The batched Linear/activation fast path ("auto") gives the vmap path's numbers for the same seed."""
    torch.manual_seed(0)
    x, y = torch.randn(120, 3), torch.randn(120, 2)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8, bias=False),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 2),
    )
    loss_fn = torch.nn.functional.mse_loss if loss == "mse" else half_mse
    kw = dict(step_size=1e-4, num_chains=3, num_draws=30, batch_size=batch_size, seed=3)
    fast = estimate_llc(model, loss_fn, (x, y), vectorize="auto", **kw)
    generic = estimate_llc(model, loss_fn, (x, y), vectorize=True, **kw)
    loop = estimate_llc(model, loss_fn, (x, y), vectorize=False, **kw)
    np.testing.assert_allclose(fast.loss_trace, generic.loss_trace, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fast.loss_trace, loop.loss_trace, rtol=1e-5, atol=1e-7)
    assert fast.mean == pytest.approx(generic.mean, rel=1e-4, abs=1e-4)


def test_sgld_step_formula():
    w, g, w0, xi = (torch.tensor([v]) for v in (1.0, 2.0, 0.5, -1.0))
    out = sgld_step(w, g, w0, xi, step_size=0.01, nbeta=10.0, localization=4.0)
    assert out.item() == pytest.approx(1.0 - 0.005 * (20.0 + 2.0) - 0.1)


def test_divergence_raises_with_advice():
    model, x, y = linear_regression(n=200, d=3)
    with pytest.raises(SamplerDivergedError, match="lower step_size.*raise localization"):
        estimate_llc(model, half_mse, (x, y), step_size=1.0, num_chains=2, num_draws=50, check_every=10)


def test_warnings_negative_and_rhat():
    # w* = 0 is a maximum of K = -w^2 (bounded by localization): the estimate is negative.
    model = Potential(lambda w: -(w**2).sum() * 1e-3, 1)
    with pytest.warns(UserWarning, match="negative LLC"):
        estimate_llc(model, mean_loss, dummy_data(100), step_size=1e-2, localization=1.0, num_chains=2, num_draws=50)
    # Chains stuck in different wells: split R-hat large.
    trace = np.stack([np.random.default_rng(0).normal(m, 0.1, 100) for m in (0, 0, 1, 1)])
    assert split_r_hat(trace) > 1.1
    assert split_r_hat(np.random.default_rng(1).normal(size=(4, 400))) < 1.05


def test_step_size_scan_finds_instability_and_plateau():
    model, x, y = linear_regression(n=200, d=3)
    scan = calibrate_step_size(
        model,
        half_mse,
        (x, y),
        [2e-3, 4e-3, 8e-3, 6e-2, 3.0],
        num_chains=4,
        num_draws=300,
        num_burnin=100,
        localization=1.0,
        seed=0,
        check_every=50,
    )
    assert scan.diverged[-1] and not scan.diverged[:-1].any()  # 3.0 blows up
    assert scan.stable_max == 6e-2
    # 6e-2 is stable but biased (eps * curvature ~ 2): it is not on the plateau.
    assert scan.plateau is not None and scan.plateau[1] < 6e-2
    i = list(scan.step_sizes).index(scan.recommended)
    exact = exact_gaussian(x, default_nbeta(200), 1.0)
    assert abs(scan.mean[i] - exact) < 0.15 * exact
    assert abs(scan.mean[3] - exact) > 0.5 * exact


def test_bad_input():
    model, x, y = linear_regression(n=50, d=2)
    with pytest.raises(ValueError, match="step_size"):
        estimate_llc(model, half_mse, (x, y), step_size=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        estimate_llc(model, half_mse, (x, y), step_size=1e-3, batch_size=100)
    with pytest.raises(TypeError, match="data"):
        estimate_llc(model, half_mse, x, step_size=1e-3)
    with pytest.raises(ValueError, match="same length"):
        estimate_llc(model, half_mse, (x, y[:10]), step_size=1e-3)
    with pytest.raises(TypeError, match="num_chains"):
        estimate_llc(model, half_mse, (x, y), step_size=1e-3, num_chains=2.5)
    with pytest.raises(ValueError, match="vectorize"):
        estimate_llc(model, half_mse, (x, y), step_size=1e-3, vectorize="fast")
    with pytest.raises(TypeError, match="model"):
        estimate_llc(lambda t: t, half_mse, (x, y), step_size=1e-3)
