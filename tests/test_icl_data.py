"""utils.icl_data.icl_regression (chapter 7): the prompts have the stated distribution and layout."""

from __future__ import annotations

import pytest
import torch

from utils.icl_data import icl_regression, task_pool


def test_moments_of_inputs_tasks_and_labels() -> None:
    num_prompts, n, d, noise = 40_000, 6, 3, 0.5
    p = icl_regression(num_prompts, n, d, noise=noise, seed=0, dtype=torch.float64)
    x = p.x.reshape(-1, d)
    se = 4 / (x.shape[0] ** 0.5)  # about 4 standard errors of a mean of unit-variance terms
    assert x.mean(0).abs().max() < se
    torch.testing.assert_close(
        x.T @ x / x.shape[0], torch.eye(d, dtype=torch.float64), atol=4 * 2**0.5 / x.shape[0] ** 0.5, rtol=0
    )
    w = p.w
    assert w.mean(0).abs().max() < 4 / num_prompts**0.5
    torch.testing.assert_close(w.T @ w / num_prompts, torch.eye(d, dtype=torch.float64), atol=0.03, rtol=0)
    resid = p.y - torch.einsum("pnd,pd->pn", p.x, p.w)  # the label noise
    assert abs(resid.mean()) < 4 * noise / resid.numel() ** 0.5
    assert resid.var().item() == pytest.approx(noise**2, rel=0.01)
    # E y^2 = E|w|^2 + noise^2 = d + noise^2 (for the query label as for the others)
    assert (p.target**2).mean().item() == pytest.approx(d + noise**2, rel=0.03)


def test_noiseless_labels_are_exact_and_seeded() -> None:
    p = icl_regression(50, 4, 2, seed=3)
    torch.testing.assert_close(p.y, torch.einsum("pnd,pd->pn", p.x, p.w))
    q = icl_regression(50, 4, 2, seed=3)
    assert torch.equal(p.x, q.x) and torch.equal(p.w, q.w)
    assert not torch.equal(p.x, icl_regression(50, 4, 2, seed=4).x)


def test_tokens_truncate_and_arrays_layout() -> None:
    p = icl_regression(5, 4, 3, noise=0.1, seed=1)
    z = p.tokens()
    assert z.shape == (5, 5, 4) and p.num_context == 4 and p.dim == 3 and len(p) == 5
    assert torch.equal(z[:, :-1, 3], p.y[:, :-1]) and torch.all(z[:, -1, 3] == 0)  # the query's label is hidden
    zf = p.tokens(query_flag=True)
    assert zf.shape == (5, 5, 5) and torch.equal(zf[:, :, 4], torch.tensor([0.0, 0, 0, 0, 1]).expand(5, 5))
    t = p.truncate(2)
    assert t.num_context == 2 and torch.equal(t.x[:, -1], p.x[:, -1]) and torch.equal(t.target, p.target)
    assert torch.equal(t.x[:, :2], p.x[:, :2])
    x, y, xq = p.as_arrays()
    assert x.shape == (5, 4, 3) and y.shape == (5, 4) and xq.shape == (5, 3)


def test_a_task_pool_is_sampled_uniformly() -> None:
    pool = task_pool(4, 3, seed=2)
    p = icl_regression(8_000, 2, 3, tasks=pool, seed=5)
    match = (p.w[:, None, :] == pool[None]).all(-1)  # [P, M]
    assert torch.all(match.sum(1) == 1)  # every task is a row of the pool
    counts = match.sum(0).double()
    assert torch.all((counts - 2000).abs() < 4 * (8000 * 0.25 * 0.75) ** 0.5)


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^num_prompts must"):
        icl_regression(0, 3, 2)
    with pytest.raises(ValueError, match=r"^noise must"):
        icl_regression(2, 3, 2, noise=-1.0)
    with pytest.raises(ValueError, match=r"^tasks must"):
        icl_regression(2, 3, 2, tasks=torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"^num_context must"):
        icl_regression(2, 3, 2).truncate(4)
    with pytest.raises(ValueError, match=r"^num_tasks must"):
        task_pool(0, 2)
