"""utils.attention (chapter 7): softmax attention by hand, the LSA layer as one GD step, the transformer."""

from __future__ import annotations

import math

import pytest
import torch

from utils import icl
from utils.attention import ICLTransformer, LinearSelfAttention, SingleHeadAttention, attention
from utils.icl_data import icl_regression
from utils.training import train


def test_attention_against_an_explicit_loop() -> None:
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g), torch.randn(5, 2, generator=g)
    out, w = attention(q, k, v)
    for i in range(3):
        scores = [math.exp(float(q[i] @ k[j]) / 2.0) for j in range(5)]  # sqrt(d_k) = 2
        weights = [s / sum(scores) for s in scores]
        assert sum(float(w[i, j]) for j in range(5)) == pytest.approx(1.0)
        for j in range(5):
            assert float(w[i, j]) == pytest.approx(weights[j], rel=1e-5)
        want = sum(weights[j] * v[j] for j in range(5))
        torch.testing.assert_close(out[i], want, rtol=1e-5, atol=1e-6)
    # zero queries: uniform weights, the output is the mean value
    out0, w0 = attention(torch.zeros(2, 4), k, v)
    torch.testing.assert_close(w0, torch.full((2, 5), 0.2))
    torch.testing.assert_close(out0[0], v.mean(0))


def test_single_head_matches_its_formula_and_last_only_is_the_last_row() -> None:
    head = SingleHeadAttention(6, 3, seed=1)
    h = torch.randn(2, 7, 6, generator=torch.Generator().manual_seed(2))
    a = torch.softmax((h @ head.W_Q) @ (h @ head.W_K).transpose(1, 2) / math.sqrt(3), dim=-1)
    torch.testing.assert_close(head(h), a @ (h @ head.W_V) @ head.W_O)
    torch.testing.assert_close(head.weights(h), a)
    torch.testing.assert_close(head(h, last_only=True)[:, 0], head(h)[:, -1])


def test_lsa_with_hand_set_weights_is_one_gd_step_exactly() -> None:
    p = icl_regression(64, 12, 4, seed=3, dtype=torch.float64)
    gamma = torch.randn(4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    layer = LinearSelfAttention.from_gamma(gamma)
    with torch.no_grad():
        pred = layer(p.tokens())
    # one GD step from w = 0 on L(w) = (1/2N) sum (y_i - w.x_i)^2, by autograd, prompt by prompt
    for i in range(64):
        w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
        loss = 0.5 * ((p.y[i, :-1] - p.x[i, :-1] @ w) ** 2).mean()
        (grad,) = torch.autograd.grad(loss, w)
        assert float(pred[i]) == pytest.approx(float(p.x[i, -1] @ (-gamma @ grad)), rel=1e-12, abs=1e-12)
    torch.testing.assert_close(layer.gamma(), gamma)


def test_gamma_is_the_label_linear_part_of_the_prediction() -> None:
    # y_hat = x_q^T Gamma m + (terms of degree 0 and 2 in the labels): the odd part in y is x_q^T Gamma m
    layer = LinearSelfAttention(3, init_scale=0.7, seed=5).double()
    p = icl_regression(16, 9, 3, seed=6, dtype=torch.float64)
    z = p.tokens()
    flipped = z.clone()
    flipped[..., -1] = -flipped[..., -1]
    with torch.no_grad():
        odd = 0.5 * (layer(z) - layer(flipped))
    m = torch.einsum("pni,pn->pi", p.x[:, :-1], p.y[:, :-1]) / 9
    torch.testing.assert_close(odd, torch.einsum("pi,ij,pj->p", p.x[:, -1], layer.gamma(), m))


def test_trained_lsa_finds_the_optimal_preconditioner() -> None:
    d, n = 2, 10
    tr = icl_regression(8_192, n, d, seed=7)
    layer = LinearSelfAttention(d, init_scale=0.1, seed=0)
    train(
        layer,
        lambda o, y: ((o - y) ** 2).mean(),
        (tr.tokens(), tr.target),
        steps=150,
        lr=2e-2,
        optimizer="adam",
        batch_size=1024,
        progress=False,
        lr_schedule=lambda s: 1.0 if s < 100 else 0.1,
    )
    want = icl.optimal_gamma(n, d) * torch.eye(d)  # N / (N + d + 1), Zhang, Frei & Bartlett 2024
    assert float((layer.gamma() - want).norm() / want.norm()) < 0.05


def test_transformer_shapes_query_key_form_and_fast_path() -> None:
    model = ICLTransformer(5, 8, num_layers=2, mlp_width=4, init_scale=1.0, seed=1)
    z = torch.randn(3, 6, 5, generator=torch.Generator().manual_seed(8))
    out = model(z)
    assert out.shape == (3,)
    # the full computation, every row of every block, read out at the last token
    h = z @ model.embed
    for layer, mlp in zip(model.layers, model.mlps, strict=True):
        h = h + layer(h)
        h = h + mlp(h)
    torch.testing.assert_close(out, h[:, -1] @ model.readout)
    # first block's logits are z_i^T F z_j
    att = model.layers[0]
    hz = z @ model.embed
    logits = (hz @ att.W_Q) @ (hz @ att.W_K).transpose(1, 2) / math.sqrt(att.d_head)
    torch.testing.assert_close(logits, z @ model.query_key_form() @ z.transpose(1, 2), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.attention_weights(z), torch.softmax(logits, -1), rtol=1e-4, atol=1e-6)
    a = ICLTransformer(5, 8, seed=3)
    b = ICLTransformer(5, 8, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^d_model must"):
        SingleHeadAttention(0)
    with pytest.raises(ValueError, match=r"^h must"):
        SingleHeadAttention(4)(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"^tokens must"):
        LinearSelfAttention(3)(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"^gamma must"):
        LinearSelfAttention.from_gamma(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"^tokens must"):
        ICLTransformer(4)(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"^init_scale must"):
        ICLTransformer(4, init_scale=-1.0)
    with pytest.raises(ValueError, match=r"^q, k, v must"):
        attention(torch.zeros(2, 3), torch.zeros(4, 2), torch.zeros(4, 1))
