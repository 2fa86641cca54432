"""Checks for chapter 07's code exercises (in-context learning)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import icl
from ..attention import attention
from ..induction import prefix_matching_score
from ._core import CheckResult, Graded, attempt, attempt_number

__all__ = ["GRADED", "check_attention", "check_optimal_gamma", "check_ridge", "check_dmmse", "check_prefix_matching"]


def _prompt(n: int, d: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One prompt ``(x [n, d], y [n], x_query [d], w [d])`` with ``y = w . x + noise * eps``."""
    g = np.random.default_rng(seed)
    x, xq, w = g.normal(size=(n, d)), g.normal(size=d), g.normal(size=d)
    return x, x @ w + noise * g.normal(size=n), xq, w


def check_attention(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(X, W_q, W_k, W_v)`` = ``softmax(X W_q (X W_k)^T / sqrt(d_k)) X W_v`` (rows of X are tokens)."""
    g = torch.Generator().manual_seed(7)
    for t, d, dk, dv in ((5, 4, 3, 2), (7, 3, 6, 3)):
        x = torch.randn(t, d, generator=g, dtype=torch.float64)
        wq, wk, wv = (torch.randn(d, n, generator=g, dtype=torch.float64) for n in (dk, dk, dv))
        out, failed = attempt(fn, x.clone(), wq.clone(), wk.clone(), wv.clone())
        if failed is not None:
            return failed
        want, _ = attention(x @ wq, x @ wk, x @ wv)
        try:
            got = torch.as_tensor(np.asarray(out, dtype=np.float64))
        except (TypeError, ValueError):
            return CheckResult(
                False, f"return an array or tensor of shape {tuple(want.shape)}, got {type(out).__name__}."
            )
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
    return CheckResult(True, "your attention matches softmax(Q K^T / sqrt(d_k)) V.")


def check_optimal_gamma(fn: Callable[[int, int, float], float]) -> CheckResult:
    """Check ``fn(n, d, noise)``: the best scalar step of one GD step with label noise, ``N / (N + d + 1 + noise^2)``."""
    for n, d, s in ((20, 5, 0.0), (10, 3, 0.5), (4, 8, 2.0), (50, 1, 1.0)):
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
    return CheckResult(True, "Gamma* = N / (N + d + 1 + sigma^2): noise shrinks the step further.")


def _check_predictor(
    fn: Callable[..., Any],
    name: str,
    cases: list[tuple],
    reference: Callable[..., float],
    hints: Callable[[float, tuple], str],
) -> CheckResult:
    for args in cases:
        got, failed = attempt_number(fn, *args)
        if failed is not None:
            return failed
        want = reference(*args)
        if not np.isfinite(got) or abs(got - want) > 1e-6 * max(1.0, abs(want)):
            return CheckResult(False, f"{name} = {got:.6f} on a test prompt, expected {want:.6f}.{hints(got, args)}")
    return CheckResult(True, f"{name} matches the reference on every test prompt.")


def check_ridge(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(x, y, x_query, lam)`` (one prompt: ``x`` [n, d], ``y`` [n], ``x_query`` [d]) against ridge regression."""
    cases = []
    for n, d, lam, seed in ((8, 3, 0.25, 1), (3, 5, 1.0, 2), (20, 4, 0.01, 3)):
        x, y, xq, _ = _prompt(n, d, 0.5, seed)
        cases.append((x, y, xq, lam))

    def reference(x, y, xq, lam):
        return float(icl.ridge(x[None], y[None], xq[None], lam)[0])

    def hints(got, args):
        x, y, xq, lam = args
        if abs(got - float(icl.least_squares(x[None], y[None], xq[None])[0])) < 1e-6:
            return " That is least squares: add lam I to X^T X."
        if abs(got - float(icl.ridge(x[None], y[None], xq[None], lam * len(y))[0])) < 1e-6:
            return " Use X^T X + lam I, not the mean-normalised (1/n) X^T X + lam I."
        return " w = (X^T X + lam I)^-1 X^T y, then predict w . x_query."

    return _check_predictor(fn, "my_ridge", cases, reference, hints)


def check_dmmse(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(x, y, x_query, tasks, noise)`` (one prompt) against the posterior mean over a finite set of tasks."""
    tasks = np.random.default_rng(11).normal(size=(6, 3))
    cases = []
    for n, noise, seed in ((5, 0.5, 4), (2, 1.0, 5), (12, 0.3, 6)):
        x, y, xq, _ = _prompt(n, 3, noise, seed)
        y = x @ tasks[seed % 6] + noise * np.random.default_rng(seed + 100).normal(size=n)
        cases.append((x, y, xq, tasks, noise))

    def reference(x, y, xq, t, noise):
        return float(icl.dmmse(x[None], y[None], xq[None], t, noise)[0])

    def hints(got, args):
        x, y, xq, t, noise = args
        sse = ((y[None, :] - t @ x.T) ** 2).sum(axis=1)
        if abs(got - float(t[np.argmin(sse)] @ xq)) < 1e-6:
            return " That is the single most likely task (MAP); average all tasks with their posterior weights."
        if abs(got - float(icl.dmmse(x[None], y[None], xq[None], t, noise**0.5)[0])) < 1e-6:
            return " The Gaussian likelihood has exp(-r^2 / (2 noise^2)): square the noise."
        if abs(got - float(np.mean(t @ xq))) < 1e-6:
            return " Weight each task by its likelihood on the context, not equally."
        return " Weights proportional to exp(-sum_i (y_i - w_m . x_i)^2 / (2 noise^2)), normalised to sum to 1."

    return _check_predictor(fn, "my_dmmse", cases, reference, hints)


def _pattern_case(t: int, vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A causal attention pattern ``[t, t]`` (rows sum to 1) and tokens ``[t]`` with repeats."""
    g = np.random.default_rng(seed)
    logits = np.where(np.tril(np.ones((t, t))) > 0, 2.0 * g.normal(size=(t, t)), -np.inf)
    pattern = np.exp(logits - logits.max(1, keepdims=True))
    return pattern / pattern.sum(1, keepdims=True), g.integers(0, vocab, size=t)


def check_prefix_matching(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(pattern, tokens)``: one head's prefix-matching score on one sequence (``pattern`` ``[T, T]``, ``tokens`` ``[T]``)."""
    for t, vocab, seed in ((8, 3, 1), (12, 5, 2), (20, 4, 3)):
        pattern, tokens = _pattern_case(t, vocab, seed)
        got, failed = attempt_number(fn, pattern.copy(), tokens.copy())
        if failed is not None:
            return failed
        want = float(prefix_matching_score(torch.from_numpy(pattern)[None], torch.from_numpy(tokens)[None]))
        if np.isfinite(got) and abs(got - want) < 1e-6:
            continue
        hint = " Sum the attention on every s <= t with tokens[s - 1] == tokens[t], then average over such t."
        match_prev = np.zeros((t, t), dtype=bool)  # the earlier occurrence itself, not the token after it
        match_prev[:, :] = tokens[:, None] == tokens[None, :]
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
    return CheckResult(True, "your score matches: attention to the tokens that followed earlier occurrences.")


#: The chapter's graded code exercises (see :mod:`utils.exercises`).
GRADED = {
    "ch07-ex-attention": Graded("my_attention", check_attention),
    "ch07-ex-noisy-gamma": Graded("my_optimal_gamma", check_optimal_gamma),
    "ch07-ex-ridge": Graded("my_ridge", check_ridge),
    "ch07-ex-dmmse": Graded("my_dmmse", check_dmmse),
    "ch07-ex-prefix": Graded("my_prefix_matching", check_prefix_matching),
}
