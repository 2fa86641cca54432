"""utils.modular.modular_arithmetic and utils.grokking.ModularMLP (chapter 6), against enumeration and by-hand formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from utils.grokking import ModularMLP
from utils.modular import _is_prime, modular_arithmetic
from utils.training import num_parameters


@pytest.mark.parametrize("op", ["+", "-", "*"])
@pytest.mark.parametrize("p", [3, 7, 23])
def test_splits_are_disjoint_cover_every_pair_and_labels_are_right(p: int, op: str) -> None:
    train, test = modular_arithmetic(p, op=op, train_fraction=0.4, seed=2)
    pairs = [tuple(map(int, r)) for split in (train, test) for r in split.x]
    assert sorted(pairs) == list(itertools.product(range(p), repeat=2))  # every pair exactly once
    assert len(train) == round(0.4 * p * p) and len(train) + len(test) == p * p
    want = {"+": lambda a, b: (a + b) % p, "-": lambda a, b: (a - b) % p, "*": lambda a, b: (a * b) % p}[op]
    for split in (train, test):
        assert [int(v) for v in split.y] == [want(int(a), int(b)) for a, b in split.x]
        assert np.array_equal(split.a, split.x[:, 0].numpy()) and np.array_equal(split.b, split.x[:, 1].numpy())
        assert np.array_equal(split.pair_index, split.a * p + split.b)
        assert split.vocab_size == p and split.p == p and split.op == op
        assert split.x.dtype == torch.int64 and split.y.dtype == torch.int64


def test_field_names_match_addition_split() -> None:
    from utils.addition import addition_split

    add, _ = addition_split(10, 5, 2)
    mod, _ = modular_arithmetic(5, train_fraction=0.5)
    for name in ("x", "y", "a", "b", "vocab_size"):
        assert hasattr(add, name) and hasattr(mod, name)
    assert len(mod) == mod.x.shape[0]


def test_seeded_and_each_seed_a_different_split() -> None:
    a, _ = modular_arithmetic(11, train_fraction=0.3, seed=4)
    b, _ = modular_arithmetic(11, train_fraction=0.3, seed=4)
    c, _ = modular_arithmetic(11, train_fraction=0.3, seed=5)
    assert np.array_equal(a.pair_index, b.pair_index)
    assert not np.array_equal(a.pair_index, c.pair_index)
    assert np.all(np.diff(a.pair_index) > 0)  # listed in table order


def test_is_prime_by_enumeration() -> None:
    primes = [n for n in range(60) if _is_prime(n)]
    assert primes == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^p must be a prime"):
        modular_arithmetic(9, train_fraction=0.5)
    with pytest.raises(ValueError, match=r"^p must be >= 3"):
        modular_arithmetic(2, train_fraction=0.5)
    with pytest.raises(TypeError, match=r"^p must be an integer"):
        modular_arithmetic(7.0, train_fraction=0.5)
    with pytest.raises(ValueError, match=r"^op must be one of"):
        modular_arithmetic(7, op="/", train_fraction=0.5)
    with pytest.raises(TypeError, match=r"^op must be one of"):
        modular_arithmetic(7, op=None, train_fraction=0.5)
    for bad in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match=r"^train_fraction must lie in \(0, 1\)"):
            modular_arithmetic(7, train_fraction=bad)
    with pytest.raises(ValueError, match=r"^train_fraction must leave both splits non-empty"):
        modular_arithmetic(3, train_fraction=0.01)
    with pytest.raises(ValueError, match=r"^seed must be >= 0"):
        modular_arithmetic(7, train_fraction=0.5, seed=-1)
    with pytest.raises(TypeError, match=r"^train_fraction must be a real number"):
        modular_arithmetic(7, train_fraction="half")


def test_modular_mlp_is_the_stated_formula() -> None:
    model = ModularMLP(5, embed_dim=3, width=4, num_models=2, seed=1)
    x = torch.tensor([[1, 4], [0, 2], [3, 3]])
    out = model(x)
    assert out.shape == (2, 3, 5)
    for m in range(2):
        e, wa, wb, wo = (t[m].detach() for t in (model.embed, model.w_a, model.w_b, model.w_out))
        for n, (a, b) in enumerate(x.tolist()):
            h = e[a] @ wa + e[b] @ wb
            torch.testing.assert_close(out[m, n], (h**2) @ wo)
    # all_logits lists the pairs in the order a * p + b
    torch.testing.assert_close(model.all_logits()[:, 1 * 5 + 4], out[:, 0])
    relu = ModularMLP(5, embed_dim=3, width=4, activation="relu", seed=1)
    e, wa, wb, wo = (t[0].detach() for t in (relu.embed, relu.w_a, relu.w_b, relu.w_out))
    torch.testing.assert_close(relu(x)[0, 1], torch.relu(e[0] @ wa + e[2] @ wb) @ wo)


def test_network_m_is_the_lone_network_with_seed_plus_m_and_counts() -> None:
    batch = ModularMLP(7, embed_dim=4, width=6, num_models=3, seed=10)
    lone = ModularMLP(7, embed_dim=4, width=6, seed=12)
    torch.testing.assert_close(batch.w_out[2], lone.w_out[0])
    torch.testing.assert_close(batch.embed[2], lone.embed[0])
    assert num_parameters(lone) == 7 * 4 + 2 * 4 * 6 + 6 * 7
    x = torch.tensor([[2, 5], [6, 0]])
    torch.testing.assert_close(batch(x)[2], lone(x)[0])
    per_model_x = torch.stack([x, x.flip(0), x])  # each network its own inputs
    torch.testing.assert_close(batch(per_model_x)[1], batch(x.flip(0))[1])


def test_init_variances() -> None:
    model = ModularMLP(31, embed_dim=32, width=256, num_models=8, seed=0)
    u, v = (t.detach() for t in model.tables())
    assert abs(float((u + v).var()) - 1.0) < 0.1  # unit-variance pre-activations
    assert abs(float(model.w_out.detach().var()) * 256 - 1.0) < 0.05


def test_from_weights_round_trip_and_bad_shapes() -> None:
    model = ModularMLP(5, embed_dim=2, width=3, num_models=2, seed=0)
    arrays = [t.detach().numpy() for t in (model.embed, model.w_a, model.w_b, model.w_out)]
    copy = ModularMLP.from_weights(*arrays)
    torch.testing.assert_close(copy.all_logits(), model.all_logits())
    single = ModularMLP.from_weights(*(a[1] for a in arrays))
    assert single.num_models == 1
    torch.testing.assert_close(single.all_logits()[0], model.all_logits()[1])
    with pytest.raises(ValueError, match=r"^w_a, w_b must be"):
        ModularMLP.from_weights(arrays[0][0], arrays[1][0], arrays[2][0], arrays[3][0].T)


def test_modular_mlp_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^activation must be one of"):
        ModularMLP(5, activation="tanh")
    with pytest.raises(ValueError, match=r"^width must be >= 1"):
        ModularMLP(5, width=0)
    with pytest.raises(ValueError, match=r"^x must have shape"):
        ModularMLP(5)(torch.tensor([1, 2]))
