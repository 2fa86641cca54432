"""How often do ``estimate_llc``'s convergence checks pass a wrong answer? Measured against exact targets.

Each case is a zero-teacher deep linear network with exactly whitened inputs
(:func:`utils.deep_linear.deep_linear_network` with ``rank=0, whiten=True``), n = 10^4, so that
:func:`utils.slt.exact_llc_target` is the estimator's exact expectation at its nbeta and
localization. For every case, seed and length ``num_draws`` the script runs ``estimate_llc`` twice:

* **now**: ``step_size="auto"`` and every other argument at its default (16 chains, burn-in
  ``num_burnin=None``: half of ``num_draws``, extended to 3 relaxation times);
* **before**: the defaults before issue 25 (4 chains, burn-in half of ``num_draws``).

A run *passes* when ``converged`` is true. The "before" runs are judged twice: by the checks of
before issue 25 (loss only: R-hat < 1.01, bulk ESS >= 100 per chain, ``|drift z| < 3``, acceptance
>= 0.2) and by the current checks (those plus the relaxation check). A **false pass** is a pass
whose estimate misses the exact target by more than 4 % (the accuracy goal of issue 25), or by
more than 3 standard errors (the spread over chains divided by the square root of their number).

    .venv/bin/python bench/llc_diagnostics.py             # about 15 minutes of CPU on one thread
    .venv/bin/python bench/llc_diagnostics.py --seeds 2   # a quicker look
    .venv/bin/python bench/llc_diagnostics.py --cases 6,7  # the two bottleneck networks only

The last two cases have a hidden layer of width 1 between layers of width 2 (three layers): on
them the estimator converges slowly (bench/README.md).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import torch

from utils.deep_linear import deep_linear_network, half_squared_error
from utils.llc import ACCEPT_MIN, DRIFT_Z_MAX, ESS_PER_CHAIN, R_HAT_MAX, LLCResult, estimate_llc
from utils.slt import exact_llc_target, learning_coefficient_dln

CASES = [[3, 2, 2], [2, 2, 2, 2], [4, 3, 2], [1, 2, 2, 3], [2, 3, 1], [3, 2, 3], [2, 2, 1, 2], [3, 1, 2, 1]]
LENGTHS = [250, 1000, 4000, 8000, 32000]  # 32000: the default
N = 10_000
TOLERANCE = 0.04  # the accuracy goal of issue 25


def loss_only(res: LLCResult) -> bool:
    """The convergence checks before issue 25: the loss trace only."""
    chains = len(res.per_chain)
    accept = res.acceptance_rate is None or res.acceptance_rate >= ACCEPT_MIN
    return res.r_hat < R_HAT_MAX and res.ess >= ESS_PER_CHAIN * chains and abs(res.drift_z) < DRIFT_Z_MAX and accept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cases", default="all", help="comma-separated indices into CASES, or 'all'")
    args = parser.parse_args()
    cases = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    torch.set_num_threads(1)
    print(
        f"{'case':<14} {'m':>1} {'seed':>4} {'draws':>5} {'setting':<7} {'exact':>6} {'estimate ± se':>15} "
        f"{'error':>7} {'z':>6} {'relax':>5} {'pass':>4} {'pass(loss only)':>15} {'CPU s':>6}"
    )
    tally: dict[str, list[tuple[bool, float, float]]] = {
        "now": [],
        "before, current checks": [],
        "before, loss only": [],
    }
    for widths in cases:
        model, data = deep_linear_network(widths, 0, n=N, seed=0, whiten=True, dtype=torch.float64)
        mult = learning_coefficient_dln(widths, 0).multiplicity
        for seed in range(args.seeds):
            for draws in LENGTHS:
                for setting, kw in (("now", {}), ("before", {"num_chains": 4, "num_burnin": draws // 2})):
                    start = time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = estimate_llc(model, half_squared_error, data, num_draws=draws, seed=seed, **kw)
                    cpu = time.process_time() - start
                    exact = exact_llc_target(widths, res.nbeta, res.localization)
                    se = res.std / math.sqrt(len(res.per_chain))
                    err, z = (res.mean - exact) / exact, (res.mean - exact) / se if se > 0 else math.inf
                    if setting == "now":
                        tally["now"].append((res.converged, err, z))
                    else:
                        tally["before, current checks"].append((res.converged, err, z))
                        tally["before, loss only"].append((loss_only(res), err, z))
                    case = f"{widths}"
                    print(
                        f"{case:<14} {mult:>1} {seed:>4} {draws:>5} {setting:<7} {exact:>6.3f} "
                        f"{res.mean:>7.3f} ± {se:<5.3f} {err:>+7.1%} {z:>+6.1f} {res.relaxations:>5.1f} "
                        f"{'yes' if res.converged else 'no':>4} {'yes' if loss_only(res) else 'no':>15} {cpu:>6.1f}",
                        flush=True,
                    )
    print()
    print(f"{'runs and checks':<26} {'runs':>4} {'passed':>6} {'false pass (>4 %)':>18} {'false pass (|z|>3)':>19}")
    for name, rows in tally.items():
        passed = [r for r in rows if r[0]]
        far = sum(1 for _, err, _ in passed if abs(err) > TOLERANCE)
        off = sum(1 for _, _, z in passed if abs(z) > 3)
        print(f"{name:<26} {len(rows):>4} {len(passed):>6} {far:>8} of {len(passed):<7} {off:>9} of {len(passed):<7}")


if __name__ == "__main__":
    main()
