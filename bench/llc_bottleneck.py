"""Why the LLC estimator runs low on a network with a width-1 hidden layer: a heavy tail of the chains' means.

The network is the zero-teacher [2, 1, 2, 2] of ``bench/llc_accuracy.py``: ``f(x) = C b a^T x``
with ``a`` in R^2, ``b`` in R^2 (the 2x1 layer), ``C`` 2x2, whitened inputs, so
``L_n = |C b|^2 |a|^2 / 2``. Independently of ``utils.llc``, this script

1. computes the exact target ``nbeta E[L_n]`` by importance sampling from the prior (weights
   ``exp(-nbeta L_n)``), beside :func:`utils.slt.exact_llc_target`;
2. runs a plain-numpy MALA on ``nbeta L_n + |w|^2 / 2`` (the estimator's posterior, localization
   1) with the step ``utils.llc`` picks for this network, either from ``w* = 0`` as the
   estimator does (``--start origin``) or from exact posterior draws, importance-resampled
   (``--start posterior``), and prints the mean of ``nbeta L_n`` over all chains and steps after
   the first quarter, ± the spread over chains / sqrt(chains), and quantiles of the per-chain
   means.

MALA leaves the posterior invariant, so started from exact draws its expectation is the target;
the quantiles show how it gets there: most chains sit below the target and a rare chain far
above it. The last line shows why: the highest chains accept no proposal, at points where the
potential is far stiffer than the step can follow (bench/README.md).

    .venv/bin/python bench/llc_bottleneck.py --start origin --steps 64000 --chains 256 --seed 2
    .venv/bin/python bench/llc_bottleneck.py --start posterior --steps 16000 --chains 256
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from utils.slt import exact_llc_target

NBETA = 1e4 / math.log(1e4)  # n / ln n, n = 10^4, as in bench/llc_accuracy.py
STEP = 0.0035  # the step utils.llc's dual averaging settles on for this network (0.0030-0.0035)


def potential(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``L_n``, ``U = nbeta L_n + |w|^2 / 2`` and ``grad U`` for each row of ``w = (a, b, C)``."""
    a, b, c = w[:, 0:2], w[:, 2:4], w[:, 4:8].reshape(-1, 2, 2)
    cb = np.einsum("nij,nj->ni", c, b)
    s, aa = (cb**2).sum(1), (a**2).sum(1)
    loss = 0.5 * s * aa
    grad_a = NBETA * s[:, None] * a
    grad_b = NBETA * aa[:, None] * np.einsum("nji,nj->ni", c, cb)
    grad_c = NBETA * aa[:, None, None] * np.einsum("ni,nj->nij", cb, b)
    grad = np.concatenate([grad_a, grad_b, grad_c.reshape(-1, 4)], 1) + w
    return loss, NBETA * loss + 0.5 * (w**2).sum(1), grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", choices=("origin", "posterior"), default="origin")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    prior = rng.standard_normal((4_000_000, 8))
    loss = potential(prior)[0]
    weight = np.exp(-NBETA * loss)
    weight /= weight.sum()
    print(
        f"exact target: {exact_llc_target([2, 1, 2, 2], NBETA):.4f} (utils.slt), "
        f"{(weight * NBETA * loss).sum():.4f} (importance sampling, 4e6 prior draws)"
    )
    if args.start == "origin":
        w = np.zeros((args.chains, 8))
    else:
        w = prior[rng.choice(len(prior), args.chains, p=weight)]
    loss, u, grad = potential(w)
    total, count, accepted = np.zeros(args.chains), 0, 0.0
    accepted_per_chain = np.zeros(args.chains)
    for t in range(args.steps):
        z = rng.standard_normal(w.shape)
        new = w - 0.5 * STEP * grad + math.sqrt(STEP) * z
        new_loss, new_u, new_grad = potential(new)
        back = ((w - new + 0.5 * STEP * new_grad) ** 2).sum(1) / (2 * STEP)
        keep = np.log(rng.random(args.chains)) < u - new_u - back + 0.5 * (z**2).sum(1)
        w = np.where(keep[:, None], new, w)
        loss, u = np.where(keep, new_loss, loss), np.where(keep, new_u, u)
        grad = np.where(keep[:, None], new_grad, grad)
        if t >= args.steps // 4:
            total += NBETA * loss
            count += 1
            accepted += keep.mean()
            accepted_per_chain += keep
    per_chain = total / count
    se = per_chain.std() / math.sqrt(args.chains)
    q = np.quantile(per_chain, [0.1, 0.5, 0.9])
    print(
        f"MALA from {args.start}, {args.chains} chains x {args.steps} steps (step {STEP}, acceptance "
        f"{accepted / count:.2f}): {per_chain.mean():.4f} ± {se:.4f}; per-chain means: 10 %, 50 %, 90 % "
        f"quantiles {q[0]:.3f}, {q[1]:.3f}, {q[2]:.3f}, largest {per_chain.max():.3f}"
    )
    top = np.argsort(per_chain)[::-1][:3]
    median = np.argsort(per_chain)[args.chains // 2]
    print(
        f"the 3 highest chains: means {np.round(per_chain[top], 3).tolist()}, acceptance "
        f"{np.round(accepted_per_chain[top] / count, 3).tolist()}, largest curvature of U at their last state "
        f"{[round(largest_curvature(w[i])) for i in top]}; median chain {largest_curvature(w[median]):.0f}; "
        f"a MALA step is stable below about 4 / step = {4 / STEP:.0f}"
    )


def largest_curvature(w: np.ndarray) -> float:
    """Largest eigenvalue of the Hessian of ``U`` at one point (central differences of the gradient)."""
    h, hess = 1e-5, np.zeros((8, 8))
    for k in range(8):
        e = np.zeros(8)
        e[k] = h
        hess[k] = (potential((w + e)[None])[2][0] - potential((w - e)[None])[2][0]) / (2 * h)

    return float(np.linalg.eigvalsh((hess + hess.T) / 2).max())


if __name__ == "__main__":
    main()
