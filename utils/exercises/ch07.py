"""Checks for chapter 07's code exercises (in-context learning)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import icl
from ..attention import attention
from ..induction import prefix_matching_score
from ._core import CheckResult, Graded, attempt, attempt_number, check, uniform

__all__ = ["GRADED", "check_attention", "check_optimal_gamma", "check_ridge", "check_dmmse", "check_prefix_matching"]


def _prompt(n: int, d: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One prompt ``(x [n, d], y [n], x_query [d], w [d])`` with ``y = w . x + noise * eps``."""
    g = np.random.default_rng(seed)
    x, xq, w = g.normal(size=(n, d)), g.normal(size=d), g.normal(size=d)
    return x, x @ w + noise * g.normal(size=n), xq, w


def _attention_cases(seed: int, shapes: list[tuple[int, int, int, int]]) -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(seed)
    cases = []
    for t, d, dk, dv in shapes:
        x = torch.randn(t, d, generator=g, dtype=torch.float64)
        wq, wk, wv = (torch.randn(d, n, generator=g, dtype=torch.float64) for n in (dk, dk, dv))
        cases.append((x, wq, wk, wv))
    return cases


def _hidden_attention(rng: np.random.Generator) -> list[tuple[torch.Tensor, ...]]:
    shapes = [tuple(int(v) for v in rng.integers(2, 9, size=4)) for _ in range(4)]
    return _attention_cases(int(rng.integers(2**31)), shapes)


@check(
    cases=lambda: _attention_cases(7, [(5, 4, 3, 2), (7, 3, 6, 3)]),
    hidden=_hidden_attention,
    success="your attention matches softmax(Q K^T / sqrt(d_k)) V.",
)
def check_attention(fn: Callable[..., Any], case: tuple[torch.Tensor, ...]) -> CheckResult | None:
    """Check ``fn(X, W_q, W_k, W_v)`` = ``softmax(X W_q (X W_k)^T / sqrt(d_k)) X W_v`` (rows of X are tokens)."""
    x, wq, wk, wv = case
    t, dk = x.shape[0], wq.shape[1]
    out, failed = attempt(fn, x.clone(), wq.clone(), wk.clone(), wv.clone())
    if failed is not None:
        return failed
    want, _ = attention(x @ wq, x @ wk, x @ wv)
    try:
        got = torch.as_tensor(np.asarray(out, dtype=np.float64))
    except (TypeError, ValueError):
        return CheckResult(False, f"return an array or tensor of shape {tuple(want.shape)}, got {type(out).__name__}.")
    if got.shape != want.shape:
        return CheckResult(
            False, f"the output should have shape {tuple(want.shape)} (tokens x d_v), got {tuple(got.shape)}."
        )
    if not torch.allclose(got, want, rtol=1e-6, atol=1e-9):
        logits = (x @ wq) @ (x @ wk).T
        unscaled = torch.softmax(logits, dim=-1) @ (x @ wv)
        wrong_axis = torch.softmax(logits / dk**0.5, dim=0) @ (x @ wv)
        hint = ""
        if torch.allclose(got, unscaled, rtol=1e-6):
            hint = " Divide the logits by sqrt(d_k) before the softmax."
        elif torch.allclose(got, wrong_axis, rtol=1e-6):
            hint = " The softmax runs over the keys (each row of A sums to 1): use the last axis."
        return CheckResult(False, f"wrong output for {t} tokens, d_k = {dk}.{hint}")
    return None


#: (N, d, sigma) at which the optimal step is compared.
GAMMA_CASES = ((20, 5, 0.0), (10, 3, 0.5), (4, 8, 2.0), (50, 1, 1.0))


def _hidden_gamma(rng: np.random.Generator) -> list[tuple[int, int, float]]:
    cases = [(int(rng.integers(2, 80)), int(rng.integers(1, 12)), uniform(rng, 0.05, 3.0, 3)) for _ in range(5)]
    return [*cases, (int(rng.integers(2, 80)), int(rng.integers(1, 12)), 0.0)]


@check(
    cases=GAMMA_CASES,
    hidden=_hidden_gamma,
    success="Gamma* = N / (N + d + 1 + sigma^2): noise shrinks the step further.",
)
def check_optimal_gamma(fn: Callable[[int, int, float], float], case: tuple[int, int, float]) -> CheckResult | None:
    """Check ``fn(n, d, noise)``: the best scalar step of one GD step with label noise, ``N / (N + d + 1 + noise^2)``."""
    n, d, s = case
    got, failed = attempt_number(fn, n, d, s)
    if failed is not None:
        return failed
    want = icl.optimal_gamma(n, d, s)
    if not abs(got - want) < 1e-9:
        hint = ""
        if abs(got - n / (n + d + 1)) < 1e-9:
            hint = " Label noise adds E||Gamma e||^2 = sigma^2 tr(Gamma Gamma^T) / N to the risk."
        elif abs(got - n / (n + d + 1 + s)) < 1e-9:
            hint = " The noise enters through its variance sigma^2, not sigma."
        elif abs(got - n / (n + d)) < 1e-9 or abs(got - 1.0) < 1e-9:
            hint = " Use E S^2 = (N + d + 1)/N I: the diagonal terms E[|x|^2 x x^T] = (d + 2) I."
        return CheckResult(False, f"for N={n}, d={d}, sigma={s} you return {got:.6f}, expected {want:.6f}.{hint}")
    return None


