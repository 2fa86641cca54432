"""utils.icl: the in-context regression baselines against closed forms and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils import icl
from utils.icl_data import icl_regression, task_pool


def prompts(p: int, n: int, d: int, noise: float = 0.0, seed: int = 0):
    pr = icl_regression(p, n, d, noise=noise, seed=seed, dtype=torch.float64)
    return pr.x[:, :-1].numpy(), pr.y[:, :-1].numpy(), pr.x[:, -1].numpy(), pr


def test_noiseless_well_determined_prompt_least_squares_and_ridge_recover_the_task() -> None:
    x, y, xq, pr = prompts(50, 12, 4)
    exact = np.einsum("pd,pd->p", pr.w.numpy(), xq)  # w . x_q, the noiseless answer
    np.testing.assert_allclose(icl.least_squares(x, y, xq), exact, rtol=1e-9, atol=1e-9)
    # ridge -> least squares as lam -> 0 (here the fit is exact, so only O(lam) remains)
    np.testing.assert_allclose(icl.ridge(x, y, xq, 1e-9), exact, rtol=1e-6, atol=1e-6)


def test_underdetermined_least_squares_is_the_minimum_norm_interpolant() -> None:
    x, y, xq, _ = prompts(20, 3, 6)
    want = []
    for xi, yi, qi in zip(x, y, xq, strict=True):  # kernel form X^T (X X^T)^-1 y, solved independently
        w = xi.T @ np.linalg.solve(xi @ xi.T, yi)
        want.append(w @ qi)
    np.testing.assert_allclose(icl.least_squares(x, y, xq), want, rtol=1e-8, atol=1e-10)


def test_ridge_is_the_gaussian_posterior_mean() -> None:
    # posterior predictive mean in function space: k_q^T (K + s^2 I)^-1 y with K = X X^T (Woodbury's other side)
    x, y, xq, _ = prompts(30, 7, 4, noise=0.5)
    want = [qi @ xi.T @ np.linalg.solve(xi @ xi.T + 0.25 * np.eye(7), yi) for xi, yi, qi in zip(x, y, xq, strict=True)]
    np.testing.assert_allclose(icl.ridge(x, y, xq, 0.25), want, rtol=1e-10)
    # d = 1 by hand: w = sum x y / (sum x^2 + lam)
    xs, ys = np.array([[[1.0], [2.0]]]), np.array([[3.0, 1.0]])
    assert math.isclose(icl.ridge(xs, ys, np.array([[2.0]]), 1.0)[0], 2.0 * 5.0 / 6.0)


def test_gd_step_is_one_gradient_step_on_the_in_context_loss() -> None:
    x, y, xq, _ = prompts(5, 9, 3)
    gamma = np.array([[0.7, 0.1, 0.0], [0.0, 0.5, -0.2], [0.3, 0.0, 0.9]])
    for p in range(5):
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        xt, yt = torch.from_numpy(x[p]), torch.from_numpy(y[p])
        loss = 0.5 * ((yt - xt @ w) ** 2).mean()
        (grad,) = torch.autograd.grad(loss, w)
        w1 = -torch.from_numpy(gamma) @ grad  # w_1 = w_0 - Gamma grad L(w_0), w_0 = 0
        assert math.isclose(
            icl.gd_step(x[p : p + 1], y[p : p + 1], xq[p : p + 1], gamma)[0],
            float(w1 @ torch.from_numpy(xq[p])),
            rel_tol=1e-12,
        )
    np.testing.assert_allclose(icl.gd_step(x, y, xq, 0.5), icl.gd_step(x, y, xq, 0.5 * np.eye(3)))


@pytest.mark.parametrize("noise", [0.0, 0.7])
def test_gd_step_risk_matches_simulation_and_optimal_gamma_minimises_it(noise: float) -> None:
    n, d, p = 10, 3, 60_000
    x, y, xq, pr = prompts(p, n, d, noise=noise, seed=1)
    target = pr.y[:, -1].numpy()
    g_star = icl.optimal_gamma(n, d, noise)
    assert math.isclose(g_star, n / (n + d + 1 + noise**2))
    risks = {}
    for g in (g_star - 0.15, g_star, g_star + 0.15):
        err = (icl.gd_step(x, y, xq, g) - target) ** 2
        risks[g] = err.mean()
        sem = err.std() / math.sqrt(p)
        assert abs(err.mean() - icl.gd_step_risk(g, n, d, noise)) < 4 * sem
    assert risks[g_star] < min(risks[g_star - 0.15], risks[g_star + 0.15])
    assert math.isclose(icl.gd_step_risk(g_star, n, d), d * (d + 1) / (n + d + 1)) or noise > 0
    # a general matrix Gamma: the same formula with ||Gamma||_F^2 and tr Gamma
    gamma = np.array([[0.6, 0.2, 0.0], [-0.1, 0.4, 0.3], [0.0, 0.1, 0.8]])
    err = (icl.gd_step(x, y, xq, gamma) - target) ** 2
    assert abs(err.mean() - icl.gd_step_risk(gamma, n, d, noise)) < 4 * err.std() / math.sqrt(p)


@pytest.mark.parametrize(("n", "d", "noise"), [(2, 6, 2.0), (12, 4, 0.5), (3, 5, 0.0), (7, 4, 0.0)])
def test_least_squares_risk_matches_simulation(n: int, d: int, noise: float) -> None:
    x, y, xq, pr = prompts(40_000, n, d, noise=noise, seed=2)
    err = (icl.least_squares(x, y, xq) - pr.y[:, -1].numpy()) ** 2
    want = icl.least_squares_risk(n, d, noise)
    assert abs(err.mean() - want) < 4 * err.std() / math.sqrt(len(err)) + 1e-9
    assert icl.least_squares_risk(d, d, 0.1) == math.inf and icl.least_squares_risk(0, d) == d


def test_dmmse_against_a_direct_bayes_computation() -> None:
    tasks = task_pool(5, 3, seed=4, dtype=torch.float64)
    pr = icl_regression(8, 4, 3, noise=0.8, tasks=tasks, seed=5, dtype=torch.float64)
    x, y, xq = pr.x[:, :-1].numpy(), pr.y[:, :-1].numpy(), pr.x[:, -1].numpy()
    t = tasks.numpy()
    for p in range(8):  # likelihoods as products of normal densities, then Bayes' rule with a uniform prior
        like = [
            math.prod(math.exp(-((y[p, i] - t[m] @ x[p, i]) ** 2) / (2 * 0.64)) for i in range(4)) for m in range(5)
        ]
        want = sum(lk * (t[m] @ xq[p]) for m, lk in enumerate(like)) / sum(like)
        assert math.isclose(icl.dmmse(x[p : p + 1], y[p : p + 1], xq[p : p + 1], t, 0.8)[0], want, rel_tol=1e-9)
    # one task: the answer is that task's prediction; a long clean context identifies the task
    np.testing.assert_allclose(icl.dmmse(x, y, xq, t[:1], 0.8), xq @ t[0])
    long = icl_regression(20, 60, 3, noise=0.1, tasks=tasks, seed=6, dtype=torch.float64)
    lx, ly, lq = long.x[:, :-1].numpy(), long.y[:, :-1].numpy(), long.x[:, -1].numpy()
    np.testing.assert_allclose(icl.dmmse(lx, ly, lq, t, 0.1), np.einsum("pd,pd->p", long.w.numpy(), lq), atol=1e-9)


def test_bad_input_names_the_argument() -> None:
    x, y, xq, _ = prompts(2, 3, 2)
    with pytest.raises(ValueError, match=r"^lam must"):
        icl.ridge(x, y, xq, 0.0)
    with pytest.raises(ValueError, match=r"^x, y, x_query must"):
        icl.least_squares(x, y[:, :2], xq)
    with pytest.raises(ValueError, match=r"^gamma must"):
        icl.gd_step(x, y, xq, np.eye(3))
    with pytest.raises(ValueError, match=r"^noise must"):
        icl.dmmse(x, y, xq, np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError, match=r"^tasks must"):
        icl.dmmse(x, y, xq, np.zeros((1, 3)), 1.0)
    with pytest.raises(ValueError, match=r"^num_context must"):
        icl.optimal_gamma(0, 2)


def test_optimal_gamma_with_one_context_example() -> None:
    # N = 1 is allowed: Gamma* = 1 / (d + 2), and it minimises the risk (a parabola in gamma)
    assert icl.optimal_gamma(1, 1) == pytest.approx(1 / 3)
    g = icl.optimal_gamma(1, 2, 0.5)
    assert icl.gd_step_risk(g, 1, 2, 0.5) < min(
        icl.gd_step_risk(g - 0.01, 1, 2, 0.5), icl.gd_step_risk(g + 0.01, 1, 2, 0.5)
    )
