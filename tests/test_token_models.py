"""utils.token_models and utils.training.num_parameters: shapes, parameter counts worked by hand, the losses against
their definition, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from utils._validate import eval_mode
from utils.token_models import (
    TokenMLP,
    TokenMLPEnsemble,
    answer_log_likelihood,
    ensemble_cross_entropy,
    generate_tokens,
)
from utils.training import num_parameters


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats per token) of logits ``[n, length, vocab]``: the reference for one model."""
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten().long())


def test_shapes_and_hand_counted_parameters() -> None:
    m = TokenMLP(num_in=6, num_out=4, vocab=10, width=8)
    x = torch.randint(0, 10, (5, 6))
    assert m(x).shape == (5, 4, 10)
    # (6*10)*8 + 8 weights/biases into the hidden layer, 8*(4*10) + 40 out of it
    assert num_parameters(m) == 60 * 8 + 8 + 8 * 40 + 40 == 848
    deep = TokenMLP(2, 1, 3, width=4, depth=2)
    assert num_parameters(deep) == (6 * 4 + 4) + (4 * 4 + 4) + (4 * 3 + 3)


def test_forward_is_the_stated_formula() -> None:
    torch.manual_seed(0)
    m = TokenMLP(num_in=2, num_out=3, vocab=5, width=7)
    x = torch.tensor([[1, 4], [0, 2]])
    onehot = torch.zeros(2, 10)
    onehot[0, 1] = onehot[0, 5 + 4] = onehot[1, 0] = onehot[1, 5 + 2] = 1.0
    lin1, lin2 = m.net[0], m.net[2]
    want = (torch.relu(onehot @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias).view(2, 3, 5)
    torch.testing.assert_close(m(x), want)


def test_eval_mode_evaluates_and_restores_each_submodule_mode() -> None:
    torch.manual_seed(0)
    m = TokenMLP(num_in=2, num_out=3, vocab=5, width=7)
    m.net.insert(1, torch.nn.Dropout(p=0.9))  # in training mode it would zero most hidden units
    x = torch.tensor([[1, 4], [0, 2]])
    m.eval()
    want = m(x).argmax(-1)
    m.train()
    m.net[0].eval()  # a mixed state: each submodule's own flag must come back
    with eval_mode(m):
        torch.testing.assert_close(m(x).argmax(-1), want)
    assert m.training and m.net[1].training and not m.net[0].training


def test_shared_parameters_are_counted_once() -> None:
    lin = torch.nn.Linear(3, 3)
    assert num_parameters(torch.nn.Sequential(lin, torch.nn.Tanh(), lin)) == 12
    frozen = torch.nn.Linear(2, 2)
    frozen.bias.requires_grad_(False)
    assert num_parameters(frozen) == 4


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: TokenMLP(6, 4, 10, width=0), ValueError, r"^width must be >= 1"),
        (lambda: TokenMLP(6, 4, 1, width=8), ValueError, r"^vocab must be >= 2"),
        (lambda: TokenMLP(0, 4, 10, width=8), ValueError, r"^num_in must be >= 1"),
        (lambda: TokenMLP(6, 4.0, 10, width=8), TypeError, r"^num_out must be an integer"),
        (
            lambda: TokenMLP(6, 4, 10, width=8)(torch.zeros(3, 5, dtype=torch.long)),
            ValueError,
            r"^x must have shape \[n, 6\]",
        ),
        (lambda: num_parameters("not a model"), TypeError, r"^model must be a torch.nn.Module"),
        (lambda: generate_tokens("not a model", torch.zeros(1, 2)), TypeError, r"^model must be a TokenMLPEnsemble"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---- TokenMLPEnsemble: the batched family of chapter 1 -----------------------------------------


def _copy_into_ensemble(single: TokenMLP, ens: TokenMLPEnsemble, i: int) -> None:
    """Put a depth-1 TokenMLP's weights into model ``i`` of a non-autoregressive ensemble."""
    lin1, lin2 = single.net[0], single.net[2]
    t, v, w = ens.num_out, ens.vocab, ens.width
    with torch.no_grad():
        ens.embed_in[i] = lin1.weight.T
        ens.bias_in[i, 0] = lin1.bias
        ens.head[i] = lin2.weight.view(t, v, w).permute(0, 2, 1)
        ens.bias_out[i, 0] = lin2.bias.view(t, v)


@pytest.mark.parametrize("vocab", [10, 300])  # dense one-hot product and embedding look-up
def test_ensemble_member_is_a_token_mlp(vocab: int) -> None:
    torch.manual_seed(1)
    singles = [TokenMLP(num_in=4, num_out=3, vocab=vocab, width=6) for _ in range(2)]
    ens = TokenMLPEnsemble(4, 3, vocab, 6, num_models=2, seed=5)
    for i, s in enumerate(singles):
        _copy_into_ensemble(s, ens, i)
    x = torch.randint(0, vocab, (9, 4))
    out = ens(x)
    assert out.shape == (2, 9, 3, vocab)
    for i, s in enumerate(singles):
        torch.testing.assert_close(out[i], s(x))
    assert num_parameters(ens) == 2 * num_parameters(singles[0])


def test_autoregressive_forward_is_the_stated_formula() -> None:
    ens = TokenMLPEnsemble(2, 3, 4, 5, num_models=2, autoregressive=True, seed=3)
    x = torch.tensor([[1, 3], [0, 2]])
    y = torch.tensor([[2, 0, 1], [3, 3, 0]])
    out = ens(torch.cat([x, y], 1))
    for m in range(2):
        for n in range(2):
            u = ens.bias_in[m, 0] + ens.embed_in[m, x[n, 0]] + ens.embed_in[m, 4 + x[n, 1]]
            for t in range(3):
                a = ens.bias_pos[m, t] + sum(ens.embed_out[m, 4 * s + y[n, s]] for s in range(t))
                want = torch.relu(u + a) @ ens.head[m, t] + ens.bias_out[m, 0, t]
                torch.testing.assert_close(out[m, n, t], want)


def test_autoregressive_model_is_causal_and_greedy_decoding_is_consistent() -> None:
    ens = TokenMLPEnsemble(3, 4, 5, 16, num_models=3, autoregressive=True, seed=0)
    x = torch.randint(0, 5, (50, 3))
    y = torch.randint(0, 5, (50, 4))
    base = ens(torch.cat([x, y], 1))
    y2 = y.clone()
    y2[:, 2] = (y2[:, 2] + 1) % 5  # change the answer token at position 2
    changed = ens(torch.cat([x, y2], 1))
    torch.testing.assert_close(changed[:, :, :3], base[:, :, :3])  # positions 0..2 do not see it
    assert not torch.allclose(changed[:, :, 3], base[:, :, 3])  # position 3 does
    out = generate_tokens(ens, x)
    for m in range(3):  # each greedy token is the argmax given that model's own earlier tokens
        assert torch.equal(ens(torch.cat([x, out[m]], 1))[m].argmax(-1), out[m])
    assert not torch.equal(out[0], out[1])  # differently initialised members differ


def test_ensemble_loss_and_likelihood_against_the_single_model_definitions() -> None:
    ens = TokenMLPEnsemble(3, 2, 4, 8, num_models=3, seed=2)
    x, y = torch.randint(0, 4, (20, 3)), torch.randint(0, 4, (20, 2))
    logits = ens(x)
    want = sum(sequence_cross_entropy(logits[m], y) for m in range(3))
    torch.testing.assert_close(ensemble_cross_entropy(logits, y), want)
    ll = answer_log_likelihood(ens, x, y)
    assert ll.shape == (3, 20)
    torch.testing.assert_close(-ll.mean(1), torch.stack([2 * sequence_cross_entropy(logits[m], y) for m in range(3)]))
    torch.testing.assert_close(generate_tokens(ens, x), logits.argmax(-1))


def test_batched_training_gives_each_member_its_own_gradient() -> None:
    ens = TokenMLPEnsemble(3, 2, 4, 8, num_models=2, autoregressive=True, seed=4)
    x, y = torch.randint(0, 4, (30, 3)), torch.randint(0, 4, (30, 2))
    ensemble_cross_entropy(ens(torch.cat([x, y], 1)), y).backward()
    joint = [p.grad[1].clone() for p in ens.parameters()]
    ens.zero_grad()
    sequence_cross_entropy(ens(torch.cat([x, y], 1))[1], y).backward()  # model 1's loss alone
    for g, p in zip(joint, ens.parameters(), strict=True):
        torch.testing.assert_close(g, p.grad[1])
        assert torch.count_nonzero(p.grad[0]) == 0


def test_ensemble_seed_sets_the_initialisation_whatever_the_global_state() -> None:
    torch.manual_seed(0)
    a = TokenMLPEnsemble(2, 2, 3, 4, num_models=2, seed=7)
    torch.manual_seed(1)
    b = TokenMLPEnsemble(2, 2, 3, 4, num_models=2, seed=7)
    c = TokenMLPEnsemble(2, 2, 3, 4, num_models=2, seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.head, c.head)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(width=0), ValueError, r"^width must be >= 1"),
        (dict(num_models=0), ValueError, r"^num_models must be >= 1"),
        (dict(autoregressive=1), TypeError, r"^autoregressive must be True or False"),
        (dict(seed=-1), ValueError, r"^seed must be >= 0"),
    ],
)
def test_ensemble_bad_arguments(kwargs, exc, match) -> None:
    args = dict(num_in=2, num_out=2, vocab=3, width=4) | kwargs
    with pytest.raises(exc, match=match):
        TokenMLPEnsemble(**args)


def test_ensemble_bad_input_shape() -> None:
    with pytest.raises(ValueError, match=r"^x must have shape \[n, 5\]"):
        TokenMLPEnsemble(2, 3, 4, 5, autoregressive=True)(torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.parametrize("autoregressive", [False, True])
def test_ensemble_input_weights_follow_torchs_linear_default(autoregressive: bool) -> None:
    # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = (num_in [+ num_out if autoregressive]) * vocab: variance bound^2 / 3
    num_in, num_out, vocab = 4, 2, 10
    model = TokenMLPEnsemble(num_in, num_out, vocab, width=64, num_models=8, autoregressive=autoregressive)
    bound = 1 / math.sqrt((num_in + (num_out if autoregressive else 0)) * vocab)
    w = model.embed_in.detach()
    assert float(w.abs().max()) <= bound
    assert float(w.var()) == pytest.approx(bound**2 / 3, rel=0.05)
