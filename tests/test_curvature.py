"""utils.curvature: Hessian, Hutchinson trace and empirical Fisher trace against autograd and explicit loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils import curvature as cv
from utils.attention import ICLTransformer, LinearSelfAttention, SingleHeadAttention
from utils.deep_linear import deep_linear_network, half_squared_error
from utils.grokking import ModularMLP
from utils.tms_model import ToyModelOfSuperposition
from utils.token_models import TokenMLP


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
    assert cv.hessian_rank(np.array([[2.0]])) == 1  # one parameter
    assert cv.hessian_rank(np.array([[-2.0, 0.0], [0.0, 1.0]])) == 2  # eigenvalues counted by size, either sign
    with pytest.raises(ValueError, match=r"^H must be a non-empty square matrix"):
        cv.hessian_rank(np.zeros((0, 0)))


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


# -- every layer type and loss (issue 25, item 8) --------------------------------------------------
# The exact trace is that of the full Hessian from torch.autograd.functional.hessian (double backward
# through autograd, independent of torch.func), with the model in eval mode as the module documents.


def exact_trace(model: nn.Module, loss_fn, data) -> float:
    x, y = data
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    names, shapes = [k for k, _ in named], [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]
    w = torch.cat([p.detach().reshape(-1) for _, p in named])
    buffers = {k: b.clone() for k, b in model.named_buffers()}

    def f(flat: torch.Tensor) -> torch.Tensor:
        params = {k: piece.reshape(s) for k, piece, s in zip(names, torch.split(flat, sizes), shapes, strict=True)}
        return loss_fn(torch.func.functional_call(model, {**params, **buffers}, (x,)), y)

    training = model.training
    model.eval()
    try:
        return float(torch.trace(torch.autograd.functional.hessian(f, w)))
    finally:
        model.train(training)


def assert_exact_trace(model: nn.Module, loss_fn, data) -> None:
    """hessian, hessian_trace (within 5 standard errors) and fisher_trace against exact values."""
    exact = exact_trace(model, loss_fn, data)
    assert float(torch.trace(cv.hessian(model, loss_fn, data))) == pytest.approx(exact, rel=1e-9, abs=1e-12)
    est = cv.hessian_trace(model, loss_fn, data, num_samples=400, seed=1)
    err = cv.hessian_trace_error(model, loss_fn, data, num_samples=400, seed=1)
    assert abs(est - exact) < 5 * err + 1e-12
    # and the Fisher trace, against a loop of per-sample gradients (eval mode too)
    x, y = data
    params = [p for p in model.parameters() if p.requires_grad]
    training = model.training
    model.eval()
    try:
        total = 0.0
        for i in range(x.shape[0]):
            grads = torch.autograd.grad(loss_fn(model(x[i : i + 1]), y[i : i + 1]), params, allow_unused=True)
            total += float(sum((g**2).sum() for g in grads if g is not None))
    finally:
        model.train(training)
    assert cv.fisher_trace(model, loss_fn, data) == pytest.approx(total / x.shape[0], rel=1e-9, abs=1e-12)


class _Sequence(nn.Module):
    """A sequence layer (RNN, GRU, LSTM, attention) on the rows of x read as 2 tokens of 2 features, then a linear head."""

    def __init__(self, layer: nn.Module, width: int) -> None:
        super().__init__()
        self.layer, self.head = layer, nn.Linear(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.view(x.shape[0], 2, 2)
        h = self.layer(tokens, tokens, tokens) if isinstance(self.layer, nn.MultiheadAttention) else self.layer(tokens)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(h[:, -1])


def _mlp(*middle: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(4, 6), *middle, nn.Linear(6, 3))


N = 24
ACTIVATIONS = [
    nn.Tanh,
    nn.ReLU,
    nn.Sigmoid,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.Softplus,
    nn.LeakyReLU,
    nn.Identity,
    nn.Softmax,
]
LAYERS = {
    **{f"Linear+{a.__name__}": lambda a=a: _mlp(a(dim=-1) if a is nn.Softmax else a()) for a in ACTIVATIONS},
    "LayerNorm": lambda: _mlp(nn.LayerNorm(6), nn.Tanh()),
    "Dropout": lambda: _mlp(nn.Tanh(), nn.Dropout(0.3)),  # eval mode: no dropout
    "BatchNorm1d": lambda: _mlp(nn.BatchNorm1d(6), nn.Tanh()),  # eval mode: running statistics
    "Conv1d": lambda: nn.Sequential(
        nn.Unflatten(1, (1, 4)), nn.Conv1d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4, 3)
    ),
    "Conv2d": lambda: nn.Sequential(
        nn.Unflatten(1, (1, 2, 2)), nn.Conv2d(1, 2, 2), nn.Tanh(), nn.Flatten(), nn.Linear(2, 3)
    ),
    "RNN": lambda: _Sequence(nn.RNN(2, 3, batch_first=True), 3),
    "GRU": lambda: _Sequence(nn.GRU(2, 3, batch_first=True), 3),
    "LSTM": lambda: _Sequence(nn.LSTM(2, 3, batch_first=True), 3),
    "MultiheadAttention": lambda: _Sequence(nn.MultiheadAttention(2, 1, batch_first=True), 2),
    "SingleHeadAttention": lambda: _Sequence(SingleHeadAttention(2, seed=0), 2),
    "ToyModelOfSuperposition": lambda: nn.Sequential(
        nn.Linear(4, 3), ToyModelOfSuperposition(np.ones((2, 3)), np.zeros(3))
    ),
}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_hessian_trace_on_every_layer_type(layer: str) -> None:
    torch.manual_seed(0)
    model = LAYERS[layer]().double()
    x, y = torch.randn(N, 4, dtype=torch.float64), torch.randn(N, 3, dtype=torch.float64)
    if layer == "BatchNorm1d":  # running statistics away from their initial (0, 1)
        with torch.no_grad():
            model(3 * x + 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert_exact_trace(model, F.mse_loss, (x, y))
    assert model.training  # left in the mode it was in, its parameters and buffers untouched
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def _library_models() -> dict:
    torch.manual_seed(0)
    dln, (xd, yd) = deep_linear_network([4, 3, 2], 1, n=N, seed=0, dtype=torch.float64)
    tokens = torch.randint(0, 3, (N, 2))
    pairs = torch.randint(0, 5, (N, 2))
    return {
        "Embedding": (
            nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Tanh(), nn.Linear(6, 3)),
            (pairs, torch.randn(N, 3)),
            F.mse_loss,
        ),
        "deep_linear_network": (dln, (xd, yd), half_squared_error),
        "TokenMLP": (
            TokenMLP(2, 1, 3, width=4),
            (tokens, torch.randint(0, 3, (N, 1))),
            lambda out, y: F.cross_entropy(out.flatten(0, 1), y.flatten()),
        ),
        "ModularMLP": (
            ModularMLP(5, embed_dim=3, width=4),
            (pairs, torch.randint(0, 5, (N,))),
            lambda out, y: F.cross_entropy(out[0], y),
        ),
        "LinearSelfAttention": (
            LinearSelfAttention(2, init_scale=0.5),
            (torch.randn(N, 3, 3), torch.randn(N)),
            F.mse_loss,
        ),
        "ICLTransformer": (ICLTransformer(3, 4, mlp_width=4), (torch.randn(N, 4, 3), torch.randn(N)), F.mse_loss),
    }


@pytest.mark.parametrize("name", list(_library_models()))
def test_hessian_trace_on_the_librarys_models(name: str) -> None:
    model, (x, y), loss_fn = _library_models()[name]
    model = model.double()
    data = (x.double() if x.is_floating_point() else x, y.double() if y.is_floating_point() else y)
    assert_exact_trace(model, loss_fn, data)


_Y = {
    "real": lambda: torch.randn(N, 3, dtype=torch.float64),
    "binary": lambda: (torch.rand(N, 3) > 0.5).double(),
    "sign": lambda: (torch.rand(N, 3) > 0.5).double() * 2 - 1,
    "count": lambda: torch.poisson(torch.full((N, 3), 2.0, dtype=torch.float64)),
    "class": lambda: torch.randint(0, 3, (N,)),
    "distribution": lambda: torch.softmax(torch.randn(N, 3, dtype=torch.float64), -1),
}
LOSSES = {
    "F.mse_loss": (F.mse_loss, "real"),
    "nn.MSELoss": (nn.MSELoss(), "real"),
    "half_squared_error": (half_squared_error, "real"),
    "F.l1_loss": (F.l1_loss, "real"),
    "F.smooth_l1_loss": (F.smooth_l1_loss, "real"),
    "nn.HuberLoss": (nn.HuberLoss(delta=0.5), "real"),
    "F.gaussian_nll_loss": (lambda out, y: F.gaussian_nll_loss(out, y, torch.ones_like(y)), "real"),
    "F.binary_cross_entropy": (lambda out, y: F.binary_cross_entropy(torch.sigmoid(out), y), "binary"),
    "nn.BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(), "binary"),
    "F.soft_margin_loss": (F.soft_margin_loss, "sign"),  # no forward-mode derivative in torch
    "F.poisson_nll_loss": (F.poisson_nll_loss, "count"),
    "F.cross_entropy": (F.cross_entropy, "class"),
    "nn.CrossEntropyLoss(label_smoothing)": (nn.CrossEntropyLoss(label_smoothing=0.1), "class"),
    "F.nll_loss": (lambda out, y: F.nll_loss(F.log_softmax(out, -1), y), "class"),
    "F.kl_div": (lambda out, y: F.kl_div(F.log_softmax(out, -1), y, reduction="batchmean"), "distribution"),
}


@pytest.mark.filterwarnings("ignore:There is a performance drop")  # soft_margin_loss has no vmap rule
@pytest.mark.parametrize("loss", list(LOSSES))
def test_hessian_trace_with_every_loss(loss: str) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    loss_fn, kind = LOSSES[loss]
    assert_exact_trace(model, loss_fn, (torch.randn(N, 4, dtype=torch.float64), _Y[kind]()))


def test_the_issues_float32_network_with_mse_loss() -> None:
    # issue 25: this raised "RuntimeError: ZeroTensors are immutable" (forward over reverse in F.mse_loss)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    data = (torch.randn(32, 4), torch.randn(32, 2))
    exact = exact_trace(model, F.mse_loss, data)
    est = cv.hessian_trace(model, F.mse_loss, data, num_samples=400, seed=0)
    err = cv.hessian_trace_error(model, F.mse_loss, data, num_samples=400, seed=0)
    assert abs(est - exact) < 5 * err
    assert float(torch.trace(cv.hessian(model, F.mse_loss, data))) == pytest.approx(exact, rel=1e-4)
