"""utils.llc.estimate_llc against exact answers: the estimator's exact expectation for Gaussian
(regular) and normal-crossing potentials at the run's nbeta and localization (closed forms and
quadrature), Aoyagi's deep linear network coefficients, and its diagnostics on runs known to be
unconverged."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate

import utils._llc_batched
from utils._llc_batched import ChainLoss
from utils.deep_linear import deep_linear_network, half_squared_error
from utils.llc import (
    LLCResult,
    SamplerDivergedError,
    StepSizeScan,
    _diagnostic_draws,
    calibrate_step_size,
    default_nbeta,
    estimate_llc,
    sgld_step,
)
from utils.slt import exact_llc_target


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


def quiet(**kw):
    """estimate_llc with its convergence warnings silenced (tests that look at the numbers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate_llc(**kw)


def check_close(res: LLCResult, exact: float, rel_bias: float = 0.0):
    """|estimate - exact| within 4 standard errors (the larger of MCSE and spread over chains)."""
    se = max(res.mcse, res.std / math.sqrt(len(res.per_chain)))
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
    # K(w) = w^(2k): lambda = 1/(2k); MALA samples the target exactly, so the estimate must
    # match the estimator's exact expectation at this nbeta and localization (a 1-d integral).
    model = Potential(lambda w: (w ** (2 * k2)).sum(), 1)
    res = estimate_llc(model, mean_loss, dummy_data(N_TOY), num_draws=3000, seed=1)
    assert res.sampler == "mala" and res.converged
    check_close(res, exact_1d(k2, NBETA_TOY, 1.0))
    assert abs(exact_1d(k2, NBETA_TOY, 1.0) - 1 / (2 * k2)) < 0.02  # already close to lambda


def test_normal_crossing_matches_quadrature():
    # K = w1^2 w2^2: lambda = 1/2 with multiplicity 2, so finite-nbeta values sit below 1/2.
    model = Potential(lambda w: (w[0] * w[1]) ** 2, 2)
    res = quiet(model=model, loss_fn=mean_loss, data=dummy_data(N_TOY), num_draws=4000, seed=2)
    check_close(res, exact_w1sq_w2sq(NBETA_TOY, 1.0))


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


def hessian(x):
    return x.T @ x / x.shape[0]


def exact_gaussian(h, nbeta, gamma):
    """For L_n = L* + (w - w*)' H (w - w*) / 2: E[nbeta (L - L*)] = nbeta/2 tr(H (nbeta H + gamma)^-1)."""
    eye = torch.eye(h.shape[0], dtype=h.dtype)
    return 0.5 * nbeta * torch.trace(h @ torch.linalg.inv(nbeta * h + gamma * eye)).item()


def test_regular_model_mala_is_exact_and_sgld_close():
    model, x, y = linear_regression()
    nbeta = default_nbeta(len(x))
    exact = exact_gaussian(hessian(x), nbeta, 1.0)
    assert abs(exact - 3.0) < 0.05  # d/2 = 3 up to the localization's small shift
    mala = estimate_llc(model, half_mse, (x, y), num_draws=4000, seed=3)
    assert mala.sampler == "mala" and mala.converged and 0.55 < mala.acceptance_rate < 0.85
    check_close(mala, exact)
    sgld = estimate_llc(model, half_mse, (x, y), num_draws=4000, batch_size=50, seed=3)
    assert sgld.sampler == "sgld" and sgld.acceptance_rate is None and sgld.converged
    check_close(sgld, exact, rel_bias=0.03)  # SGLD keeps a small step-size bias
    assert sgld.full_loss_trace.shape == (16, 64)  # one full-batch loss per epoch, at most 64


def test_diagnostic_schedule():
    # One full-batch loss per epoch of draws, clipped to [8, 64] points, evenly spaced, ending at the last draw.
    np.testing.assert_array_equal(_diagnostic_draws(100, 10), [9, 19, 29, 39, 49, 59, 69, 79, 89, 99])
    np.testing.assert_array_equal(_diagnostic_draws(100, 50), [11, 24, 36, 49, 61, 74, 86, 99])  # 2 epochs: 8 points
    np.testing.assert_array_equal(_diagnostic_draws(5, 100), [0, 1, 2, 3, 4])
    many = _diagnostic_draws(100_000, 10)
    assert len(many) == 64 and many[-1] == 99_999 and set(np.diff(many)) == {1562, 1563}
    with pytest.raises(ValueError, match=r"^per_epoch must"):
        _diagnostic_draws(100, 0)


def test_full_batch_losses_follow_the_schedule():
    # Count the loss calls that see all n samples (vmap calls loss_fn once per batched evaluation):
    # the initial loss plus one per scheduled draw, however long the run.
    model, x, y = linear_regression(n=500, d=3)
    sizes = []

    def counting(out, t):
        sizes.append(out.shape[0])
        return half_mse(out, t)

    for draws, points in [(400, 40), (4000, 64)]:
        sizes.clear()
        res = quiet(model=model, loss_fn=counting, data=(x, y), step_size=1e-4, num_draws=draws, batch_size=50)
        assert res.path == "vmap" and res.full_loss_trace.shape == (16, points)
        assert sizes.count(500) == 1 + points and sizes.count(50) == draws + draws // 2


def test_sgld_auto_step_is_a_tenth_of_the_stiffest_curvature():
    # The rule eps = 0.1 / a_max, with a_max the top eigenvalue of nbeta H + localization I.
    model, x, y = linear_regression()
    nbeta = default_nbeta(len(x))
    a_max = torch.linalg.eigvalsh(nbeta * hessian(x) + torch.eye(6, dtype=torch.float64)).max().item()
    res = quiet(model=model, loss_fn=half_mse, data=(x, y), sampler="sgld", num_draws=200, seed=1)
    assert res.step_size * a_max == pytest.approx(0.1, rel=0.02)


def test_localization_sensitivity_matches_closed_form():
    # d E / d ln(gamma) = -gamma nbeta/2 tr(H (nbeta H + gamma)^-2) for the Gaussian posterior.
    model, x, y = linear_regression()
    nbeta, gamma, h = default_nbeta(len(x)), 20.0, hessian(x)
    eye = torch.eye(h.shape[0], dtype=h.dtype)
    inv = torch.linalg.inv(nbeta * h + gamma * eye)
    exact = -gamma * nbeta / 2 * torch.trace(h @ inv @ inv).item()
    res = estimate_llc(model, half_mse, (x, y), localization=gamma, num_chains=8, num_draws=8000, seed=4)
    check_close(res, exact_gaussian(h, nbeta, gamma))
    assert res.localization_sensitivity == pytest.approx(exact, rel=0.25)


@pytest.mark.parametrize("widths", [[4, 2, 3], [2, 2, 2, 2]])
def test_zero_teacher_networks_land_on_exact_targets(widths):
    # step_size="auto" and every other setting at its default, against exact_llc_target (utils.slt).
    model, data = deep_linear_network(widths, 0, n=10_000, whiten=True, dtype=torch.float64)
    x = data[0]
    assert torch.allclose(x.T @ x / len(x), torch.eye(widths[0], dtype=torch.float64), atol=1e-12)
    res = estimate_llc(model, half_squared_error, data, step_size="auto")
    exact = exact_llc_target(widths, default_nbeta(10_000))
    assert res.converged and res.path == "gram"
    assert abs(res.mean - exact) < 0.04 * exact, (res.mean, exact)
    check_close(res, exact)


def test_far_too_short_run_is_flagged():
    model, data = deep_linear_network([3, 3, 3], 1, n=10_000, seed=0)
    with pytest.warns(UserWarning, match="not converged") as caught:
        res = estimate_llc(model, half_squared_error, data, step_size=1e-7, num_draws=50)
    assert not res.converged and res.problems
    text = str(caught[0].message)
    assert "num_draws" in text and "step_size" in text
    assert all(len(line) <= 79 for line in text.splitlines())


def test_unrelaxed_burnin_is_flagged_and_auto_burnin_relaxes():
    # Chapter 9's old table row: [2, 3, 3, 2] at rank 1 with a burn-in of 1,000 steps passed every
    # loss-based check while its surplus units were still spreading out from w* (estimate 13 % low).
    model, data = deep_linear_network([2, 3, 3, 2], 1, n=10_000, seed=0)
    short = quiet(model=model, loss_fn=half_squared_error, data=data, num_draws=2000, num_burnin=1000, seed=0)
    assert short.relaxations < 1 and short.r_hat_distance > 1.1 and not short.converged
    assert any("relaxation times" in p for p in short.problems)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = estimate_llc(model, half_squared_error, data, num_draws=200, seed=0)
    # num_burnin=None: the burn-in lasts 3 relaxation times 1/(localization step_size), at most 8 num_draws.
    assert auto.num_burnin == max(100, min(8 * 200, math.ceil(3 / (auto.localization * auto.step_size))))
    assert auto.num_burnin > 100 and auto.loss_trace.shape == (16, 200)


class TiedRegression(torch.nn.Module):
    """0.5 (a(x) + b(x)) with b the same module as a: the function of a linear regression."""

    def __init__(self, lin):
        super().__init__()
        self.a = lin
        self.b = lin

    def forward(self, x):
        return 0.5 * (self.a(x) + self.b(x)).squeeze(-1)


class FrozenFeatures(torch.nn.Module):
    """A frozen random linear layer (features z = F x), then a trainable regression on z."""

    def __init__(self, d, head):
        super().__init__()
        self.features = torch.nn.Linear(d, d, bias=False).double().requires_grad_(False)
        self.head = head

    def forward(self, x):
        return self.head(self.features(x))


class Scaled(torch.nn.Module):
    """A regression on inputs scaled by a buffer."""

    def __init__(self, head, scale):
        super().__init__()
        self.head = head
        self.register_buffer("scale", scale)

    def forward(self, x):
        return self.head(x * self.scale)


def fitted_head(z, y):
    head = torch.nn.Linear(z.shape[1], 1, bias=False).double()
    with torch.no_grad():
        head.weight.copy_(torch.linalg.lstsq(z, y).solution.T)
    return head


def test_tied_weights_frozen_parameters_and_buffers():
    _, x, y = linear_regression(n=400, d=4, seed=5)
    nbeta = default_nbeta(len(x))
    tied = TiedRegression(fitted_head(x, y))
    res = estimate_llc(tied, lambda out, t: half_mse(out, t.squeeze(-1)), (x, y), num_draws=3000, seed=5)
    assert res.path == "vmap"
    check_close(res, exact_gaussian(hessian(x), nbeta, 1.0))  # 4 parameters, not 8

    frozen = FrozenFeatures(4, None)
    with torch.no_grad():
        z = frozen.features(x)
    frozen.head = fitted_head(z, y)
    before = frozen.features.weight.clone()
    res = estimate_llc(frozen, half_mse, (x, y), num_draws=3000, seed=6)
    check_close(res, exact_gaussian(hessian(z), nbeta, 1.0))
    assert torch.equal(before, frozen.features.weight)

    scale = torch.tensor([1.0, 0.5, 2.0, 0.1], dtype=torch.float64)
    scaled = Scaled(fitted_head(x * scale, y), scale)
    res = estimate_llc(scaled, half_mse, (x, y), num_draws=3000, seed=7)
    check_close(res, exact_gaussian(hessian(x * scale), nbeta, 1.0))


@pytest.mark.parametrize("batch_size", [None, 16])
def test_paths_agree(batch_size):
    """The fast (batched matmul) path, vmap and a loop over chains give the same draws for one seed."""
    torch.manual_seed(0)
    x, y = torch.randn(120, 3, dtype=torch.float64), torch.randn(120, 2, dtype=torch.float64)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8, bias=False),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 2),
    ).double()
    kw = dict(step_size=1e-4, num_chains=3, num_draws=40, num_burnin=10, batch_size=batch_size, seed=3)
    runs = {
        v: quiet(model=model, loss_fn=torch.nn.functional.mse_loss, data=(x, y), vectorize=v, **kw)
        for v in ("auto", True, False)
    }
    assert [r.path for r in runs.values()] == ["fast", "vmap", "loop"]
    for r in (runs[True], runs[False]):
        np.testing.assert_allclose(runs["auto"].loss_trace, r.loss_trace, rtol=1e-9)


