"""utils.tms: the exact high-sparsity loss against quadrature and Monte Carlo, the k-gons' optimality."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

from utils import tms


def quadrature_loss(W: np.ndarray, b: np.ndarray) -> float:
    """(1/c) sum_ij int_0^1 (t delta_ij - ReLU(t G_ji + b_j))^2 dt by adaptive quadrature (independent of the closed form)."""
    c = W.shape[1]
    G = W.T @ W
    total = 0.0
    for i in range(c):
        for j in range(c):
            a, bj, d = G[j, i], b[j], float(i == j)
            kink = [-bj / a] if a != 0 and 0 < -bj / a < 1 else None
            f = lambda t, d=d, a=a, bj=bj: (d * t - max(a * t + bj, 0.0)) ** 2  # noqa: E731
            total += integrate.quad(f, 0.0, 1.0, points=kink, epsabs=1e-13, epsrel=1e-13)[0]
    return total / c


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("m", [2, 3])
def test_loss_matches_quadrature(seed: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, 5))
    b = 0.5 * rng.normal(size=5)
    assert tms.loss(W, b) == pytest.approx(quadrature_loss(W, b), abs=1e-12)


def test_loss_matches_quadrature_at_special_points() -> None:
    # zero slopes (a = 0) with positive, zero and negative biases, and kinks at t = 0 and t = 1
    W = np.array([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    for b in ([0.2, -0.3, 0.0, 0.1], [-1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]):
        b = np.array(b)
        assert tms.loss(W, b) == pytest.approx(quadrature_loss(W, b), abs=1e-12)


def test_loss_matches_monte_carlo_with_the_sampler() -> None:
    rng = np.random.default_rng(5)
    W, b = rng.normal(size=(2, 6)), 0.3 * rng.normal(size=6)
    x = tms.sample_inputs(400_000, 6, seed=11)
    per_sample = ((x - np.maximum(x @ W.T @ W + b, 0.0)) ** 2).sum(axis=1)
    se = per_sample.std() / math.sqrt(len(per_sample))
    assert abs(per_sample.mean() - tms.loss(W, b)) < 4 * se


def test_torch_matches_numpy_and_is_differentiable() -> None:
    rng = np.random.default_rng(2)
    W, b = rng.normal(size=(2, 6)), 0.3 * rng.normal(size=6)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    value = tms.loss(Wt, bt)
    assert isinstance(value, torch.Tensor)
    assert float(value.detach()) == pytest.approx(tms.loss(W, b), abs=1e-14)
    gW, gb = torch.autograd.grad(value, (Wt, bt))
    h = 1e-6
    for idx in [(0, 0), (1, 3), (0, 5)]:
        E = np.zeros_like(W)
        E[idx] = h
        fd = (tms.loss(W + E, b) - tms.loss(W - E, b)) / (2 * h)
        assert float(gW[idx]) == pytest.approx(fd, abs=1e-7)
    e = np.zeros(6)
    e[2] = h
    assert float(gb[2]) == pytest.approx((tms.loss(W, b + e) - tms.loss(W, b - e)) / (2 * h), abs=1e-7)


def test_loss_broadcasts_over_a_batch_of_models() -> None:
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(4, 2, 6)), rng.normal(size=(4, 6))
    batch = tms.loss(W, b)
    assert batch.shape == (4,)
    assert np.allclose(batch, [tms.loss(W[i], b[i]) for i in range(4)], atol=1e-15)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_small_kgons_reconstruct_exactly(k: int) -> None:
    length, beta = tms.kgon_parameters(k, 6)
    assert length == pytest.approx(1.0, abs=1e-7) and beta == pytest.approx(0.0, abs=1e-7)
    assert tms.loss(*tms.kgon(k, 6)) == pytest.approx((6 - k) / 18, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_kgon_is_optimal_in_length_and_bias(k: int) -> None:
    c = 6
    length, beta = tms.kgon_parameters(k, c)
    p = torch.tensor([length, beta], dtype=torch.float64, requires_grad=True)
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    W = torch.cat(
        [torch.stack([p[0] * torch.cos(angles), p[0] * torch.sin(angles)]), torch.zeros(2, c - k, dtype=torch.float64)],
        dim=1,
    )
    b = torch.cat([p[1].expand(k), torch.zeros(c - k, dtype=torch.float64)])
    (grad,) = torch.autograd.grad(tms.loss(W, b), p)
    assert float(grad.abs().max()) < 1e-7
    best = tms.loss(*tms.kgon(k, c))
    for dl, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3), (-1e-3, 1e-3)]:
        Wp = tms.kgon(k, c)[0] * (length + dl) / length
        bp = np.r_[np.full(k, beta + db), np.zeros(c - k)]
        assert tms.loss(Wp, bp) > best


def test_kgon_geometry_and_known_losses() -> None:
    W, b = tms.kgon(5, 6)
    lengths = np.linalg.norm(W, axis=0)
    assert np.allclose(lengths[:5], lengths[0]) and np.all(W[:, 5] == 0) and b[5] == 0
    angles = np.mod(np.arctan2(W[1, :5], W[0, :5]), 2 * np.pi)
    assert np.allclose(angles, 2 * np.pi * np.arange(5) / 5)
    assert np.allclose(b[:5], b[0]) and b[0] < 0
    # the k-gon loss by quadrature, independent of the closed form used in the optimisation
    for k in (5, 6):
        assert tms.loss(*tms.kgon(k, 6)) == pytest.approx(quadrature_loss(*tms.kgon(k, 6)), abs=1e-11)


@pytest.mark.parametrize("k", [4, 5])
def test_best_bias_of_an_unused_feature_is_one_over_2c(k: int) -> None:
    c = 6
    biases = np.linspace(0.0, 0.2, 2001)
    losses = [tms.loss(*tms.kgon(k, c, inactive_bias=v)) for v in biases]
    assert biases[int(np.argmin(losses))] == pytest.approx(1 / (2 * c), abs=1e-4)
    plus = tms.loss(*tms.kgon(k, c, inactive_bias=1 / (2 * c)))
    assert plus == pytest.approx(tms.loss(*tms.kgon(k, c)) - (c - k) / (4 * c * c), abs=1e-12)


def test_hexagon_is_a_minimum_whose_only_flat_direction_is_rotation() -> None:
    W, b = (torch.tensor(a) for a in tms.kgon(6, 6))
    flat = torch.cat([W.reshape(-1), b])

    def f(p: torch.Tensor) -> torch.Tensor:
        return tms.loss(p[:12].reshape(2, 6), p[12:])

    assert float(torch.func.grad(f)(flat).abs().max()) < 1e-7
    eig, vecs = torch.linalg.eigh(torch.func.hessian(f)(flat))
    assert float(eig[0]) > -1e-8 and float(eig[1]) > 1e-2  # PSD, one zero eigenvalue
    rotation = torch.cat([(torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=W.dtype) @ W).reshape(-1), torch.zeros(6)])
    assert abs(float(vecs[:, 0] @ rotation / rotation.norm())) == pytest.approx(1.0, abs=1e-6)


def test_sampler_high_sparsity_and_finite_sparsity() -> None:
    x = tms.sample_inputs(5000, 6, seed=0)
    assert x.shape == (5000, 6)
    assert np.all((x > 0).sum(axis=1) == 1) and x.max() <= 1
    counts = np.bincount(np.argmax(x, axis=1), minlength=6)
    assert counts.min() > 5000 / 6 - 4 * math.sqrt(5000 / 6)
    xs = tms.sample_inputs(20000, 6, sparsity=0.9, seed=1)
    assert (xs == 0).mean() == pytest.approx(0.9, abs=0.01)
    assert np.array_equal(tms.sample_inputs(10, 6, seed=3), tms.sample_inputs(10, 6, seed=3))


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^W must"):
        tms.loss(np.zeros(6), np.zeros(6))
    with pytest.raises(ValueError, match=r"^b must"):
        tms.loss(np.zeros((2, 6)), np.zeros(5))
    with pytest.raises(TypeError, match=r"^b must"):
        tms.loss(torch.zeros(2, 6), np.zeros(6))
    with pytest.raises(ValueError, match=r"^k must"):
        tms.kgon(7, 6)
    with pytest.raises(TypeError, match=r"^c must"):
        tms.kgon(3, 6.0)
    with pytest.raises(ValueError, match=r"^sparsity must"):
        tms.sample_inputs(10, 6, sparsity=1.0)
    with pytest.raises(ValueError, match=r"^seed must"):
        tms.sample_inputs(10, 6, seed=-1)


def _descend(W: torch.Tensor, b: torch.Tensor, steps: int = 1500, lr: float = 0.2) -> np.ndarray:
    """Gradient descent on the exact loss for a batch of models; the final losses."""
    W, b = W.clone().requires_grad_(), b.clone().requires_grad_()
    opt = torch.optim.SGD([W, b], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        tms.loss(W, b).sum().backward()
        opt.step()
    return tms.loss(W, b).detach().numpy()


def test_four_gon_with_positive_unused_biases_is_a_local_minimum_and_three_gon_a_saddle() -> None:
    # On its crease the Hessian does not exist; test minimality directly: gradient descent from
    # random perturbations of size 0.02 returns to the 4++ loss, but leaves 3+++ for lower loss.
    c, runs = 6, 32
    gen = torch.Generator().manual_seed(0)
    for k, expect_return in [(4, True), (3, False)]:
        W0, b0 = (torch.tensor(a) for a in tms.kgon(k, c, inactive_bias=1 / (2 * c)))
        start = float(tms.loss(W0, b0))
        W = W0 + 0.02 * torch.randn(runs, 2, c, generator=gen, dtype=torch.float64)
        b = b0 + 0.02 * torch.randn(runs, c, generator=gen, dtype=torch.float64)
        final = _descend(W, b)
        if expect_return:
            assert np.allclose(final, start, atol=1e-6)
        else:
            assert np.all(final < start - 0.02)
