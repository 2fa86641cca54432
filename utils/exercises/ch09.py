"""Checks for chapter 09's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import torch

from ..llc import ACCEPT_MIN, DRIFT_Z_MAX, ESS_PER_CHAIN, R_HAT_MAX, sgld_step
from ..slt import learning_coefficient_normal_crossing
from ._core import CheckResult, Graded, attempt, check, uniform

__all__ = ["GRADED", "check_diagnosis", "check_normal_crossing_lambda", "check_sgld_step"]


def _sgld_cases(seed: int, shape: tuple[int, ...], settings: list[tuple[float, float, float]]) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    w, grad, w_star, noise = (torch.randn(*shape, generator=g, dtype=torch.float64) for _ in range(4))
    return [(w, grad, w_star, noise, eps, nbeta, gamma) for eps, nbeta, gamma in settings]


def _hidden_sgld(rng: np.random.Generator) -> list[tuple]:
    cases = []
    for shape in ((int(rng.integers(2, 20)),), (int(rng.integers(2, 5)), int(rng.integers(2, 5)))):
        settings = [
            (round(float(10 ** rng.uniform(-4, -0.3)), 6), round(float(10 ** rng.uniform(0, 3.7)), 3), g)
            for g in (0.0, uniform(rng, 0.5, 200, 3), uniform(rng, 0.5, 200, 3))
        ]
        cases += _sgld_cases(int(rng.integers(2**31)), shape, settings)
    return cases


@check(
    cases=lambda: _sgld_cases(9, (5,), [(1e-2, 50.0, 10.0), (1e-3, 1000.0, 0.0), (0.5, 1.0, 100.0)]),
    hidden=_hidden_sgld,
    success="your SGLD step matches the reference on all test cases.",
)
def check_sgld_step(fn: Callable[..., torch.Tensor], case: tuple) -> CheckResult | None:
    """Check ``fn(w, grad, w_star, noise, step_size, nbeta, localization)`` (one SGLD step, chapter 9).

    Expected: ``w - step_size/2 * (nbeta * grad + localization * (w - w_star)) + sqrt(step_size) * noise``.
    """
    w, grad, w_star, noise, eps, nbeta, gamma = case
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
    return None


def _hidden_powers(rng: np.random.Generator) -> list[list[int]]:
    cases = []
    while len(cases) < 8:
        powers = [int(k) for k in rng.integers(0, 7, size=int(rng.integers(1, 6)))]
        if any(powers):
            cases.append(powers)
    return cases


@check(
    cases=([1], [2], [1, 1], [1, 3], [2, 2, 5], [0, 4]),
    hidden=_hidden_powers,
    success="lambda = min_j 1/(2 k_j) for every case.",
)
def check_normal_crossing_lambda(fn: Callable[[list[int]], float], powers: list[int]) -> CheckResult | None:
    """Check ``fn(powers)``: the learning coefficient of ``prod_j w_j^(2 k_j)`` (chapter 9)."""
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
    return None


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


def _diagnosis_rule(res: SimpleNamespace) -> set[str]:
    """The arguments to change by the chapter's rules (the expected answer)."""
    out = set()
    chains = len(res.per_chain)
    if res.r_hat >= R_HAT_MAX or res.ess < ESS_PER_CHAIN * chains or abs(res.drift_z) >= DRIFT_Z_MAX:
        out.add("num_draws")
    if res.acceptance_rate is not None and res.acceptance_rate < ACCEPT_MIN:
        out.add("step_size")
    if res.localization > 0.1 * res.nbeta:
        out.add("localization")
    return out