@pytest.mark.parametrize("batch", [None, 7])
@pytest.mark.parametrize("loss_fn", [torch.nn.functional.mse_loss, half_squared_error])
def test_fast_path_gradient_by_hand_matches_autograd(loss_fn, batch, monkeypatch):
    """The fast path's hand-written backward against autograd through the model itself, per chain."""
    monkeypatch.setattr(utils._llc_batched, "CHUNK", 16)  # full-data losses in 4 chunks of at most 16
    torch.manual_seed(1)
    x, y = torch.randn(50, 3, dtype=torch.float64), torch.randn(50, 2, dtype=torch.float64)
    layers = [torch.nn.Linear(3, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 4, bias=False), torch.nn.Tanh()]
    layers += [torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Identity(), torch.nn.Linear(4, 2)]
    model = torch.nn.Sequential(*layers).double()
    f = ChainLoss(model, loss_fn, x, y)
    assert f.path == "fast" and f.by_hand
    w = f.w_star + 0.3 * torch.randn(3, f.d, dtype=torch.float64)
    idx = None if batch is None else torch.randint(0, 50, (3, batch))
    loss, grad = f(w, idx)
    for c in range(3):
        xb, yb = (x, y) if idx is None else (x[idx[c]], y[idx[c]])
        torch.nn.utils.vector_to_parameters(w[c], model.parameters())
        ref = loss_fn(model(xb), yb)
        ref_grad = torch.autograd.grad(ref, list(model.parameters()))
        assert loss[c].item() == pytest.approx(ref.item(), rel=1e-12)
        np.testing.assert_allclose(grad[c], torch.cat([g.reshape(-1) for g in ref_grad]), rtol=1e-10, atol=1e-14)
    full = f(w, None, grad=False)[0]  # chunked, in place, no gradient
    np.testing.assert_allclose(full, f(w, None)[0], rtol=1e-12)