def _predictor_verdict(
    fn: Callable[..., Any], name: str, args: tuple, reference: Callable[..., float], hint: Callable[[float, tuple], str]
) -> CheckResult | None:
    got, failed = attempt_number(fn, *args)
    if failed is not None:
        return failed
    want = reference(*args)
    if not np.isfinite(got) or abs(got - want) > 1e-6 * max(1.0, abs(want)):
        return CheckResult(False, f"{name} = {got:.6f} on a test prompt, expected {want:.6f}.{hint(got, args)}")
    return None


def _ridge_cases(spec: list[tuple[int, int, float, int]]) -> list[tuple]:
    cases = []
    for n, d, lam, seed in spec:
        x, y, xq, _ = _prompt(n, d, 0.5, seed)
        cases.append((x, y, xq, lam))
    return cases


def _hidden_ridge(rng: np.random.Generator) -> list[tuple]:
    spec = [
        (
            int(rng.integers(1, 25)),
            int(rng.integers(1, 7)),
            float(10 ** rng.uniform(-2.5, 0.5)),
            int(rng.integers(2**31)),
        )
        for _ in range(5)
    ]
    return _ridge_cases(spec)


def _ridge_reference(x, y, xq, lam):
    return float(icl.ridge(x[None], y[None], xq[None], lam)[0])


def _ridge_hint(got, args):
    x, y, xq, lam = args
    if len(y) >= x.shape[1] and abs(got - float(icl.least_squares(x[None], y[None], xq[None])[0])) < 1e-6:
        return " That is least squares: add lam I to X^T X."
    if abs(got - float(icl.ridge(x[None], y[None], xq[None], lam * len(y))[0])) < 1e-6:
        return " Use X^T X + lam I, not the mean-normalised (1/n) X^T X + lam I."
    return " w = (X^T X + lam I)^-1 X^T y, then predict w . x_query."


@check(
    cases=lambda: _ridge_cases([(8, 3, 0.25, 1), (3, 5, 1.0, 2), (20, 4, 0.01, 3)]),
    hidden=_hidden_ridge,
    success="my_ridge matches the reference on every test prompt.",
)
def check_ridge(fn: Callable[..., float], case: tuple) -> CheckResult | None:
    """Check ``fn(x, y, x_query, lam)`` (one prompt: ``x`` [n, d], ``y`` [n], ``x_query`` [d]) against ridge regression."""
    return _predictor_verdict(fn, "my_ridge", case, _ridge_reference, _ridge_hint)


def _dmmse_cases(tasks: np.ndarray, spec: list[tuple[int, float, int]]) -> list[tuple]:
    cases = []
    for n, noise, seed in spec:
        x, y, xq, _ = _prompt(n, tasks.shape[1], noise, seed)
        y = x @ tasks[seed % len(tasks)] + noise * np.random.default_rng(seed + 100).normal(size=n)
        cases.append((x, y, xq, tasks, noise))
    return cases


def _hidden_dmmse(rng: np.random.Generator) -> list[tuple]:
    tasks = rng.normal(size=(int(rng.integers(3, 12)), int(rng.integers(2, 6))))
    spec = [(int(rng.integers(0, 15)), uniform(rng, 0.2, 1.5, 3), int(rng.integers(2**31))) for _ in range(5)]
    return _dmmse_cases(tasks, spec)


def _dmmse_reference(x, y, xq, t, noise):
    return float(icl.dmmse(x[None], y[None], xq[None], t, noise)[0])


def _dmmse_hint(got, args):
    x, y, xq, t, noise = args
    sse = ((y[None, :] - t @ x.T) ** 2).sum(axis=1)
    if len(y) and abs(got - float(t[np.argmin(sse)] @ xq)) < 1e-6:
        return " That is the single most likely task (MAP); average all tasks with their posterior weights."
    if abs(got - float(icl.dmmse(x[None], y[None], xq[None], t, noise**0.5)[0])) < 1e-6:
        return " The Gaussian likelihood has exp(-r^2 / (2 noise^2)): square the noise."
    if len(y) and abs(got - float(np.mean(t @ xq))) < 1e-6:
        return " Weight each task by its likelihood on the context, not equally."
    return " Weights proportional to exp(-sum_i (y_i - w_m . x_i)^2 / (2 noise^2)), normalised to sum to 1."


