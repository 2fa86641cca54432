"""Checks for chapter 05's code exercises."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._core import CheckResult, Graded, attempt_number, check, uniform

#: (sigma_w, sigma_b) pairs the chi_1 check tries: ordered, near-critical and chaotic tanh networks.
_CASES = ((0.8, 0.3), (1.33, 0.2236), (2.0, 0.5), (1.0, 0.0))


def _hidden_sigmas(rng: np.random.Generator) -> list[tuple[float, float]]:
    """Fresh (sigma_w, sigma_b): two ordered, two near the critical line, two chaotic, one without bias."""
    from ..signal import critical_sigma_w

    cases = [(uniform(rng, 0.5, 1.0, 3), uniform(rng, 0.05, 0.5, 3)) for _ in range(2)]
    for _ in range(2):
        sb = uniform(rng, 0.1, 0.4, 3)
        cases.append((round(critical_sigma_w(sb) * float(rng.uniform(0.98, 1.02)), 4), sb))
    cases += [(uniform(rng, 1.6, 2.5, 3), uniform(rng, 0.05, 0.6, 3)) for _ in range(2)]
    cases.append((uniform(rng, 0.6, 1.0, 3), 0.0))
    return cases


@check(cases=_CASES, hidden=_hidden_sigmas, success="chi_1 matches at ordered, critical and chaotic points.")
def check_chi1(fn: Callable[[float, float], float], sigmas: tuple[float, float]) -> CheckResult | None:
    """Check ``fn(sigma_w, sigma_b)`` returns chi_1 of a tanh network at its length fixed point."""
    from ..signal import chi

    sw, sb = sigmas
    got, failed = attempt_number(fn, sw, sb)
    if failed is not None:
        return failed
    want = chi(sw, sb, "tanh")
    if not math.isfinite(got) or abs(got - want) > 1e-3 * max(1.0, abs(want)):
        return CheckResult(
            False,
            f"for sigma_w={sw}, sigma_b={sb} you return {got:.5g}, expected {want:.5g}. "
            "Did you find q* first and then average phi'(sqrt(q*) z)^2?",
        )
    return None


#: (amplitude, nu) of the synthetic power laws xi = A d^(-nu) the exponent check fits.
_LAWS = ((1.0, 1.0), (2.5, 0.63), (0.4, 1.338))


def _grid(d: np.ndarray, phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Distances and the 5 % wobble that makes a fit, not two points, get nu right."""
    return d, 1.0 + 0.05 * np.sin(7.0 * np.arange(d.size) + phase)


def _law_cases() -> list[tuple[float, float, np.ndarray, np.ndarray]]:
    return [(amp, nu, *_grid(np.geomspace(1e-3, 1e-1, 9))) for amp, nu in _LAWS]


def _hidden_laws(rng: np.random.Generator) -> list[tuple[float, float, np.ndarray, np.ndarray]]:
    cases = []
    for _ in range(5):
        d = np.geomspace(10 ** rng.uniform(-4, -3), 10 ** rng.uniform(-1.5, -0.5), int(rng.integers(7, 13)))
        cases.append((uniform(rng, 0.2, 3.0, 3), uniform(rng, 0.3, 2.0, 3), *_grid(d, float(rng.uniform(0, 6)))))
    return cases


@check(cases=_law_cases, hidden=_hidden_laws, success="nu recovered from three power laws (nu = 0.63, 1, 1.338).")
def check_nu(
    fn: Callable[[np.ndarray, np.ndarray], float], law: tuple[float, float, np.ndarray, np.ndarray]
) -> CheckResult | None:
    """Check ``fn(distance, xi)`` returns ``nu`` of ``xi ~ distance^(-nu)`` by least squares on logs."""
    amp, nu, d, wobble = law
    xi = amp * d**-nu * wobble
    want = -np.polyfit(np.log(d), np.log(xi), 1)[0]
    got, failed = attempt_number(fn, d.copy(), xi.copy())
    if failed is not None:
        return failed
    if not math.isfinite(got) or abs(got - want) > 1e-6 * max(1.0, abs(want)):
        hint = (
            "nu is minus the slope of ln xi against ln distance."
            if abs(got + want) < 1e-3
            else ("Fit a straight line to ln xi against ln distance (np.polyfit) over all points.")
        )
        return CheckResult(False, f"for xi = {amp} d^(-{nu}) you return {got:.5g}, expected {want:.5g}. {hint}")
    return None


#: The graded code exercises of chapter 5 (see :mod:`utils.exercises`).
GRADED = {
    "ch05-ex-chi1": Graded(
        "my_chi1",
        check_chi1,
        forbid=(
            "utils.signal.chi",
            "utils.signal._chi_c",
            "utils.signal.kernel_fixed_point",
            "utils.signal.depth_scales",
        ),
    ),
    "ch05-ex-exponent": Graded("my_nu", check_nu, forbid=("utils.fss.power_law_fit",), written=1),
}

#: The written exercises of chapter 5 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch05-ex-zero-bias": 1, "ch05-ex-relu": 1, "ch05-ex-scale": 1}
