"""utils.icl_transformer and utils.attention.StackedLinearAttention (chapter 7): stacked seeds are independent copies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from utils import icl
from utils.attention import LinearSelfAttention, StackedLinearAttention
from utils.icl_data import icl_regression, task_pool
from utils.icl_transformer import StackedICLTransformer, sample_prompts, train_icl


def copy_model(big: StackedICLTransformer, s: int) -> StackedICLTransformer:
    one = StackedICLTransformer(
        big.d_in,
        big.d_model,
        num_layers=big.num_layers,
        num_heads=big.num_heads,
        mlp_ratio=big.mlp_ratio,
        layer_norm=big.layer_norm,
        num_models=1,
        seed=99,
    )
    with torch.no_grad():
        for p, q in zip(one.parameters(), big.parameters(), strict=True):
            p.copy_(q[s : s + 1])
    return one


def test_stacked_transformer_is_independent_copies_and_matches_its_formula() -> None:
    big = StackedICLTransformer(5, 8, num_layers=2, num_heads=2, mlp_ratio=2, num_models=3, seed=1)
    z = torch.randn(4, 6, 5, generator=torch.Generator().manual_seed(2))
    out = big(z)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out[1], copy_model(big, 1)(z)[0])
    zs = torch.randn(3, 4, 6, 5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(big(zs)[2], copy_model(big, 2)(zs[2])[0])
    # one layer, one head, no MLP, no layer norm: y_hat = u . (h_q + softmax(z_q F z_j) h_j W_V W_O)
    m = StackedICLTransformer(5, 8, num_layers=1, num_heads=1, mlp_ratio=0, layer_norm=False, num_models=2, seed=4)
    f = m.query_key_form()
    for s in range(2):
        logits = z @ f[s] @ z.transpose(1, 2)
        h = z @ m.embed[s]
        want = (h + torch.softmax(logits, -1) @ h @ m.W_V[s, 0, 0] @ m.W_O[s, 0, 0])[:, -1] @ m.readout[s]
        torch.testing.assert_close(m(z)[s], want, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(m.run(z)[1][0][s, 0], logits, rtol=1e-4, atol=1e-5)


def test_sample_prompts_draws_from_each_pool_or_the_prior() -> None:
    pool = task_pool(3, 2, seed=0)
    gen = torch.Generator().manual_seed(1)
    p = sample_prompts([pool, None], 3_000, 4, 2, noise=0.5, generator=gen)
    assert p.x.shape == (2, 3_000, 5, 2) and p.tokens().shape == (2, 3_000, 5, 4)
    match = (p.w[0][:, None, :] == pool[None]).all(-1)
    assert torch.all(match.sum(1) == 1)  # model 0: every task is a row of its pool
    counts = match.sum(0).double()
    assert torch.all((counts - 1000).abs() < 4 * math.sqrt(3000 * (1 / 3) * (2 / 3)))
    assert abs(float(p.w[1].var()) - 1.0) < 0.05  # model 1: w ~ N(0, I)
    resid = p.y - torch.einsum("sbnd,sbd->sbn", p.x, p.w)
    assert abs(float(resid.std()) - 0.5) < 0.01
    z = p.tokens()
    assert torch.all(z[..., -1, 2] == 0) and torch.all(z[..., -1, 3] == 1) and torch.all(z[..., :-1, 3] == 0)


def test_training_of_one_model_does_not_depend_on_the_others() -> None:
    pool = task_pool(4, 2, seed=0)
    runs = []
    for other in (None, task_pool(2, 2, seed=5)):
        m = StackedICLTransformer(4, 8, num_layers=1, mlp_ratio=1, num_models=2, seed=3)
        runs.append(train_icl(m, [pool, other], num_context=6, noise=0.1, steps=20, batch_size=16, eval_every=10))
    np.testing.assert_allclose(runs[0].loss[:, 0], runs[1].loss[:, 0], rtol=1e-5)
    assert not np.allclose(runs[0].loss[:, 1], runs[1].loss[:, 1])


def test_a_trained_model_learns_in_context_beyond_one_gd_step() -> None:
    # d = 2, N = 10, fresh tasks: after 400 steps both seeds beat the best single GD step (exact risk 0.63)
    d, n, noise = 2, 10, 0.3
    m = StackedICLTransformer(d + 2, 16, num_layers=2, num_models=2, seed=0)
    test = sample_prompts([None, None], 2_000, n, d, noise=noise, generator=torch.Generator().manual_seed(9))
    hist = train_icl(
        m, [None, None], num_context=n, noise=noise, steps=400, eval_every=400, decay_from=0.7, eval_sets={"new": test}
    )
    gd = icl.gd_step_risk(icl.optimal_gamma(n, d, noise), n, d, noise)
    assert hist.evals["new"][0].min() > 1.5  # predict-the-mean level d + noise^2 = 2.09 at the start
    assert (hist.evals["new"][-1] < gd).all(), (hist.evals["new"][-1], gd)


def test_stacked_lsa_matches_the_single_layer_and_its_gamma() -> None:
    p = icl_regression(32, 7, 3, seed=1)
    for separate in (False, True):
        st = StackedLinearAttention(3, num_models=2, separate_kq=separate, init_scale=0.5, seed=2)
        single = LinearSelfAttention(3, init_scale=0.0)
        with torch.no_grad():
            single.W_KQ.copy_(st.kq()[1])
            single.W_PV.copy_(st.W_PV[1])
            torch.testing.assert_close(st(p.tokens())[1], single(p.tokens()))
            torch.testing.assert_close(st.gamma()[1], single.gamma())
    st = StackedLinearAttention(3, num_models=2, separate_kq=True, seed=0)
    torch.testing.assert_close(st.kq(), st.W_K @ st.W_Q.transpose(1, 2))
    c, z_q = st.moments(p.tokens())
    torch.testing.assert_close(c[4], p.tokens()[4, :-1].T @ p.tokens()[4, :-1] / 7)
    torch.testing.assert_close(st.predict(c, z_q), st(p.tokens()))


def test_softmax_smoother_by_hand_and_its_limits() -> None:
    x = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    y = np.array([[2.0, -1.0, 4.0]])
    xq = np.array([[1.0, 0.0]])
    # logits beta x_q . x_i = (1, 0, 1) * beta
    w = np.exp([0.7, 0.0, 0.7])
    assert icl.softmax_smoother(x, y, xq, 0.7)[0] == pytest.approx((w @ y[0]) / w.sum())
    assert icl.softmax_smoother(x, y, xq, 0.0)[0] == pytest.approx(y.mean())  # uniform: the mean label
    assert icl.softmax_smoother(x, y, xq, 200.0)[0] == pytest.approx(3.0)  # ties split evenly


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^num_heads must"):
        StackedICLTransformer(4, 6, num_heads=4)
    with pytest.raises(ValueError, match=r"^tokens must"):
        StackedICLTransformer(4, num_models=2)(torch.zeros(3, 2, 5, 4))
    with pytest.raises(ValueError, match=r"^query_key_form"):
        StackedICLTransformer(4).query_key_form()
    with pytest.raises(ValueError, match=r"^pools\[1\] must"):
        sample_prompts([None, torch.zeros(3, 4)], 2, 3, 2, noise=0.0, generator=torch.Generator())
    with pytest.raises(ValueError, match=r"^pools must"):
        train_icl(StackedICLTransformer(4, num_models=2), [None], num_context=3, noise=0.0, steps=1)
    with pytest.raises(ValueError, match=r"^tokens must"):
        StackedLinearAttention(3)(torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"^c, z_q must"):
        StackedLinearAttention(3).predict(torch.zeros(2, 4, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"^beta must"):
        icl.softmax_smoother(np.zeros((1, 2, 2)), np.zeros((1, 2)), np.zeros((1, 2)), float("nan"))
