"""Accuracy and cost of ``utils.llc.estimate_llc`` against the exact targets of zero-teacher deep linear networks.

Each case is a bias-free linear network at ``w* = 0`` with a zero teacher and exactly whitened
inputs (:func:`utils.deep_linear.deep_linear_network` with ``rank=0, whiten=True``), n = 10^4, so that
:func:`utils.slt.exact_llc_target` is the estimator's exact expectation ``nbeta (E[L_n] - L_n(w*))``
at its nbeta and localization; Aoyagi's lambda and multiplicity m are printed beside it (the
target tends to lambda only as nbeta grows, by about (m - 1) / ln nbeta). For every sampler
choice the script prints the estimate ± its standard error (the spread over chains divided by
the square root of their number), the error against the exact target in percent and in standard
errors, R-hat, the burn-in in relaxation times, whether the run passed its convergence checks,
and the CPU seconds of the call (one torch thread).

    .venv/bin/python bench/llc_accuracy.py                 # the default choice on every case
    .venv/bin/python bench/llc_accuracy.py --choices all   # every choice

Choices:
  default      step_size="auto" and every other argument at its default (MALA, 16 chains x 32000 draws)
  sgld-auto    full-batch SGLD with its "auto" step (a tenth of the stiffest curvature)
  four-chains  the defaults before issue 25: 4 chains of 8000 draws, burn-in 4000
The first two cases are chapter 9's; the others were held out while the defaults were chosen (the
last five were added on 2026-12-08; three networks have a hidden layer of width 1, see bench/README.md).

    .venv/bin/python bench/llc_accuracy.py --seeds 0,1,2,3   # the README's 56 runs
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import torch

from utils.deep_linear import deep_linear_network, half_squared_error
from utils.llc import estimate_llc
from utils.slt import exact_llc_target, learning_coefficient_dln

CASES = [
    [3, 2, 2],
    [2, 2, 2, 2],
    [4, 3, 2],
    [2, 2, 2],
    [1, 2, 2, 3],
    [3, 2, 3],
    [5, 2, 4],
    [2, 1, 2, 2],
    [3, 2, 2, 1],
    [2, 3, 1],
    [1, 2, 2],
    [2, 2, 1, 2],
    [6, 2, 3],
    [3, 1, 2, 1],
]
CHOICES = {
    "default": {},
    "sgld-auto": {"sampler": "sgld"},
    "four-chains": {"num_chains": 4, "num_draws": 8000, "num_burnin": 4000},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choices", default="default", help="comma-separated, or 'all'")
    parser.add_argument("--cases", default="all", help="comma-separated indices into CASES, or 'all'")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = list(CHOICES) if args.choices == "all" else args.choices.split(",")
    cases = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    print(
        f"{'case':<14} {'m':>1} {'lambda':>6} {'exact':>6} {'seed':>4}  {'choice':<11} {'estimate ± se':>15} {'error':>6} "
        f"{'z':>5} {'R-hat':>6} {'relax':>5} {'conv':>4} {'CPU s':>6}"
    )
    for widths in cases:
        model, data = deep_linear_network(widths, 0, n=10_000, seed=0, whiten=True, dtype=torch.float64)
        lam = learning_coefficient_dln(widths, 0)
        for seed, name in ((int(s), c) for s in args.seeds.split(",") for c in names):
            start = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = estimate_llc(model, half_squared_error, data, step_size="auto", seed=seed, **CHOICES[name])
            cpu = time.process_time() - start
            exact = exact_llc_target(widths, res.nbeta, res.localization)
            se = res.std / math.sqrt(len(res.per_chain))
            print(
                f"{str(widths):<14} {lam.multiplicity:>1} {lam:>6.3f} {exact:>6.3f} {seed:>4}  {name:<11} {res.mean:>7.3f} ± {se:<5.3f} "
                f"{(res.mean - exact) / exact:>+6.1%} {(res.mean - exact) / se:>+5.1f} {res.r_hat:>6.3f} "
                f"{res.relaxations:>5.1f} {'yes' if res.converged else 'no':>4} {cpu:>6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
