"""utils.training.train against independent answers: least squares and logistic separability."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils.training import _evaluate as evaluate
from utils.training import train


def regression_problem(n: int = 256, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, 1, generator=g)
    y = x @ w + 0.5 + 0.3 * torch.randn(n, 1, generator=g)
    # the exact least-squares loss, from the normal equations (an independent answer)
    X = torch.cat([x, torch.ones(n, 1)], dim=1).double()
    beta = torch.linalg.lstsq(X, y.double()).solution
    best = float(torch.mean((X @ beta - y.double()) ** 2))
    return x, y, best


def test_full_batch_reaches_least_squares_loss() -> None:
    x, y, best = regression_problem()
    torch.manual_seed(0)
    model = nn.Linear(5, 1)
    hist = train(model, F.mse_loss, (x, y), steps=600, lr=0.05, optimizer="adam", progress=False)
    assert hist.final("train/loss") == pytest.approx(best, rel=1e-3)
    assert len(hist.loss) == 600 and hist.step[-1] == 600


def test_minibatch_sgd_gets_close_to_least_squares_loss() -> None:
    x, y, best = regression_problem()
    torch.manual_seed(0)
    model = nn.Linear(5, 1)
    hist = train(
        model,
        F.mse_loss,
        (x, y),
        steps=3000,
        lr=0.05,
        optimizer="sgd",
        batch_size=32,
        lr_schedule=lambda s: 1.0 if s < 2000 else 0.1,
        progress=False,
    )
    assert best <= hist.final("train/loss") < best * 1.02


def test_metrics_and_eval_sets_are_recorded() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(1)
    model = nn.Linear(2, 2)
    acc = lambda out, t: float((out.argmax(-1) == t).float().mean())  # noqa: E731
    hist = train(
        model,
        F.cross_entropy,
        (x[:300], y[:300]),
        steps=200,
        lr=0.1,
        eval_every=50,
        eval_sets={"train": (x[:300], y[:300]), "test": (x[300:], y[300:])},
        metrics={"acc": acc},
        progress=False,
    )
    assert hist.eval_step == [50, 100, 150, 200]
    assert set(hist.evals) == {"train/loss", "train/acc", "test/loss", "test/acc"}
    assert hist.final("test/acc") > 0.95  # linearly separable through the origin
    assert evaluate(model, F.cross_entropy, (x[300:], y[300:]), {"acc": acc})["acc"] == hist.final("test/acc")


def test_seed_alone_sets_the_batch_order() -> None:
    # train's only randomness is its `seed` (the minibatch order): the global torch state
    # before the call must not matter, and another seed must give another order.
    x, y, _ = regression_problem()
    torch.manual_seed(0)
    init = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1)).state_dict()

    def run(seed: int, global_seed: int) -> list[float]:
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
        model.load_state_dict(init)
        torch.manual_seed(global_seed)
        return train(model, F.mse_loss, (x, y), steps=50, lr=0.01, batch_size=16, seed=seed, progress=False).loss

    assert run(3, global_seed=1) == run(3, global_seed=2)
    assert run(3, global_seed=1) != run(4, global_seed=1)


def test_divergence_stops_with_advice() -> None:
    x, y, _ = regression_problem()
    model = nn.Linear(5, 1)
    with pytest.raises(FloatingPointError, match="lower lr"):
        train(model, F.mse_loss, (x * 1e3, y), steps=200, lr=10.0, optimizer="sgd", progress=False)


# ---- the optimiser options against the update rules written out in numpy ---------------------

X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [-2.0, 0.3, 1.0], [1.5, 1.0, 0.2]])
Y = np.array([[1.0], [-2.0], [0.5], [3.0]])
W0 = np.array([[0.3, -0.2, 0.5]])
STEPS, LR = 5, 0.05


def mse_grad(w: np.ndarray) -> np.ndarray:
    """Gradient of mean((X w^T - Y)^2) with respect to w (1 x 3)."""
    return 2 / len(X) * (X @ w.T - Y).T @ X


def run_train(**kwargs) -> np.ndarray:
    model = nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor(W0))
    train(model, F.mse_loss, (torch.tensor(X), torch.tensor(Y)), steps=STEPS, lr=LR, progress=False, **kwargs)
    return model.weight.detach().numpy()


def sgd_reference(
    weight_decay: float = 0.0, momentum: float = 0.0, grad_clip: float | None = None, schedule=lambda step: 1.0
) -> np.ndarray:
    w, v = W0.copy(), np.zeros_like(W0)
    for step in range(1, STEPS + 1):
        g = mse_grad(w)
        if grad_clip is not None:
            g = g * min(1.0, grad_clip / (np.linalg.norm(g) + 1e-6))
        g = g + weight_decay * w  # L2 penalty through the gradient
        v = momentum * v + g  # heavy ball
        w = w - LR * schedule(step) * v
    return w


def adam_reference(weight_decay: float = 0.0, decoupled: bool = True) -> np.ndarray:
    b1, b2, eps = 0.9, 0.999, 1e-8
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for t in range(1, STEPS + 1):
        g = mse_grad(w)
        if decoupled:
            w = w * (1 - LR * weight_decay)  # AdamW: decay the weights, not the gradient
        else:
            g = g + weight_decay * w  # Adam: L2 penalty through the gradient
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w = w - LR * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w


def test_sgd_plain_weight_decay_and_momentum() -> None:
    np.testing.assert_allclose(run_train(optimizer="sgd"), sgd_reference(), rtol=1e-12)
    np.testing.assert_allclose(
        run_train(optimizer="sgd", weight_decay=0.3), sgd_reference(weight_decay=0.3), rtol=1e-12
    )
    np.testing.assert_allclose(run_train(optimizer="sgd", momentum=0.9), sgd_reference(momentum=0.9), rtol=1e-12)
    assert not np.allclose(sgd_reference(momentum=0.9), sgd_reference())  # the options matter here


def test_lr_schedule_scales_each_step_by_its_number() -> None:
    # steps count from 1: lr_schedule(1) sets the first update, lr_schedule(STEPS) the last
    calls = []

    def schedule(step: int) -> float:
        calls.append(step)
        return 1.0 / step

    got = run_train(optimizer="sgd", lr_schedule=schedule)
    assert calls == list(range(1, STEPS + 1))
    np.testing.assert_allclose(got, sgd_reference(schedule=lambda step: 1.0 / step), rtol=1e-12)
    assert not np.allclose(sgd_reference(schedule=lambda step: 1.0 / step), sgd_reference(), rtol=1e-3)


def test_each_epoch_visits_every_sample_once() -> None:
    # y holds each row's index, so the loss sees which rows a minibatch holds
    n, batch = 12, 4
    x = torch.arange(n, dtype=torch.float64)[:, None]
    batches = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and len(y) == batch:  # a training step (not an evaluation or a check)
            batches.append(sorted(y[:, 0].long().tolist()))
        return F.mse_loss(out, y)

    model = nn.Linear(1, 1).double()
    train(model, loss_fn, (x, x.clone()), steps=9, lr=1e-3, batch_size=batch, optimizer="sgd", progress=False)
    assert len(batches) == 9
    for epoch in range(3):  # three batches of four make each epoch, a permutation of the twelve rows
        rows = sum(batches[3 * epoch : 3 * epoch + 3], [])
        assert sorted(rows) == list(range(n))
    assert batches[:3] != batches[3:6]  # reshuffled between epochs


def test_evaluations_run_in_eval_mode() -> None:
    # with dropout, the recorded evaluation is the deterministic network's loss; training mode is restored
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.5), nn.Linear(16, 1)).double()
    x, y = torch.randn(64, 3, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    hist = train(model, F.mse_loss, (x, y), steps=3, lr=1e-2, progress=False)
    assert model.training and model[1].training
    model.eval()
    with torch.no_grad():
        assert hist.final("train/loss") == pytest.approx(float(F.mse_loss(model(x), y)), rel=1e-12)


def test_grad_clip_rescales_the_gradient_norm() -> None:
    clip = 0.5  # the gradient norm at W0 is about 9, so every step is clipped
    assert np.linalg.norm(mse_grad(W0)) > 10 * clip
    np.testing.assert_allclose(run_train(optimizer="sgd", grad_clip=clip), sgd_reference(grad_clip=clip), rtol=1e-10)


def test_default_optimizer_is_adamw_with_decoupled_weight_decay() -> None:
    decoupled, coupled = adam_reference(weight_decay=0.5), adam_reference(weight_decay=0.5, decoupled=False)
    assert not np.allclose(decoupled, coupled, rtol=1e-6)
    np.testing.assert_allclose(run_train(weight_decay=0.5), decoupled, rtol=1e-10)
    np.testing.assert_allclose(run_train(optimizer="adam", weight_decay=0.5), coupled, rtol=1e-10)


def test_loss_is_recorded_before_each_update() -> None:
    model = nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor(W0))
    hist = train(model, F.mse_loss, (torch.tensor(X), torch.tensor(Y)), steps=2, lr=LR, optimizer="sgd", progress=False)
    w1 = W0 - LR * mse_grad(W0)
    want = [np.mean((X @ W0.T - Y) ** 2), np.mean((X @ w1.T - Y) ** 2)]
    np.testing.assert_allclose(hist.loss, want, rtol=1e-12)
    assert hist.step == [1, 2] and hist.eval_step == [2]


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"steps": 0}, ValueError, r"^steps must be >= 1"),
        ({"steps": 10, "lr": -1.0}, ValueError, r"^lr must be > 0"),
        ({"steps": 10, "optimizer": "lbfgs"}, ValueError, r"^optimizer must be one of"),
        ({"steps": 10, "batch_size": 10_000}, ValueError, r"^batch_size must be <= the number of samples"),
        ({"steps": 2.5}, TypeError, r"^steps must be an integer"),
        ({"steps": 10, "momentum": 0.9}, ValueError, r"^momentum applies to optimizer='sgd' only"),
        ({"steps": 10, "momentum": 1.5, "optimizer": "sgd"}, ValueError, r"^momentum must be <= 1"),
        ({"steps": 10, "weight_decay": -0.1}, ValueError, r"^weight_decay must be >= 0"),
        ({"steps": 10, "grad_clip": 0.0}, ValueError, r"^grad_clip must be > 0"),
        ({"steps": 10, "seed": -1}, ValueError, r"^seed must be >= 0"),
        ({"steps": 10, "lr_schedule": 0.5}, TypeError, r"^lr_schedule must be callable"),
        ({"steps": 10, "eval_sets": {"test": (1, 2)}}, TypeError, r"^eval_sets\['test'\] must hold torch tensors"),
    ],
)
def test_bad_arguments_are_named(kwargs, err, match) -> None:
    x, y, _ = regression_problem(n=32)
    with pytest.raises(err, match=match):
        train(nn.Linear(5, 1), F.mse_loss, (x, y), progress=False, **kwargs)


def test_bad_model_loss_and_data() -> None:
    with pytest.raises(TypeError, match=r"^data must be a tuple \(x, y\) of tensors"):
        train(nn.Linear(2, 1), F.mse_loss, torch.zeros(3, 2), steps=1)
    with pytest.raises(ValueError, match=r"^data: x and y must have the same number of rows"):
        train(nn.Linear(2, 1), F.mse_loss, (torch.zeros(3, 2), torch.zeros(4, 1)), steps=1)
    with pytest.raises(ValueError, match=r"^data must hold at least 1 row, got 0"):
        train(nn.Linear(2, 1), F.mse_loss, (torch.zeros(0, 2), torch.zeros(0, 1)), steps=1)
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module"):
        train(lambda x: x, F.mse_loss, (torch.zeros(3, 2), torch.zeros(3, 1)), steps=1)
    with pytest.raises(TypeError, match=r"^loss_fn must be callable"):
        train(nn.Linear(2, 1), "mse", (torch.zeros(3, 2), torch.zeros(3, 1)), steps=1)
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module"):
        evaluate("model", F.mse_loss, (torch.zeros(3, 2), torch.zeros(3, 1)))


def test_probes_are_recorded_at_the_evaluation_steps() -> None:
    # full-batch GD on mean((w - 3)^2): w_t = 3 (1 - (1 - 2 lr)^t) from w_0 = 0, in closed form
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    x, y = torch.ones(4, 1), 3 * torch.ones(4, 1)
    hist = train(
        model,
        torch.nn.functional.mse_loss,
        (x, y),
        steps=10,
        lr=0.1,
        optimizer="sgd",
        eval_every=5,
        progress=False,
        probes={"w": lambda m: m.weight.item()},
    )
    assert hist.eval_step == [5, 10]
    assert hist.evals["probe/w"] == pytest.approx([3 * (1 - 0.8**5), 3 * (1 - 0.8**10)], rel=1e-6)
    arrays = hist.as_arrays()
    assert arrays["eval_step"].tolist() == [5, 10] and arrays["probe/w"][-1] == hist.final("probe/w")
    assert arrays["step"].tolist() == list(range(1, 11)) and arrays["loss"].shape == (10,)


def test_a_probe_may_return_one_value_per_network() -> None:
    # two independent weights in one module, GD on sum_m mean((w_m - t_m)^2): each follows the closed form
    model = torch.nn.Linear(1, 2, bias=False)
    torch.nn.init.zeros_(model.weight)
    x, y = torch.ones(4, 1), torch.tensor([[3.0, -1.0]]).expand(4, 2)

    def loss(out, y):
        return ((out - y) ** 2).mean(0).sum()

    hist = train(
        model,
        loss,
        (x, y),
        steps=6,
        lr=0.1,
        optimizer="sgd",
        eval_every=3,
        progress=False,
        probes={"w": lambda m: m.weight[:, 0]},
    )
    w = hist.as_arrays()["probe/w"]
    assert w.shape == (2, 2)
    np.testing.assert_allclose(w, np.outer(1 - 0.8 ** np.array([3, 6]), [3.0, -1.0]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"^probes\['e'\] returned an empty array"):
        train(model, loss, (x, y), steps=1, lr=0.1, progress=False, probes={"e": lambda m: np.zeros(0)})