@check(
    cases=lambda: _dmmse_cases(np.random.default_rng(11).normal(size=(6, 3)), [(5, 0.5, 4), (2, 1.0, 5), (12, 0.3, 6)]),
    hidden=_hidden_dmmse,
    success="my_dmmse matches the reference on every test prompt.",
)
def check_dmmse(fn: Callable[..., float], case: tuple) -> CheckResult | None:
    """Check ``fn(x, y, x_query, tasks, noise)`` (one prompt) against the posterior mean over a finite set of tasks."""
    return _predictor_verdict(fn, "my_dmmse", case, _dmmse_reference, _dmmse_hint)


def _pattern_case(t: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A causal attention pattern ``[t, t]`` (rows sum to 1) and tokens ``[t]`` with repeats."""
    g = np.random.default_rng(seed)
    logits = np.where(np.tril(np.ones((t, t))) > 0, 2.0 * g.normal(size=(t, t)), -np.inf)
    pattern = np.exp(logits - logits.max(1, keepdims=True))
    return pattern / pattern.sum(1, keepdims=True), g.integers(0, vocab, size=t)


def _hidden_prefix(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    spec = [(int(rng.integers(8, 30)), int(rng.integers(2, 7)), int(rng.integers(2**31))) for _ in range(5)]
    return [_pattern_case(*s) for s in spec]


@check(
    cases=lambda: [_pattern_case(t, vocab, seed) for t, vocab, seed in ((8, 3, 1), (12, 5, 2), (20, 4, 3))],
    hidden=_hidden_prefix,
    success="your score matches: attention to the tokens that followed earlier occurrences.",
)
def check_prefix_matching(fn: Callable[..., Any], case: tuple[np.ndarray, np.ndarray]) -> CheckResult | None:
    """Check ``fn(pattern, tokens)``: one head's prefix-matching score on one sequence (``pattern`` ``[T, T]``, ``tokens`` ``[T]``)."""
    pattern, tokens = case
    t = len(tokens)
    got, failed = attempt_number(fn, pattern.copy(), tokens.copy())
    if failed is not None:
        return failed
    want = float(prefix_matching_score(torch.from_numpy(pattern)[None], torch.from_numpy(tokens)[None]))
    if np.isfinite(got) and abs(got - want) < 1e-6:
        return None
    hint = " Sum the attention on every s <= t with tokens[s - 1] == tokens[t], then average over such t."
    match_prev = tokens[:, None] == tokens[None, :]  # the earlier occurrence itself, not the token after it
    match_prev &= np.tril(np.ones((t, t), dtype=bool), -1)
    has = match_prev.any(1)
    if has.any() and abs(got - float((pattern * match_prev).sum(1)[has].mean())) < 1e-6:
        hint = " That is attention to the earlier occurrence itself: the score counts the token after it (s - 1)."
    every = np.zeros((t, t), dtype=bool)
    every[:, 1:] = tokens[:, None] == tokens[None, :-1]
    every &= np.tril(np.ones((t, t), dtype=bool))
    if abs(got - float((pattern * every).sum(1).mean())) < 1e-6:
        hint = " Average only over the positions t that have an earlier occurrence, not over all positions."
    return CheckResult(False, f"score {got:.6f} on a test sequence of {t} tokens, expected {want:.6f}.{hint}")


#: The chapter's graded code exercises (see :mod:`utils.exercises`).
GRADED = {
    "ch07-ex-attention": Graded(
        "my_attention",
        check_attention,
        forbid=("utils.attention.attention", "utils.attention.SingleHeadAttention.forward"),
        written=1,
    ),
    "ch07-ex-noisy-gamma": Graded(
        "my_optimal_gamma", check_optimal_gamma, forbid=("utils.icl.optimal_gamma", "utils.icl.gd_step_risk"), written=1
    ),
    "ch07-ex-ridge": Graded("my_ridge", check_ridge, forbid=("utils.icl.ridge",), written=1),
    "ch07-ex-dmmse": Graded("my_dmmse", check_dmmse, forbid=("utils.icl.dmmse",), written=1),
    "ch07-ex-prefix": Graded(
        "my_prefix_matching",
        check_prefix_matching,
        forbid=("utils.induction.prefix_matching_score", "utils.induction.evaluate_heads"),
        written=1,
    ),
}

#: The written exercises of chapter 7 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch07-ex-diversity": 1, "ch07-ex-wishart": 1, "ch07-ex-chunked": 1, "ch07-ex-smoother": 1}
