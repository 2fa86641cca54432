"""Bad input across the public API gives a named error that says what to change (issue 29, item 1).

One row per mistake: the call, the error type, and the start of its message (which names the
argument). The module tests check each module's own arguments; this table holds the cases of
the issue's review (first_step(threshold=nan) and classify_run(-5, 3) are in test_grokking.py's
table) and the same kinds of mistake in the other public functions: a target that
broadcasts against the output, ragged or non-finite arrays, wrong dtypes, shapes and ranges.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils import (
    addition,
    attention,
    bayes,
    branching,
    curvature,
    deep_linear,
    fourier,
    fss,
    grokking,
    icl,
    induction,
    ising,
    llc,
    mcmc,
    metrics,
    modular,
    plotting,
    random_networks,
    rg,
    signal,
    stats,
    tms,
    tms_model,
    token_models,
    training,
)

X16 = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
Y16 = torch.randn(16, generator=torch.Generator().manual_seed(1))
LINEAR = nn.Linear(3, 1)


def _train(loss_fn=F.mse_loss, data=(X16, Y16), model=LINEAR):
    return training.train(model, loss_fn, data, steps=2, lr=0.1, progress=False)


def _llc(loss_fn=F.mse_loss, data=(X16, Y16)):
    return llc.estimate_llc(LINEAR, loss_fn, data, num_chains=2, num_draws=10)


def _zero(model: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


class _Fails(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise IndexError("index 7 is out of bounds")


CASES = {
    # -- the silent results ---------------------------------------------------------------
    "train: y [n] against model(x) [n, 1]": (_train, ValueError, r"^y must have the shape of model\(x\) for mse_loss"),
    "estimate_llc: y [n] against model(x) [n, 1]": (_llc, ValueError, r"^y must have the shape of model\(x\)"),
    "train: nn.L1Loss broadcasting": (lambda: _train(nn.L1Loss()), ValueError, r"^y must have the shape of model\(x\)"),
    "train: BCE with logits on mismatched shapes": (  # torch refuses it itself; the error shows both shapes
        lambda: _train(F.binary_cross_entropy_with_logits, (X16, (Y16 > 0).float())),
        ValueError,
        r"^loss_fn\(model\(x\), y\) failed .*model\(x\) has shape \(6, 1\) and y has shape \(6,\)",
    ),
    "train: a hand-written loss that broadcasts": (
        lambda: _train(lambda out, y: ((out - y) ** 2).mean()),
        ValueError,
        r"^loss_fn\(model\(x\), y\) must be the mean of the per-sample losses",
    ),
    "hessian_trace: y [n] against model(x) [n, 1]": (
        lambda: curvature.hessian_trace(LINEAR, F.mse_loss, (X16, Y16)),
        ValueError,
        r"^y must have the shape of model\(x\)",
    ),
    "half_squared_error: y [n] against out [n, 1]": (
        lambda: deep_linear.half_squared_error(torch.zeros(4, 1), torch.zeros(4)),
        ValueError,
        r"^y must have the shape of out, \[n, d\].*use y.unsqueeze\(-1\)",
    ),
    "power_law_fit: all x equal": (
        lambda: fss.power_law_fit(np.ones(4), np.arange(1.0, 5.0), np.ones(4)),
        ValueError,
        r"^x must hold at least two different values",
    ),
    "linearize: not a fixed point": (
        lambda: rg.linearize(lambda v: 2 * v + 1, 0.5),
        ValueError,
        r"^x_star must be a fixed point of f",
    ),
    "linearize_map: not a fixed point": (
        lambda: rg.linearize_map(lambda v: 2 * v + 1, [0.5, 0.5]),
        ValueError,
        r"^x_star must be a fixed point of f",
    ),
    "colors(-1)": (lambda: plotting.colors(-1), ValueError, r"^num_colors must be >= 1"),
    "sequential(0)": (lambda: plotting.sequential(0), ValueError, r"^num_colors must be >= 1"),
    "sequential: unknown colormap": (lambda: plotting.sequential(3, "nope"), ValueError, r"^cmap must be the name"),
    "subplots: negative width": (lambda: plotting.subplots(width=-1), ValueError, r"^width must be > 0"),
    "TokenMLP: float tokens": (
        lambda: token_models.TokenMLP(2, 1, 3, width=4)(torch.zeros(2, 2)),
        TypeError,
        r"^x must hold integer tokens",
    ),
    "TokenMLP: a single token outside the vocabulary": (
        lambda: token_models.TokenMLP(1, 1, 3, width=4)(torch.tensor([[3]])),
        ValueError,
        r"^x must hold tokens in \[0, 3\)",
    ),
    "fisher_trace: a summed loss on small losses": (  # the sum is found however small the losses are
        lambda: curvature.fisher_trace(
            _zero(nn.Linear(3, 1)), lambda out, y: ((out - y) ** 2).sum(), (X16, 1e-3 * Y16[:, None])
        ),
        ValueError,
        r"^loss_fn\(model\(x\), y\) must average the per-sample losses",
    ),
    "TokenMLP: token outside the vocabulary": (
        lambda: token_models.TokenMLP(2, 1, 3, width=4)(torch.full((2, 2), 3)),
        ValueError,
        r"^x must hold tokens in \[0, 3\)",
    ),
    # -- the raw tracebacks ---------------------------------------------------------------
    "r_hat: ragged chains": (
        lambda: mcmc.r_hat([[1.0, 2, 3, 4, 5], [1.0, 2, 3]]),
        ValueError,
        r"^trace must be a rectangular array",
    ),
    "r_hat: an integer too large for a float": (
        lambda: mcmc.r_hat([[10**400, 1, 2, 3], [1, 2, 3, 4]]),
        ValueError,
        r"^trace must be finite",
    ),
    "seed_mean: no such axis": (
        lambda: stats.seed_mean(np.ones((3, 2)), axis=2),
        ValueError,
        r"^axis must be <= 1",
    ),
    "least_squares: NaN": (
        lambda: icl.least_squares(np.full((2, 3, 2), np.nan), np.zeros((2, 3)), np.zeros((2, 2))),
        ValueError,
        r"^x must be finite",
    ),
    "fit_lambda: mismatched lengths": (
        lambda: bayes.fit_lambda([10, 100, 1000], [1.0, 2.0]),
        ValueError,
        r"^free_energies must have one value per entry of n",
    ),
    "fit_volume_lambda: mismatched lengths": (
        lambda: bayes.fit_volume_lambda([0.1, 0.01, 0.001], [1.0, 2.0]),
        ValueError,
        r"^volume must have one value per entry of eps",
    ),
    "calibrate_step_size: one step size": (
        lambda: llc.calibrate_step_size(LINEAR, F.mse_loss, (X16, Y16[:, None]), 0.1),
        ValueError,
        r"^step_sizes must be a 1-D sequence of at least 2",
    ),
    "LinearSelfAttention: seed 2**70": (
        lambda: attention.LinearSelfAttention(4, seed=2**70),
        ValueError,
        r"^seed must be <= 4294967295",
    ),
    "hessian_rank: non-square": (
        lambda: curvature.hessian_rank(np.ones((2, 3))),
        ValueError,
        r"^H must be a non-empty square matrix",
    ),
    # -- the same kinds of mistake elsewhere -------------------------------------------------------
    "train: NaN in x": (
        lambda: _train(data=(torch.full((16, 3), math.nan), Y16[:, None])),
        ValueError,
        r"^data: x must be finite",
    ),
    "train: model(x) fails": (
        lambda: _train(model=_Fails(), data=(X16, Y16[:, None])),
        ValueError,
        r"^model\(x\) failed on rows",
    ),
    "sgld_step: grad of another shape": (
        lambda: llc.sgld_step(
            torch.zeros(3), torch.zeros(2), torch.zeros(3), torch.zeros(3), step_size=0.1, nbeta=1.0, localization=1.0
        ),
        ValueError,
        r"^grad must have the shape of w",
    ),
    "sgld_step: negative step size": (
        lambda: llc.sgld_step(
            torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.zeros(3), step_size=-0.1, nbeta=1.0, localization=1.0
        ),
        ValueError,
        r"^step_size must be > 0",
    ),
    "attention: integer q": (
        lambda: attention.attention(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3), torch.zeros(2, 3)),
        TypeError,
        r"^q must",
    ),
    "ICLTransformer.attention_weights: no such layer": (
        lambda: attention.ICLTransformer(3, 4).attention_weights(torch.zeros(2, 4, 3), layer=1),
        ValueError,
        r"^layer must be <= 0",
    ),
    "frequency_power: even length": (
        lambda: fourier.frequency_power(np.ones(4)),
        ValueError,
        r"^x must have an odd length p >= 3",
    ),
    "frequency_power: no such axis": (
        lambda: fourier.frequency_power(np.ones((5, 5)), axis=2),
        ValueError,
        r"^axis must be <= 1",
    ),
    "cross_entropy: float labels": (
        lambda: fourier.cross_entropy(np.zeros((3, 5)), np.zeros(3)),
        TypeError,
        r"^labels must hold integer class labels",
    ),
    "cross_entropy: label outside the classes": (
        lambda: fourier.cross_entropy(np.zeros((3, 5)), np.array([0, 1, 5])),
        ValueError,
        r"^labels must lie in \[0, 5\)",
    ),
    "cross_entropy: mask selects nothing": (
        lambda: fourier.cross_entropy(np.zeros((3, 5)), np.array([0, 1, 2]), np.zeros(3, bool)),
        ValueError,
        r"^mask must select at least one row",
    ),
    "energy_fraction: frequency 0": (
        lambda: fourier.energy_fraction(np.ones(4), [0, 1]),
        ValueError,
        r"^freqs must be non-zero frequencies below 4",
    ),
    "ModularMLP: operand outside Z_p": (
        lambda: grokking.ModularMLP(5, embed_dim=3, width=4)(torch.tensor([[0, 5]])),
        ValueError,
        r"^x must hold tokens in \[0, 5\)",
    ),
    "ModularMLP.from_weights: NaN": (
        lambda: grokking.ModularMLP.from_weights(
            np.full((5, 3), np.nan), np.ones((3, 4)), np.ones((3, 4)), np.ones((4, 5))
        ),
        ValueError,
        r"^embed must be finite",
    ),
    "susceptibility: one T per row, wrong count": (
        lambda: ising.susceptibility(np.ones((3, 10)), np.array([2.0, 2.5]), 4),
        ValueError,
        r"^T must be one temperature or one per row of samples",
    ),
    "magnetization: ragged spins": (
        lambda: ising.magnetization([[1, 1], [1]]),
        ValueError,
        r"^spins must be a rectangular array",
    ),
    "relu_length_fluctuations: fractional depth": (
        lambda: signal.relu_length_fluctuations(2.5, 10),
        ValueError,
        r"^depth must hold whole numbers of layers",
    ),
    "tms.loss: NaN in W": (
        lambda: tms.loss(np.full((2, 3), np.nan), np.zeros(3)),
        ValueError,
        r"^W must be finite",
    ),
    "ToyModelOfSuperposition: x of the wrong width": (
        lambda: tms_model.ToyModelOfSuperposition(np.ones((2, 3)), np.zeros(3))(torch.zeros(4, 2, dtype=torch.float64)),
        ValueError,
        r"^x must have shape \[n, 3\]",
    ),
    "ParallelMLP: x of the wrong width": (
        lambda: random_networks.ParallelMLP([1.0, 2.0], in_dim=3, width=4, depth=1)(torch.zeros(5, 2)),
        ValueError,
        r"^x must have shape \(batch, 3\)",
    ),
    "ensemble_cross_entropy: target outside the vocabulary": (
        lambda: token_models.ensemble_cross_entropy(torch.zeros(1, 2, 1, 3), torch.tensor([[0], [3]])),
        ValueError,
        r"^targets must hold tokens in \[0, 3\)",
    ),
    "answer_log_likelihood: not an ensemble": (
        lambda: token_models.answer_log_likelihood(
            token_models.TokenMLP(2, 1, 3, width=4),
            torch.zeros(1, 2, dtype=torch.long),
            torch.zeros(1, 1, dtype=torch.long),
        ),
        TypeError,
        r"^model must be a TokenMLPEnsemble",
    ),
    "exact_match: ragged rows": (
        lambda: metrics.exact_match([[1, 2], [3]], [[1, 2], [3, 4]]),
        ValueError,
        r"^pred must be a rectangular array",
    ),
    "decode_numbers: ragged tokens": (
        lambda: addition.decode_numbers([[1, 2], [3]], 2),
        ValueError,
        r"^tokens must be a rectangular array",
    ),
    # -- a held-out sample (130 further calls; these were the ones without a named error) -----------
    "pgf: geometric beyond its radius of convergence": (  # gave 1 / (1 + m (1 - s)) = -1 for E[s^k] = inf
        lambda: branching.pgf(3.0, 1.0, "geometric"),
        ValueError,
        r"^s must satisfy \|s\| < 1 \+ 1/m for geometric offspring .*got s = 3",
    ),
    "pgf: geometric, one s of an array beyond the radius": (
        lambda: branching.pgf(np.array([0.5, -2.5]), 1.0, "geometric"),
        ValueError,
        r"^s must satisfy \|s\| < 1 \+ 1/m .*got s = -2.5",
    ),
    "train_modular: fewer data sets than networks": (  # said "got list"
        lambda: grokking.train_modular(
            grokking.ModularMLP(5, embed_dim=3, width=4, num_models=2),
            [modular.modular_arithmetic(5, train_fraction=0.5)],
            steps=1,
            progress=False,
        ),
        ValueError,
        r"^data must be a list of 2 \(train, test\) pairs, one per network, got 1$",
    ),
    "evaluate_heads: float tokens": (  # said "got Tensor"
        lambda: induction.evaluate_heads(induction.AttentionOnlyTransformer(8, 6), torch.zeros(2, 6)),
        TypeError,
        r"^tokens must be an int64 tensor \(token ids\), got dtype torch.float32",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_a_named_error(case: str) -> None:
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call()


def test_the_shape_check_leaves_good_calls_alone() -> None:
    # y shaped like the output trains; a loss over class indices (cross-entropy) is not entry-by-entry
    assert np.isfinite(_train(data=(X16, Y16[:, None])).final("train/loss"))
    logits_model = nn.Linear(3, 4)
    labels = torch.randint(0, 4, (16,), generator=torch.Generator().manual_seed(2))
    assert np.isfinite(_train(F.cross_entropy, (X16, labels), model=logits_model).final("train/loss"))


def test_a_mean_loss_of_a_deep_chaotic_float32_ensemble_is_accepted() -> None:
    # chapter 5b's loss (each network's mean logistic loss, summed): in float32 the round-off of
    # batched against one-row evaluation grows through 36 chaotic layers beyond the check's
    # tolerance (on the loss and its gradients); the check then decides in float64
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 16, generator=g)
    y = (x @ torch.randn(16, generator=g) > 0).float()
    sigma_w = np.tile(np.sqrt(np.linspace(0.5, 4, 12)), 3)
    model = random_networks.ParallelMLP(sigma_w, in_dim=16, width=32, depth=36, sigma_b=0.05**0.5, seed=3)

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        per_net = F.binary_cross_entropy_with_logits(out[..., 0], y.expand(out.shape[0], -1), reduction="none")
        return per_net.mean(1).sum()

    hist = training.train(model, loss, (x, y), steps=1, lr=0.1, optimizer="sgd", progress=False)
    assert np.isfinite(hist.final("train/loss"))
    assert next(model.parameters()).dtype == torch.float32  # the model itself is left in float32
