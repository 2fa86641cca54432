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


def test_seeded_initialisation_is_deterministic() -> None:
    torch.manual_seed(3)
    a = TokenMLP(4, 2, 10, 16)
    torch.manual_seed(3)
    b = TokenMLP(4, 2, 10, 16)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="width"):
        TokenMLP(6, 4, 10, width=0)
    with pytest.raises(ValueError, match="vocab"):
        TokenMLP(6, 4, 1, width=8)
    with pytest.raises(ValueError, match="x must have shape"):
        TokenMLP(6, 4, 10, width=8)(torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="logits"):
        sequence_cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="model"):
        num_parameters("not a model")
