"""utils.grokking (chapter 6): the batched trainer against torch's own AdamW, one network at a time; steps A and B."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils.grokking import ModularHistory, ModularMLP, classify_run, first_step, grokking_steps, train_modular
from utils.modular import modular_arithmetic

P = 7


def _reference(seed: int, data, *, steps: int, lr: float, wd: float) -> ModularMLP:
    """One network, trained by torch.optim.AdamW on the plain mean cross-entropy of its training split."""
    model = ModularMLP(P, embed_dim=4, width=8, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=wd)
    train, _ = data
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(train.x)[0], train.y).backward()
        opt.step()
    return model


def test_each_network_trains_exactly_as_torch_adamw_alone() -> None:
    data = [modular_arithmetic(P, train_fraction=f, seed=s) for f, s in ((0.5, 0), (0.3, 1))]  # unequal sizes
    wds = [0.1, 2.0]
    batch = ModularMLP(P, embed_dim=4, width=8, num_models=2, seed=3)
    train_modular(batch, data, steps=4, lr=0.01, weight_decay=wds, progress=False)
    for m in range(2):
        alone = _reference(3 + m, data[m], steps=4, lr=0.01, wd=wds[m])
        for name in ("embed", "w_a", "w_b", "w_out"):
            torch.testing.assert_close(getattr(batch, name)[m], getattr(alone, name)[0], atol=2e-5, rtol=1e-4)


def test_per_network_learning_rates_train_each_network_as_torch_adamw_alone() -> None:
    data = [modular_arithmetic(P, train_fraction=0.5, seed=s) for s in (0, 1, 2)]
    lrs, wds = [0.003, 0.01, 0.03], [3.0, 1.0, 0.3]  # the same lr * wd, different lr
    batch = ModularMLP(P, embed_dim=4, width=8, num_models=3, seed=5)
    train_modular(batch, data, steps=6, lr=lrs, weight_decay=wds, progress=False)
    for m in range(3):
        alone = _reference(5 + m, data[m], steps=6, lr=lrs[m], wd=wds[m])
        for name in ("embed", "w_a", "w_b", "w_out"):
            torch.testing.assert_close(getattr(batch, name)[m], getattr(alone, name)[0], atol=2e-5, rtol=1e-4)


def test_seeds_share_an_initialisation_across_networks_and_init_scale_multiplies_it() -> None:
    shared = ModularMLP(P, embed_dim=4, width=8, num_models=3, seeds=[4, 4, 9], init_scale=[1.0, 2.5, 1.0])
    for name in ("embed", "w_a", "w_b", "w_out"):
        alone4, alone9 = (getattr(ModularMLP(P, embed_dim=4, width=8, seed=s), name)[0] for s in (4, 9))
        torch.testing.assert_close(getattr(shared, name)[0], alone4)
        torch.testing.assert_close(getattr(shared, name)[1], 2.5 * alone4)
        torch.testing.assert_close(getattr(shared, name)[2], alone9)
    # the default draw: N(0, 1) embedding, N(0, 1 / (2 d)) input maps, N(0, 1 / N) read-out, times the scale
    big = ModularMLP(101, embed_dim=64, width=256, seed=0, init_scale=3.0)
    for name, var in (("embed", 1.0), ("w_a", 1 / 128), ("w_b", 1 / 128), ("w_out", 1 / 256)):
        assert float(getattr(big, name).detach().std()) == pytest.approx(3.0 * math.sqrt(var), rel=0.03)


def test_records_agree_with_direct_evaluation() -> None:
    data = [modular_arithmetic(P, train_fraction=0.6, seed=s) for s in range(3)]
    model = ModularMLP(P, embed_dim=4, width=8, num_models=3, seed=0)
    h = train_modular(model, data, steps=25, lr=0.02, eval_every=10, snapshot_every=5, progress=False)
    assert h.eval_step.tolist() == [0, 10, 20, 25]
    assert sorted(h.snapshots) == [0, 5, 10, 15, 20, 25]
    assert h.step_acc.shape == (26, 3) and h.test_acc.shape == (4, 3)
    with torch.no_grad():
        for m, (train, test) in enumerate(data):
            out = model(test.x)[m]
            assert h.test_acc[-1, m] == pytest.approx(float((out.argmax(-1) == test.y).float().mean()))
            assert h.test_loss[-1, m] == pytest.approx(float(torch.nn.functional.cross_entropy(out, test.y)), rel=1e-5)
            tr = model(train.x)[m]
            assert h.step_acc[-1, m] == pytest.approx(float((tr.argmax(-1) == train.y).float().mean()))
            assert h.step_loss[-1, m] == pytest.approx(float(torch.nn.functional.cross_entropy(tr, train.y)), rel=1e-5)
            norm = math.sqrt(sum(float((getattr(model, k)[m] ** 2).sum()) for k in ("embed", "w_a", "w_b", "w_out")))
            assert h.weight_norm[-1, m] == pytest.approx(norm, rel=1e-5)
    # the per-step records and the full evaluations see the same parameters at the same steps
    np.testing.assert_allclose(h.step_acc[h.eval_step], h.train_acc, atol=1e-6)
    np.testing.assert_allclose(h.snapshots[25]["w_out"], model.w_out.detach().numpy())
    assert h.train_mask.sum(1).tolist() == [len(d[0]) for d in data]
    assert not np.any(h.train_mask & h.test_mask)


def test_first_step_and_grokking_steps() -> None:
    steps = np.array([0, 10, 20, 30])
    assert first_step(steps, np.array([0.1, 0.5, 0.96, 1.0]), 0.95) == 20
    assert first_step(steps, np.array([0.1, 0.95, 0.96, 1.0]), 0.95, strict=True) == 20
    assert first_step(steps, np.array([0.1, 0.95, 0.96, 1.0]), 0.95) == 10
    assert math.isnan(first_step(steps, np.zeros(4), 0.5))
    step_acc = np.zeros((41, 2))
    step_acc[7:, 0] = 1.0  # network 0: fits the training set at step 7
    step_acc[3:, 1] = 0.99  # network 1: never quite
    test_acc = np.array([[0.0, 0.0], [0.5, 0.2], [0.951, 0.3], [1.0, 0.96], [1.0, 0.97]])
    h = ModularHistory(
        step_loss=np.zeros((41, 2)),
        step_acc=step_acc,
        eval_step=steps.tolist() + [40],
        train_acc=test_acc,
        test_acc=test_acc,
        train_loss=test_acc,
        test_loss=test_acc,
        weight_norm=test_acc,
        train_mask=np.zeros((2, 1)),
        test_mask=np.zeros((2, 1)),
        labels=np.zeros((2, 1)),
        weight_decay=np.zeros(2),
    )
    a, b = grokking_steps(h)
    assert a[0] == 7 and math.isnan(a[1])
    assert b.tolist() == [20, 30]
    strict_b = grokking_steps(h, test_threshold=0.99)[1]
    assert strict_b[0] == 30 and math.isnan(strict_b[1])


@pytest.mark.parametrize(
    ("a", "b", "phase"),
    [
        (40, 600, "grokking"),
        (40, 100, "comprehension"),
        (40, 200, "grokking"),
        (40, math.nan, "memorisation"),
        (math.nan, math.nan, "confusion"),
        (math.nan, 300, "comprehension"),
        # A = 0 (fitted before any step): B is compared with ratio * max(A, 1) = 5 steps
        (0, 3, "comprehension"),
        (0, 5, "grokking"),
        (np.float64(40), np.float64(600), "grokking"),
    ],
)
def test_classify_run(a: float, b: float, phase: str) -> None:
    assert classify_run(a, b) == phase


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: classify_run(-5, 3), ValueError, r"^step_a must be >= 0"),
        (lambda: classify_run(5, -3), ValueError, r"^step_b must be >= 0"),
        (lambda: classify_run(5, math.inf), ValueError, r"^step_b must be finite"),
        (lambda: classify_run("5", 3), TypeError, r"^step_a must be a real number"),
        (lambda: classify_run(5, 30, ratio=0), ValueError, r"^ratio must be > 0"),
        (lambda: first_step([0, 1], [0.5, 1.0], math.nan), ValueError, r"^threshold must be finite"),
        (lambda: first_step([0, 1], [0.5, 1.0], 0.9, strict="yes"), TypeError, r"^strict must be True or False"),
        (lambda: first_step([0, 1], [0.5, math.nan], 0.9), ValueError, r"^values must be finite"),
        (lambda: first_step([0, 1], [0.5, 1.0, 1.0], 0.9), ValueError, r"^steps and values must be 1-D arrays"),
    ],
)
def test_step_readers_reject_bad_input(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_bad_input_and_divergence() -> None:
    data = [modular_arithmetic(P, train_fraction=0.5, seed=0)]
    model = ModularMLP(P, embed_dim=4, width=8)
    with pytest.raises(ValueError, match=r"^data must be a list of 1"):
        train_modular(model, data * 2, steps=1)
    with pytest.raises(ValueError, match=r"^weight_decay must satisfy lr \* weight_decay < 1"):
        train_modular(model, data, steps=1, lr=0.1, weight_decay=10.0)
    with pytest.raises(ValueError, match=r"^weight_decay must be one number or one per network"):
        train_modular(model, data, steps=1, weight_decay=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"^weight_decay must be >= 0"):
        train_modular(model, data, steps=1, weight_decay=-1.0)
    with pytest.raises(ValueError, match=r"^data\[0\] is for p = 11"):
        train_modular(model, [modular_arithmetic(11, train_fraction=0.5)], steps=1)
    train, test = data[0]
    with pytest.raises(ValueError, match=r"^data\[0\]: the train and test splits share pairs"):
        train_modular(model, [(train, train)], steps=1)
    with pytest.raises(TypeError, match=r"^data\[0\] must be a \(train, test\) pair"):
        train_modular(model, [(train.x, test.x)], steps=1)
    with pytest.raises(TypeError, match=r"^model must be a utils.grokking.ModularMLP"):
        train_modular(torch.nn.Linear(2, 2), data, steps=1)
    with pytest.raises(ValueError, match=r"^steps must be >= 1"):
        train_modular(model, data, steps=0)
    with pytest.raises(ValueError, match=r"^lr must be one number or one per network"):
        train_modular(model, data, steps=1, lr=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"^lr must be > 0"):
        train_modular(model, data, steps=1, lr=0.0)
    with pytest.raises(ValueError, match=r"^seeds must be a sequence of one seed per network \(2\)"):
        ModularMLP(P, num_models=2, seeds=[1])
    with pytest.raises(ValueError, match=r"^seeds\[1\] must be >= 0"):
        ModularMLP(P, num_models=2, seeds=[1, -1])
    with pytest.raises(ValueError, match=r"^init_scale must be > 0"):
        ModularMLP(P, init_scale=0.0)
    with torch.no_grad():
        model.w_out[0, 0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match=r"^training loss of network 0 became nan after 0 steps: lower lr"):
        train_modular(model, data, steps=5, progress=False)
