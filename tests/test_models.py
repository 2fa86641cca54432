"""utils.models: shapes, parameter counts worked by hand, the loss against its definition, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from utils.models import TokenMLP, num_parameters, predict_tokens, sequence_cross_entropy


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
    torch.testing.assert_close(predict_tokens(m, x), want.argmax(-1))


def test_sequence_cross_entropy_matches_definition() -> None:
    logits = torch.zeros(2, 3, 4)  # uniform: log(4) nats per token
    y = torch.tensor([[0, 1, 2], [3, 3, 0]])
    assert math.isclose(float(sequence_cross_entropy(logits, y)), math.log(4), rel_tol=1e-6)
    logits[0, 0, 0] = 100.0  # one token certain and right: mean over the other 5 tokens' log 4
    assert math.isclose(float(sequence_cross_entropy(logits, y)), 5 * math.log(4) / 6, rel_tol=1e-6)


def test_predict_tokens_evaluates_in_eval_mode_and_restores_each_mode() -> None:
    torch.manual_seed(0)
    m = TokenMLP(num_in=2, num_out=3, vocab=5, width=7)
    m.net.insert(1, torch.nn.Dropout(p=0.9))  # in training mode it would zero most hidden units
    x = torch.tensor([[1, 4], [0, 2]])
    m.eval()
    want = m(x).argmax(-1)
    m.train()
    m.net[0].eval()  # a mixed state: each submodule's own flag must come back
    torch.testing.assert_close(predict_tokens(m, x), want)
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
        (
            lambda: sequence_cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)),
            ValueError,
            r"^logits must be \[n, length, vocab\]",
        ),
        (lambda: num_parameters("not a model"), TypeError, r"^model must be a torch.nn.Module"),
        (lambda: predict_tokens("not a model", torch.zeros(1, 2)), TypeError, r"^model must be a torch.nn.Module"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()
