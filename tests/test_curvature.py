"""utils.curvature: Hessian, Hutchinson trace and empirical Fisher trace against autograd and explicit loops."""

from __future__ import annotations

import pytest
import torch

from utils import curvature as cv


def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out - y) ** 2).sum(1).mean()


@pytest.fixture
def mlp_case() -> tuple[torch.nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    x = torch.randn(40, 3, dtype=torch.float64)
    return model, (x, torch.randn(40, 2, dtype=torch.float64))


def reference_hessian(model: torch.nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """torch.autograd.functional.hessian over the flat parameter vector (independent of torch.func)."""
    x, y = data
    names = [k for k, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]
    w = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def f(flat: torch.Tensor) -> torch.Tensor:
        params = {k: piece.reshape(s) for k, piece, s in zip(names, torch.split(flat, sizes), shapes, strict=True)}
        return mse(torch.func.functional_call(model, params, (x,)), y)

    return torch.autograd.functional.hessian(f, w)


def test_hessian_matches_autograd_functional(mlp_case) -> None:
    model, data = mlp_case
    assert torch.allclose(cv.hessian(model, mse, data), reference_hessian(model, data), atol=1e-12)


def test_hutchinson_trace_is_close_to_the_exact_trace(mlp_case) -> None:
    model, data = mlp_case
    exact = float(torch.trace(reference_hessian(model, data)))
    est = cv.hessian_trace(model, mse, data, num_samples=4000, seed=1)
    err = cv.hessian_trace_error(model, mse, data, num_samples=4000, seed=1)
    assert abs(est - exact) < 4 * err
    assert err < 0.05 * abs(exact)


def test_hutchinson_error_is_the_exact_standard_error(mlp_case) -> None:
    # For Rademacher v and symmetric H, Var(v^T H v) = 2 sum_{i != j} H_ij^2 (exact), so the
    # standard error of the mean of m draws is sqrt(2 (||H||_F^2 - sum_i H_ii^2) / m).
    model, data = mlp_case
    H = reference_hessian(model, data)
    m = 4000
    exact = float(torch.sqrt(2 * ((H**2).sum() - (torch.diagonal(H) ** 2).sum()) / m))
    assert cv.hessian_trace_error(model, mse, data, num_samples=m, seed=2) == pytest.approx(exact, rel=0.1)


def test_hutchinson_works_with_torch_mse_loss() -> None:
    # forward-over-reverse differentiation fails inside F.mse_loss's backward (torch 2.13)
    torch.manual_seed(3)
    model = torch.nn.Linear(3, 1).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
    loss = torch.nn.functional.mse_loss
    diagonal = torch.diagonal(cv.hessian(model, loss, (x, y)))
    # H = (2/n) [x 1]^T [x 1]: its diagonal is 2 mean(x_j^2) and 2 for the bias
    want = torch.cat([2 * (x**2).mean(0), torch.tensor([2.0], dtype=torch.float64)])
    assert torch.allclose(diagonal, want, rtol=1e-12)
    est = cv.hessian_trace(model, loss, (x, y), num_samples=2000, seed=0)
    err = cv.hessian_trace_error(model, loss, (x, y), num_samples=2000, seed=0)
    assert abs(est - float(want.sum())) < 4 * err


def test_hutchinson_is_exact_for_a_diagonal_hessian() -> None:
    class Separable(torch.nn.Module):  # loss sum_i a_i w_i^2 + w_i^4: diagonal Hessian
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x * self.w**2 + self.w**4).sum(1, keepdim=True)

    model = Separable()
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=torch.float64)
    data = (x, torch.zeros(2, 1, dtype=torch.float64))
    mean_out = lambda out, y: out.mean()  # noqa: E731
    exact = float((2 * x.mean(0) + 12 * model.w.detach() ** 2).sum())
    assert cv.hessian_trace(model, mean_out, data, num_samples=1, seed=7) == pytest.approx(exact, rel=1e-12)


def test_fisher_trace_matches_a_per_sample_loop(mlp_case) -> None:
    model, (x, y) = mlp_case
    total = 0.0
    for i in range(x.shape[0]):
        grads = torch.autograd.grad(mse(model(x[i : i + 1]), y[i : i + 1]), list(model.parameters()))
        total += float(sum((g**2).sum() for g in grads))
    assert cv.fisher_trace(model, mse, (x, y)) == pytest.approx(total / x.shape[0], rel=1e-12)


def test_fisher_trace_vanishes_at_a_noiseless_minimum_but_the_hessian_does_not() -> None:
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 2, bias=False).double()
    x = torch.randn(30, 3, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)
    assert cv.fisher_trace(model, mse, (x, y)) < 1e-25
    assert float(torch.trace(cv.hessian(model, mse, (x, y)))) == pytest.approx(2 * 2 * float((x**2).sum(1).mean()))


def test_nothing_changes_the_model(mlp_case) -> None:
    model, data = mlp_case
    before = [p.detach().clone() for p in model.parameters()]
    cv.hessian(model, mse, data)
    cv.hessian_trace(model, mse, data, num_samples=3, seed=0)
    cv.fisher_trace(model, mse, data)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())


def test_hessian_rank() -> None:
    H = torch.diag(torch.tensor([5.0, 1.0, 1e-3, 1e-9, 0.0], dtype=torch.float64))
    assert cv.hessian_rank(H) == 3
    assert cv.hessian_rank(H, rtol=1e-2) == 2
    assert cv.hessian_rank(torch.zeros(3, 3)) == 0


def test_errors_name_the_argument(mlp_case) -> None:
    model, data = mlp_case
    with pytest.raises(ValueError, match=r"^num_samples must"):
        cv.hessian_trace(model, mse, data, num_samples=0, seed=0)
    with pytest.raises(ValueError, match=r"^seed must"):
        cv.hessian_trace(model, mse, data, num_samples=2, seed=-1)
    with pytest.raises(TypeError, match=r"^model must"):
        cv.fisher_trace("net", mse, data)
    with pytest.raises(TypeError, match=r"^data must"):
        cv.fisher_trace(model, mse, data[0])
    with pytest.raises(ValueError, match=r"^data: x and y"):
        cv.hessian(model, mse, (data[0], data[1][:3]))
    with pytest.raises(ValueError, match=r"^rtol must"):
        cv.hessian_rank(torch.eye(2), rtol=0.0)
