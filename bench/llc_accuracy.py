"""Accuracy and cost of ``utils.llc.estimate_llc`` on deep linear networks with exact lambda.

Each case is a bias-free linear network at an exact factorisation of a noiseless teacher
(:func:`utils.deep_linear.deep_linear_network`, n = 10^4), whose learning coefficient is known
exactly (Aoyagi 2024, :func:`utils.slt.learning_coefficient_dln`). For every sampler choice the
script prints the estimate ± std over chains, its relative error, R-hat, bulk ESS, whether the
run passed its convergence checks, and the CPU seconds of the call (one torch thread).

    .venv/bin/python bench/llc_accuracy.py                 # the default choice on every case
    .venv/bin/python bench/llc_accuracy.py --choices all   # every choice (about 20 minutes)

Choices:
  default      step_size="auto" and every other argument at its default (MALA, 4 x 8000 draws)
  sgld-auto    full-batch SGLD with its "auto" step (a tenth of the stiffest curvature)
  sgld-8x      the same with 8 chains of 16000 draws and a burn-in of 16000
  mala-8x2k    MALA with 8 chains of 2000 draws (same number of gradients as the default)
The first three cases are the issue's; the others are held out. m is the multiplicity of the pole:
1 when Aoyagi's a equals l, else 2 (for two layers: M + H + N + r even or odd).
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from utils.deep_linear import deep_linear_network, half_squared_error
from utils.llc import estimate_llc
from utils.slt import learning_coefficient_dln

CASES = [  # (widths, rank, multiplicity m)
    ([3, 3, 3], 1, 1),
    ([2, 3, 3, 2], 1, 1),
    ([3, 2, 3], 0, 1),
    ([3, 2, 2], 0, 2),
    ([3, 3, 2], 1, 2),
    ([4, 3, 2], 0, 2),
    ([2, 2, 2, 2], 0, 2),
    ([4, 3, 3, 4], 1, 2),
]
CHOICES = {
    "default": {},
    "sgld-auto": {"sampler": "sgld"},
    "sgld-8x": {"sampler": "sgld", "num_chains": 8, "num_draws": 16_000, "num_burnin": 16_000},
    "mala-8x2k": {"num_chains": 8, "num_draws": 2000},
}


def run(widths: list[int], rank: int, kwargs: dict) -> tuple:
    model, data = deep_linear_network(widths, rank, n=10_000, seed=0)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = estimate_llc(model, half_squared_error, data, step_size="auto", **kwargs)
    return res, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choices", default="default", help="comma-separated, or 'all'")
    parser.add_argument("--cases", default="all", help="comma-separated indices into CASES, or 'all'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = list(CHOICES) if args.choices == "all" else args.choices.split(",")
    cases = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    print(
        f"{'case':<18} {'m':>1} {'lambda':>6}  {'choice':<10} {'estimate':>14} {'error':>6} "
        f"{'R-hat':>6} {'ESS':>6} {'conv':>4} {'CPU s':>6}"
    )
    for widths, rank, mult in cases:
        lam = learning_coefficient_dln(widths, rank)
        for name in names:
            res, cpu = run(widths, rank, CHOICES[name])
            err = (res.mean - lam) / lam
            case = f"{widths} r{rank}"
            print(
                f"{case:<18} {mult:>1} {lam:>6.3f}  {name:<10} {res.mean:>7.3f} ± {res.std:<5.3f} {err:>+6.1%} "
                f"{res.r_hat:>6.3f} {res.ess:>6.0f} {'yes' if res.converged else 'no':>4} {cpu:>6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