def _hidden_diagnosis() -> Callable[[np.random.Generator], list[tuple[str, SimpleNamespace, set[str]]]]:
    def draw(rng: np.random.Generator) -> list[tuple[str, SimpleNamespace, set[str]]]:
        cases = []
        for k in range(10):
            chains = int(rng.choice([2, 4, 8]))
            bad = {name for name in ("r_hat", "ess", "drift", "accept", "loc") if rng.random() < 0.3}
            edge = k >= 7  # values exactly at a threshold
            nbeta = uniform(rng, 100, 5000, 1)
            res = SimpleNamespace(
                r_hat=(R_HAT_MAX if edge else uniform(rng, 1.011, 1.3, 3))
                if "r_hat" in bad
                else uniform(rng, 1.0, 1.009, 4),
                ess=float(ESS_PER_CHAIN * chains * (1 if edge and "ess" not in bad else rng.uniform(1.05, 20)))
                if "ess" not in bad
                else round(float(ESS_PER_CHAIN * chains * rng.uniform(0.1, 0.95)), 1),
                drift_z=(DRIFT_Z_MAX if edge else uniform(rng, 3.01, 6, 2)) * (1 if rng.random() < 0.5 else -1)
                if "drift" in bad
                else uniform(rng, -2.9, 2.9, 2),
                acceptance_rate=None
                if rng.random() < 0.3
                else (
                    uniform(rng, 0.01, 0.19, 3)
                    if "accept" in bad
                    else (ACCEPT_MIN if edge else uniform(rng, 0.21, 0.95, 3))
                ),
                localization=round(
                    nbeta * (rng.uniform(0.11, 2) if "loc" in bad else (0.1 if edge else rng.uniform(0.0, 0.09))), 3
                ),
                nbeta=nbeta,
                per_chain=np.zeros(chains),
            )
            what = (
                f"R-hat {res.r_hat}, bulk ESS {res.ess:g} with {chains} chains, drift z = {res.drift_z}, "
                f"acceptance {res.acceptance_rate}, localization {res.localization} at nbeta {nbeta}"
            )
            cases.append((what, res, _diagnosis_rule(res)))
        return cases

    return draw


@check(
    cases=_diagnosis_cases,
    hidden=_hidden_diagnosis(),
    success="your diagnosis matches the estimator's rules on every case.",
)
def check_diagnosis(
    fn: Callable[[object], set[str]], case: tuple[str, SimpleNamespace, set[str]]
) -> CheckResult | None:
    """Check ``fn(result)``: the set of ``estimate_llc`` arguments to change, from the run's diagnostics (chapter 9).

    Expected: ``"num_draws"`` when R-hat >= 1.01, bulk ESS < 100 per chain or ``|drift z| >= 3``;
    ``"step_size"`` when a Metropolis acceptance rate exists and is below 0.2; ``"localization"``
    when ``localization > 0.1 nbeta``; the empty set for a run that passes every check.
    """
    what, res, want = case
    out, failed = attempt(fn, res)
    if failed is not None:
        return failed
    try:
        got = set(out)
    except TypeError:
        return CheckResult(False, f"return a set of argument names, got {type(out).__name__}.")
    if got != want:
        hint = ""
        chains = len(res.per_chain)
        low_ess = res.ess < ESS_PER_CHAIN * chains
        if ("num_draws" in got) != ("num_draws" in want):
            if abs(res.drift_z) >= DRIFT_Z_MAX:
                hint = f" The drift test uses |drift z| >= {DRIFT_Z_MAX:g}."
            elif res.r_hat >= R_HAT_MAX:
                hint = f" The threshold is R-hat >= {R_HAT_MAX} (Vehtari et al. 2021)."
            elif low_ess or "num_draws" in got:
                hint = f" Compare the bulk ESS with {ESS_PER_CHAIN} per chain (len(res.per_chain) chains)."
        elif ("step_size" in got) != ("step_size" in want):
            if res.acceptance_rate is None:
                hint = " SGLD has no acceptance rate: res.acceptance_rate is None."
            else:
                hint = f" An acceptance rate below {ACCEPT_MIN} means the chains stick."
        elif ("localization" in got) != ("localization" in want):
            hint = " Localization is too strong when localization > 0.1 nbeta."
        return CheckResult(False, f"for {what} the answer is {sorted(want)}, you returned {sorted(got)}.{hint}")
    return None


GRADED = {
    "ch09-ex-sgld-step": Graded("my_sgld_step", check_sgld_step, forbid=("utils.llc.sgld_step",)),
    "ch09-ex-normal-crossing": Graded(
        "my_lambda", check_normal_crossing_lambda, forbid=("utils.slt.learning_coefficient_normal_crossing",)
    ),
    "ch09-ex-diagnose": Graded("my_diagnosis", check_diagnosis),
}

#: The written exercises of chapter 9 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch09-ex-temperature": 1, "ch09-ex-rrr": 1}
