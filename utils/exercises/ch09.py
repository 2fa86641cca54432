"""Checks for chapter 09's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import torch

from ..llc import ACCEPT_MIN, DRIFT_Z_MAX, ESS_PER_CHAIN, R_HAT_MAX, sgld_step
from ..slt import learning_coefficient_normal_crossing
from ._core import CheckResult, Graded, attempt

__all__ = ["GRADED", "check_diagnosis", "check_normal_crossing_lambda", "check_sgld_step"]


def check_sgld_step(fn: Callable[..., torch.Tensor]) -> CheckResult:
    """Check ``fn(w, grad, w_star, noise, step_size, nbeta, localization)`` (one SGLD step, chapter 9).

    Expected: ``w - step_size/2 * (nbeta * grad + localization * (w - w_star)) + sqrt(step_size) * noise``.
    """
    g = torch.Generator().manual_seed(9)
    w, grad, w_star, noise = (torch.randn(5, generator=g, dtype=torch.float64) for _ in range(4))
    cases = [(1e-2, 50.0, 10.0), (1e-3, 1000.0, 0.0), (0.5, 1.0, 100.0)]
    for eps, nbeta, gamma in cases:
        out, failed = attempt(fn, w.clone(), grad.clone(), w_star.clone(), noise.clone(), eps, nbeta, gamma)
        if failed is not None:
            return failed
        want = sgld_step(w, grad, w_star, noise, step_size=eps, nbeta=nbeta, localization=gamma)
        if not isinstance(out, torch.Tensor) or out.shape != want.shape:
            return CheckResult(False, f"return a tensor of shape {tuple(want.shape)}, got {type(out).__name__}.")
        if not torch.allclose(out.double(), want, rtol=1e-6, atol=1e-9):
            hint = (
                " (the noise is scaled by sqrt(step_size), not step_size)"
                if torch.allclose(out.double(), want - (math.sqrt(eps) - eps) * noise)
                else ""
            )
            return CheckResult(
                False,
                f"wrong update at step_size={eps}, nbeta={nbeta}, localization={gamma}{hint}: "
                "w - eps/2 (nbeta grad + localization (w - w*)) + sqrt(eps) noise.",
            )
    return CheckResult(True, "your SGLD step matches the reference on all test cases.")


def check_normal_crossing_lambda(fn: Callable[[list[int]], float]) -> CheckResult:
    """Check ``fn(powers)``: the learning coefficient of ``prod_j w_j^(2 k_j)`` (chapter 9)."""
    for powers in ([1], [2], [1, 1], [1, 3], [2, 2, 5], [0, 4]):
        out, failed = attempt(fn, list(powers))
        if failed is not None:
            return failed
        want = learning_coefficient_normal_crossing(powers)
        try:
            ok = abs(float(out) - want) < 1e-9
        except (TypeError, ValueError):
            return CheckResult(False, f"return a number, got {type(out).__name__}.")
        if not ok:
            return CheckResult(False, f"for powers {powers} the answer is not {out}: the smallest exponent ratio wins.")
    return CheckResult(True, "lambda = min_j 1/(2 k_j) for every case.")


def _diagnosis_cases() -> list[tuple[str, SimpleNamespace, set[str]]]:
    """(what is wrong, a result-like object with the diagnostics, the arguments to change)."""

    def run(r_hat=1.002, ess=2000.0, drift_z=0.4, accept=0.7, localization=1.0, nbeta=1086.0, chains=4):
        return SimpleNamespace(
            r_hat=r_hat,
            ess=ess,
            drift_z=drift_z,
            acceptance_rate=accept,
            localization=localization,
            nbeta=nbeta,
            per_chain=np.zeros(chains),
        )

    return [
        ("a converged run", run(), set()),
        ("a converged SGLD run (no acceptance rate)", run(accept=None), set()),
        ("R-hat 1.05", run(r_hat=1.05), {"num_draws"}),
        ("bulk ESS 300 with 4 chains", run(ess=300.0), {"num_draws"}),
        ("bulk ESS 500 with 8 chains", run(ess=500.0, chains=8), {"num_draws"}),
        ("bulk ESS 500 with 4 chains", run(ess=500.0), set()),
        ("drift z = -4.2", run(drift_z=-4.2), {"num_draws"}),
        ("acceptance 0.05", run(accept=0.05), {"step_size"}),
        ("localization 200 at nbeta 1086", run(localization=200.0), {"localization"}),
        ("R-hat 1.2 and acceptance 0.1", run(r_hat=1.2, accept=0.1), {"num_draws", "step_size"}),
    ]


def check_diagnosis(fn: Callable[[object], set[str]]) -> CheckResult:
    """Check ``fn(result)``: the set of ``estimate_llc`` arguments to change, from the run's diagnostics (chapter 9).

    Expected: ``"num_draws"`` when R-hat >= 1.01, bulk ESS < 100 per chain or ``|drift z| >= 3``;
    ``"step_size"`` when a Metropolis acceptance rate exists and is below 0.2; ``"localization"``
    when ``localization > 0.1 nbeta``; the empty set for a run that passes every check.
    """
    for what, res, want in _diagnosis_cases():
        out, failed = attempt(fn, res)
        if failed is not None:
            return failed
        try:
            got = set(out)
        except TypeError:
            return CheckResult(False, f"return a set of argument names, got {type(out).__name__}.")
        if got != want:
            hint = ""
            if "ESS" in what and got != want:
                hint = f" Compare the bulk ESS with {ESS_PER_CHAIN} per chain (len(res.per_chain) chains)."
            elif "acceptance" in what and "SGLD" in what:
                hint = " SGLD has no acceptance rate: res.acceptance_rate is None."
            elif "drift" in what:
                hint = f" The drift test uses |drift z| >= {DRIFT_Z_MAX:g}."
            elif "R-hat" in what:
                hint = f" The threshold is R-hat >= {R_HAT_MAX} (Vehtari et al. 2021)."
            elif "acceptance" in what:
                hint = f" An acceptance rate below {ACCEPT_MIN} means the chains stick."
            return CheckResult(False, f"for {what} the answer is {sorted(want)}, you returned {sorted(got)}.{hint}")
    return CheckResult(True, "your diagnosis matches the estimator's rules on every case.")


GRADED = {
    "ch09-ex-sgld-step": Graded("my_sgld_step", check_sgld_step),
    "ch09-ex-normal-crossing": Graded("my_lambda", check_normal_crossing_lambda),
    "ch09-ex-diagnose": Graded("my_diagnosis", check_diagnosis),
}
