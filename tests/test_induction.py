"""utils.induction (chapter 7): the repeat task, the stacked attention-only model, head scores, the hand-built circuit."""

from __future__ import annotations

import math

import pytest
import torch

from utils.induction import (
    AttentionOnlyTransformer,
    RepeatTask,
    _previous_token_score,
    copying_score,
    evaluate_heads,
    in_context_score,
    induction_circuit,
    prefix_matching_score,
    train_induction,
)

TASK = RepeatTask(vocab_size=32, seq_len=24, min_period=4, max_period=10)


def sample(n: int = 128, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return TASK.sample(n, generator=torch.Generator().manual_seed(seed))


def test_repeat_task_sequences_repeat_with_distinct_segments() -> None:
    tokens, periods = sample(500)
    assert tokens.shape == (500, 24) and tokens.dtype == torch.int64
    assert periods.min() >= 4 and periods.max() <= 10 and len(set(periods.tolist())) == 7
    for seq, p in zip(tokens, periods, strict=True):
        p = int(p)
        assert torch.equal(seq[p:], seq[:-p])  # x_t = x_(t - P)
        assert len(set(seq[:p].tolist())) == p  # the segment's tokens are distinct
    # the segment's tokens are uniform over the vocabulary: each of 32 tokens about 1/32 of first tokens
    first = torch.bincount(sample(6_400, seed=1)[0][:, 0], minlength=32).double()
    assert ((first - 200).abs() < 4 * math.sqrt(200)).all()


def test_optimal_loss_by_hand_and_early_late_ranges() -> None:
    task = RepeatTask(vocab_size=10, seq_len=6, min_period=2, max_period=3)
    # t = 0: x_1 is new (P >= 2): ln 9. t = 1: x_2 = x_0 if P = 2 (prob 1/2), else one of 8 new tokens:
    # (1/2) ln 2 + (1/2) ln 16. t = 2: if P = 2 it is known, if P = 3 then x_3 = x_0 for sure: 0.
    want = torch.tensor([math.log(9), math.log(32) / 2, 0.0, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(task.optimal_loss(), want)
    assert task.early == slice(0, 1) and task.late == slice(3, 5)
    loss = torch.tensor([3.0, 2.0, 1.0, 0.0, 2.0])
    assert float(in_context_score(loss, task)) == pytest.approx(1.0 - 3.0)


def test_hand_built_circuit_is_an_induction_head() -> None:
    model = induction_circuit(TASK.vocab_size, TASK.seq_len, sharpness=20.0)
    tokens, _ = sample(256)
    scores = evaluate_heads(model, tokens)
    prev, prefix, copy = (scores[k][0, :, 0] for k in ("previous_token", "prefix_matching", "copying"))
    assert prev[0] > 0.999 and prefix[1] > 0.999  # layer 1 reads t - 1, layer 2 the token after the match
    assert prev[1] < 0.2 and prefix[0] < 0.2
    assert copy[1] == pytest.approx(1.0) and copy[0] == 0.0  # OV of layer 2 = 20 I; layer 1 writes nothing W_U reads
    late = scores["position_loss"][0, TASK.late]
    assert late.max() < 1e-3  # every repeated token predicted with certainty
    assert float(in_context_score(scores["position_loss"], TASK)[0]) < -10


def test_scores_of_a_random_model_are_at_their_chance_levels() -> None:
    model = AttentionOnlyTransformer(32, 24, 32, num_models=2, init_scale=0.0, seed=0)  # uniform attention
    tokens, _ = sample(64)
    scores = evaluate_heads(model, tokens)
    # uniform causal attention gives 1 / (t + 1) to each earlier token: mean over t >= 1 of 1/(t+1)
    chance = sum(1 / (t + 1) for t in range(1, 24)) / 23
    torch.testing.assert_close(scores["previous_token"], torch.full((2, 2, 2), chance), rtol=1e-5, atol=0)
    assert (scores["prefix_matching"] < 0.2).all()
    assert (scores["position_loss"] - math.log(32)).abs().max() < 1e-5  # W_U = 0: uniform predictions


def test_scores_against_explicit_loops() -> None:
    g = torch.Generator().manual_seed(3)
    patterns = torch.softmax(
        torch.randn(2, 5, 7, 7, generator=g).masked_fill(~torch.ones(7, 7).tril().bool(), -1e9), -1
    )
    tokens = torch.randint(0, 3, (5, 7), generator=g)
    prev, total, count = 0.0, 0.0, 0
    for b in range(5):
        for t in range(7):
            if t:
                prev += float(patterns[1, b, t, t - 1]) / (5 * 6)
            match = [s for s in range(1, t + 1) if tokens[b, s - 1] == tokens[b, t]]
            if match:
                total += sum(float(patterns[1, b, t, s]) for s in match)
                count += 1
    assert float(_previous_token_score(patterns)[1]) == pytest.approx(prev, rel=1e-5)
    assert float(prefix_matching_score(patterns, tokens)[1]) == pytest.approx(total / count, rel=1e-5)
    # copying score: eigenvalues by hand for a 2 x 2 rotation-plus-scale (complex pair) and a reflection
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]]) * 2  # eigenvalues +-2i: real parts sum to 0
    refl = torch.tensor([[1.0, 0.0], [0.0, -3.0]])  # (1 - 3) / (1 + 3)
    torch.testing.assert_close(copying_score(torch.stack([rot, refl])), torch.tensor([0.0, -0.5], dtype=torch.float64))


