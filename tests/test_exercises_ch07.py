"""Chapter 7's exercise checks pass right answers, fail typical wrong ones with a useful hint, never raise."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import torch

from utils import icl
from utils.exercises.ch07 import (
    GRADED,
    check_attention,
    check_dmmse,
    check_optimal_gamma,
    check_prefix_matching,
    check_ridge,
)

#: chapter 7 is split into several pages; its exercises are spread over them
NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "chapters/07_in_context_learning").glob("07*.ipynb"))


def stub(*args):
    raise NotImplementedError  # your code here


def test_attention_check() -> None:
    def right(x, wq, wk, wv):
        q, k, v = x @ wq, x @ wk, x @ wv
        return torch.softmax(q @ k.T / math.sqrt(k.shape[1]), dim=1) @ v

    def unscaled(x, wq, wk, wv):
        return torch.softmax((x @ wq) @ (x @ wk).T, dim=1) @ (x @ wv)

    def wrong_axis(x, wq, wk, wv):
        return torch.softmax((x @ wq) @ (x @ wk).T / math.sqrt(wk.shape[1]), dim=0) @ (x @ wv)

    assert check_attention(right).passed
    assert "sqrt(d_k)" in check_attention(unscaled).message
    assert "last axis" in check_attention(wrong_axis).message
    assert not check_attention(lambda x, wq, wk, wv: x @ wv).passed  # no attention at all
    assert "NotImplementedError" in str(check_attention(stub))


def test_optimal_gamma_check() -> None:
    assert check_optimal_gamma(lambda n, d, s: icl.optimal_gamma(n, d, s)).passed
    assert check_optimal_gamma(lambda n, d, s: n / (n + d + 1 + s**2)).passed
    assert "noise" in check_optimal_gamma(lambda n, d, s: n / (n + d + 1)).message.lower()
    assert "variance" in check_optimal_gamma(lambda n, d, s: n / (n + d + 1 + s)).message
    assert "(d + 2)" in check_optimal_gamma(lambda n, d, s: n / (n + d)).message
    assert not check_optimal_gamma(lambda n, d, s: "gamma").passed
    assert not check_optimal_gamma(stub).passed


def test_ridge_check() -> None:
    def right(x, y, xq, lam):
        return float(xq @ np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y))

    def least_squares(x, y, xq, lam):
        return float(xq @ np.linalg.pinv(x) @ y)

    def normalised(x, y, xq, lam):
        n = len(y)
        return float(xq @ np.linalg.solve(x.T @ x / n + lam * np.eye(x.shape[1]), x.T @ y / n))

    assert check_ridge(right).passed
    assert "least squares" in check_ridge(least_squares).message
    assert "mean-normalised" in check_ridge(normalised).message
    assert not check_ridge(stub).passed


def test_dmmse_check() -> None:
    def right(x, y, xq, tasks, noise):
        log_p = -0.5 * ((y[None, :] - tasks @ x.T) ** 2).sum(1) / noise**2
        p = np.exp(log_p - log_p.max())
        return float((p / p.sum()) @ (tasks @ xq))

    def map_only(x, y, xq, tasks, noise):
        return float(tasks[np.argmin(((y[None, :] - tasks @ x.T) ** 2).sum(1))] @ xq)

    def noise_not_squared(x, y, xq, tasks, noise):
        return right(x, y, xq, tasks, noise**0.5)

    def uniform(x, y, xq, tasks, noise):
        return float(np.mean(tasks @ xq))

    assert check_dmmse(right).passed
    assert "MAP" in check_dmmse(map_only).message
    assert "square the noise" in check_dmmse(noise_not_squared).message
    assert "not equally" in check_dmmse(uniform).message
    assert not check_dmmse(stub).passed


def test_prefix_matching_check() -> None:
    def right(pattern, tokens):
        t = len(tokens)
        total, count = 0.0, 0
        for i in range(t):
            matches = [s for s in range(1, i + 1) if tokens[s - 1] == tokens[i]]
            if matches:
                total += sum(pattern[i, s] for s in matches)
                count += 1
        return total / count

    def occurrence_itself(pattern, tokens):
        t = len(tokens)
        rows = [sum(pattern[i, s] for s in range(i) if tokens[s] == tokens[i]) for i in range(t)]
        has = [any(tokens[s] == tokens[i] for s in range(i)) for i in range(t)]
        return float(np.mean([r for r, h in zip(rows, has, strict=True) if h]))

    def all_positions(pattern, tokens):
        t = len(tokens)
        return float(
            np.mean([sum(pattern[i, s] for s in range(1, i + 1) if tokens[s - 1] == tokens[i]) for i in range(t)])
        )

    assert check_prefix_matching(right).passed
    assert "token after it" in check_prefix_matching(occurrence_itself).message
    assert "only over the positions" in check_prefix_matching(all_positions).message
    assert not check_prefix_matching(lambda p, t: 0.5).passed
    assert not check_prefix_matching(stub).passed


def _solution_code(cells: list, label: str) -> str:
    for cell in cells:
        if cell.cell_type == "markdown" and cell.source.startswith(f":::{{solution}} {label}"):
            return re.search(r"```python\n(.*?)```", cell.source, re.S).group(1)
    raise AssertionError(f"no solution for {label}")


def test_notebook_solutions_pass_and_stubs_fail() -> None:
    assert len(NOTEBOOKS) == 4, [p.name for p in NOTEBOOKS]
    cells = [c for path in NOTEBOOKS for c in nbformat.read(path, as_version=4).cells]
    namespace = {"math": math, "np": np, "torch": torch, "icl": icl}
    stubs = {}
    for cell in cells:
        if cell.cell_type == "code" and "answer" in cell.metadata.get("tags", []):
            exec(cell.source, stubs)
    for label, graded in GRADED.items():
        exec(_solution_code(cells, label), namespace)
        assert graded.check(namespace[graded.function]).passed, label
        assert not graded.check(stubs[graded.function]).passed, label
