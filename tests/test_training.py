"""utils.training.train against independent answers: least squares and logistic separability."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils.training import evaluate, train


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
        model, F.mse_loss, (x, y), steps=3000, lr=0.05, optimizer="sgd", batch_size=32,
        lr_schedule=lambda s: 1.0 if s < 2000 else 0.1, progress=False,
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
        model, F.cross_entropy, (x[:300], y[:300]), steps=200, lr=0.1, eval_every=50,
        eval_sets={"train": (x[:300], y[:300]), "test": (x[300:], y[300:])}, metrics={"acc": acc}, progress=False,
    )
    assert hist.eval_step == [50, 100, 150, 200]
    assert set(hist.evals) == {"train/loss", "train/acc", "test/loss", "test/acc"}
    assert hist.final("test/acc") > 0.95  # linearly separable through the origin
    assert evaluate(model, F.cross_entropy, (x[300:], y[300:]), {"acc": acc})["acc"] == hist.final("test/acc")


def test_deterministic_by_seed() -> None:
    x, y, _ = regression_problem()

    def run(seed: int) -> list[float]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
        return train(model, F.mse_loss, (x, y), steps=50, lr=0.01, batch_size=16, seed=seed, progress=False).loss

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_divergence_stops_with_advice() -> None:
    x, y, _ = regression_problem()
    model = nn.Linear(5, 1)
    with pytest.raises(FloatingPointError, match="lower lr"):
        train(model, F.mse_loss, (x * 1e3, y), steps=200, lr=10.0, optimizer="sgd", progress=False)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 10, "lr": -1.0}, ValueError, "lr"),
        ({"steps": 10, "optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"steps": 10, "batch_size": 10_000}, ValueError, "batch_size"),
        ({"steps": 2.5}, TypeError, "steps"),
    ],
)
def test_bad_arguments_are_named(kwargs, err, match) -> None:
    x, y, _ = regression_problem(n=32)
    with pytest.raises(err, match=match):
        train(nn.Linear(5, 1), F.mse_loss, (x, y), progress=False, **kwargs)


def test_bad_data() -> None:
    with pytest.raises(TypeError, match="data"):
        train(nn.Linear(2, 1), F.mse_loss, torch.zeros(3, 2), steps=1)
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        train(nn.Linear(2, 1), F.mse_loss, (torch.zeros(3, 2), torch.zeros(4, 1)), steps=1)


def test_probes_are_recorded_at_the_evaluation_steps() -> None:
    # full-batch GD on mean((w - 3)^2): w_t = 3 (1 - (1 - 2 lr)^t) from w_0 = 0, in closed form
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    x, y = torch.ones(4, 1), 3 * torch.ones(4, 1)
    hist = train(model, torch.nn.functional.mse_loss, (x, y), steps=10, lr=0.1, optimizer="sgd",
                 eval_every=5, progress=False, probes={"w": lambda m: m.weight.item()})
    assert hist.eval_step == [5, 10]
    assert hist.evals["probe/w"] == pytest.approx([3 * (1 - 0.8**5), 3 * (1 - 0.8**10)], rel=1e-6)