def test_stacked_models_are_independent_copies() -> None:
    big = AttentionOnlyTransformer(16, 12, 8, num_models=3, seed=4)
    one = AttentionOnlyTransformer(16, 12, 8, num_models=1, seed=9)
    with torch.no_grad():
        for p, q in zip(one.parameters(), big.parameters(), strict=True):
            p.copy_(q[2:3])
    tokens = torch.randint(0, 16, (5, 12), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(big(tokens)[2], one(tokens)[0])
    # per-model tokens: model s sees tokens[s]
    per = torch.randint(0, 16, (3, 5, 12), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(big(per)[2], one(per[2])[0])
    # the OV circuit is the product of the four matrices of each head
    ov = big.ov_circuits()
    torch.testing.assert_close(ov[1, 0, 1], big.W_E[1] @ big.W_V[1, 0, 1] @ big.W_O[1, 0, 1] @ big.W_U[1])


def test_a_trained_model_forms_an_induction_head() -> None:
    # chapter 7's setting (section 7.6), shortened to 400 steps: each of the three seeds has made its
    # phase change (at steps 220-320 in the chapter): late-context loss below 1 nat (about ln 32 = 3.47
    # at the start) and a layer-2 head that prefix-matches
    model = AttentionOnlyTransformer(32, 24, 32, num_heads=2, num_models=3, seed=0)
    run = train_induction(model, TASK, steps=400, batch_size=32, lr=5e-3, eval_every=400, seed=0)
    late = torch.tensor(run.position_loss[:, :, TASK.late]).mean(-1)
    assert (late[0] > 3.0).all() and (late[-1] < 1.0).all(), late
    assert (run.prefix_matching[-1, :, 1].max(-1) > 0.6).all()
    assert (run.prefix_matching[0, :, 1].max(-1) < 0.2).all()
    assert run.train_loss.shape == (400, 3) and list(run.step) == [0, 400]


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^max_period must"):
        RepeatTask(32, 10, 4, 9)
    with pytest.raises(ValueError, match=r"^min_period must"):
        RepeatTask(32, 10, 1, 4)
    model = AttentionOnlyTransformer(8, 6, 4)
    with pytest.raises(TypeError, match=r"^tokens must"):
        model(torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"^tokens must"):
        model(torch.zeros(2, 7, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"^tokens must lie"):
        model(torch.full((2, 6), 8))
    with pytest.raises(ValueError, match=r"^task must"):
        train_induction(model, TASK, steps=1)
    with pytest.raises(ValueError, match=r"^position_loss must"):
        in_context_score(torch.zeros(5), TASK)