def test_gram_path_agrees_with_vmap():
    model, data = deep_linear_network([2, 3, 2], 1, n=300, seed=1, dtype=torch.float64)
    kw = dict(step_size=1e-3, num_draws=40, num_burnin=10, seed=2)
    gram = quiet(model=model, loss_fn=half_squared_error, data=data, **kw)
    vm = quiet(model=model, loss_fn=half_squared_error, data=data, vectorize=True, **kw)
    assert gram.path == "gram" and vm.path == "vmap"
    np.testing.assert_allclose(gram.loss_trace, vm.loss_trace, rtol=1e-9, atol=1e-14)


def test_parameters_unchanged_deterministic_and_frozen_result():
    model, x, y = linear_regression(n=200, d=3)
    before = [p.detach().clone() for p in model.parameters()]
    kw = dict(num_chains=2, num_draws=200, seed=7)
    a = quiet(model=model, loss_fn=half_mse, data=(x, y), **kw)
    b = quiet(model=model, loss_fn=half_mse, data=(x, y), **kw)
    c = quiet(model=model, loss_fn=half_mse, data=(x, y), **{**kw, "seed": 8})
    for p, q in zip(before, model.parameters(), strict=True):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(a.loss_trace, b.loss_trace)
    assert a.mean == b.mean and a.mean != c.mean
    assert a.loss_trace.shape == (2, 200) and a.per_chain.shape == (2,) and a.num_burnin == 100
    assert a.init_loss == pytest.approx(half_mse(model(x), y).item())
    np.testing.assert_allclose(a.llc_trace[:, -1], a.per_chain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.mean = 0.0
    assert "LLC =" in str(a) and all(len(line) <= 79 for line in str(a).splitlines())


def test_sgld_step_formula():
    w, g, w0, xi = (torch.tensor([v]) for v in (1.0, 2.0, 0.5, -1.0))
    out = sgld_step(w, g, w0, xi, step_size=0.01, nbeta=10.0, localization=4.0)
    assert out.item() == pytest.approx(1.0 - 0.005 * (20.0 + 2.0) - 0.1)


def test_divergence_raises_with_advice():
    model, x, y = linear_regression(n=200, d=3)
    with pytest.raises(SamplerDivergedError, match=r"(?s)Lower step_size.*raise localization"):
        estimate_llc(model, half_mse, (x, y), step_size=1.0, sampler="sgld", num_chains=2, num_draws=50, check_every=10)


def test_warnings_negative_and_strong_localization():
    # w* = 0 is a maximum of K = -w^2 (bounded by localization): the estimate is negative.
    model = Potential(lambda w: -(w**2).sum() * 1e-3, 1)
    with pytest.warns(UserWarning, match="negative LLC"):
        estimate_llc(model, mean_loss, dummy_data(100), localization=1.0, num_chains=2, num_draws=200)
    model, x, y = linear_regression(n=200, d=3)
    with pytest.warns(UserWarning, match=r"localization = 100 > 0.1 nbeta"):
        estimate_llc(model, half_mse, (x, y), localization=100.0, num_draws=200)


def test_step_size_scan_marks_divergence_and_convergence():
    model, x, y = linear_regression(n=200, d=3)
    scan = calibrate_step_size(
        model, half_mse, (x, y), [1e-6, 3e-3, 3.0], sampler="sgld", num_draws=4000, seed=0, check_every=50
    )
    assert list(scan.diverged) == [False, False, True]
    assert list(scan.converged) == [False, True, False]  # 1e-6: the chains barely move
    exact = exact_gaussian(hessian(x), default_nbeta(200), 1.0)
    assert abs(scan.mean[1] - exact) < 0.15 * exact


def test_bad_input():
    model, x, y = linear_regression(n=50, d=2)
    with pytest.raises(ValueError, match=r"^step_size must be > 0"):
        estimate_llc(model, half_mse, (x, y), step_size=-1.0)
    with pytest.raises(ValueError, match=r"^step_size must be one of"):
        estimate_llc(model, half_mse, (x, y), step_size="fast")
    with pytest.raises(ValueError, match=r"^batch_size must be <="):
        estimate_llc(model, half_mse, (x, y), batch_size=100)
    with pytest.raises(TypeError, match=r"^data must be a tuple"):
        estimate_llc(model, half_mse, x)
    with pytest.raises(ValueError, match=r"^data: x and y must have the same number of rows"):
        estimate_llc(model, half_mse, (x, y[:10]))
    with pytest.raises(TypeError, match=r"^num_chains must be an integer"):
        estimate_llc(model, half_mse, (x, y), num_chains=2.5)
    with pytest.raises(ValueError, match=r"^vectorize must be"):
        estimate_llc(model, half_mse, (x, y), vectorize="fast")
    with pytest.raises(ValueError, match=r"^sampler must be one of"):
        estimate_llc(model, half_mse, (x, y), sampler="nuts")
    with pytest.raises(ValueError, match=r"^sampler='mala' needs full-batch data"):
        estimate_llc(model, half_mse, (x, y), sampler="mala", batch_size=10)
    with pytest.raises(ValueError, match=r"^num_burnin must be >= 50 with step_size='auto'"):
        estimate_llc(model, half_mse, (x, y), num_draws=100, num_burnin=10)
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module"):
        estimate_llc(lambda t: t, half_mse, (x, y))


def test_sampler_default_and_plateau():
    # "auto" is MALA only with full-batch data and step_size="auto"; a fixed step keeps plain SGLD.
    model, x, y = linear_regression(n=200, d=3)
    kw = dict(num_chains=2, num_draws=100, seed=0)
    assert quiet(model=model, loss_fn=half_mse, data=(x, y), **kw).sampler == "mala"
    assert quiet(model=model, loss_fn=half_mse, data=(x, y), step_size=1e-3, **kw).sampler == "sgld"
    # The plateau: the widest stable run within 10 % of its median (hand-made scan).
    scan = StepSizeScan(
        step_sizes=np.array([1e-4, 1e-3, 1e-2, 1e-1]),
        mean=np.array([1.0, 2.9, 3.1, 9.0]),
        std=np.zeros(4),
        r_hat=np.array([1.5, 1.01, 1.02, 1.0]),
        converged=np.zeros(4, bool),
        diverged=np.array([False, False, False, True]),
        acceptance_rate=np.full(4, np.nan),
    )
    assert scan.plateau == (1e-3, 1e-2)
    assert dataclasses.replace(scan, mean=np.array([1.0, 2.0, 3.1, 9.0])).plateau is None


def test_plotting_helpers():
    import matplotlib

    matplotlib.use("Agg")
    from utils.plotting import plot_llc_traces, plot_step_size_scan

    scan = StepSizeScan(
        step_sizes=np.array([1e-3, 1e-2, 1e-1]),
        mean=np.array([2.0, 3.0, np.nan]),
        std=np.array([0.1, 0.1, np.nan]),
        r_hat=np.array([1.2, 1.0, np.nan]),
        converged=np.array([False, True, False]),
        diverged=np.array([False, False, True]),
        acceptance_rate=np.full(3, np.nan),
    )
    ax = plot_step_size_scan(scan, exact=3.0)
    labels = ax.get_legend_handles_labels()[1]
    assert {"not converged", "diverged", "exact"} <= set(labels)
    ax.set_ylim(0, 1)  # the diverged cross stays inside the axes (axes coordinates in y)
    cross = next(line for line in ax.get_lines() if line.get_label() == "diverged")
    assert cross.get_transform() == ax.get_xaxis_transform() and cross.get_ydata()[0] == 0.95
    model, x, y = linear_regression(n=100, d=2)
    res = quiet(model=model, loss_fn=half_mse, data=(x, y), num_chains=3, num_draws=100, seed=0)
    ax = plot_llc_traces(res, exact=1.0)
    chains = [line for line in ax.get_lines() if line.get_label().startswith("chain")]
    assert len(chains) == 3
    np.testing.assert_allclose(chains[0].get_ydata(), res.llc_trace[0])


def test_losses_recognised_by_what_they_compute():
    """A hand-written loss that computes F.mse_loss or half_squared_error takes the fused path (chapter 10's
    half_sq did not while the path was chosen by the function's identity); other losses do not."""
    torch.manual_seed(2)
    x, y = torch.randn(60, 3, dtype=torch.float64), torch.randn(60, 3, dtype=torch.float64)  # 3 outputs:
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)
    ).double()  # mse != half_sse

    def half_sq(out, t):
        return 0.5 * ((out - t) ** 2).sum(1).mean()

    cases = [
        (half_sq, "half_sse"),
        (lambda out, t: ((out - t) ** 2).mean(), "mse"),
        (lambda out, t: 0.5 * ((out - t) ** 2).mean(), None),  # half the MSE: neither
        (torch.nn.functional.smooth_l1_loss, None),
        (lambda out, t: ((out - t) ** 2).mean(dim=0), None),  # not a scalar
    ]
    for loss_fn, fused in cases:
        f = ChainLoss(model, loss_fn, x, y)
        assert f.fused == fused and f.by_hand == (fused is not None)
    kw = dict(step_size=1e-4, num_chains=2, num_draws=30, num_burnin=5, seed=1)
    mine = quiet(model=model, loss_fn=half_sq, data=(x, y), **kw)
    ref = quiet(model=model, loss_fn=half_squared_error, data=(x, y), **kw)
    np.testing.assert_array_equal(mine.loss_trace, ref.loss_trace)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("loss_fn", [torch.nn.functional.mse_loss, half_squared_error])
def test_gram_gradient_by_hand_matches_autograd(loss_fn, bias):
    """The gram path's hand-written gradient (d sse / dA = 2 (A S - C), back through each layer) against autograd."""
    torch.manual_seed(3)
    x, y = torch.randn(50, 3, dtype=torch.float64), torch.randn(50, 2, dtype=torch.float64)
    layers = [torch.nn.Linear(3, 4, bias=bias), torch.nn.Identity(), torch.nn.Linear(4, 5, bias=bias)]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(5, 2, bias=bias)).double()
    f = ChainLoss(model, loss_fn, x, y)
    assert f.path == "gram"
    w = f.w_star + 0.5 * torch.randn(3, f.d, dtype=torch.float64)
    loss, grad = f(w)
    for c in range(3):
        torch.nn.utils.vector_to_parameters(w[c], model.parameters())
        ref = loss_fn(model(x), y)
        ref_grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(ref, list(model.parameters()))])
        assert loss[c].item() == pytest.approx(ref.item(), rel=1e-12)
        np.testing.assert_allclose(grad[c], ref_grad, rtol=1e-10, atol=1e-13)
