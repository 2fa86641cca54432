"""Checks for chapter 03's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, Graded, attempt_number


def _configs(L: int = 6) -> dict[str, tuple[np.ndarray, float]]:
    """Hand-made configurations with their exact energy per spin (J = 1, periodic boundaries)."""
    i, j = np.indices((L, L))
    corner = np.ones((L, L), dtype=np.int8)
    corner[0, 0] = -1  # its four bonds include two that wrap around the boundary
    return {
        "all spins up": (np.ones((L, L), dtype=np.int8), -2.0),
        "checkerboard": (np.where((i + j) % 2 == 0, 1, -1).astype(np.int8), 2.0),
        "vertical stripes": (np.where(j % 2 == 0, 1, -1).astype(np.int8), 0.0),
        "one spin flipped in a corner": (corner, -2.0 + 8.0 / L**2),
    }


def check_energy_per_spin(fn: Callable[[np.ndarray], float]) -> CheckResult:
    """Check ``fn(spins) -> energy per spin`` of one ``L x L`` configuration (J = 1, periodic)."""
    from ..ising import energy

    cases = list(_configs().items())
    cases.append(("all spins down on a 32 x 32 lattice", (-np.ones((32, 32), dtype=np.int8), -2.0)))
    rng = np.random.default_rng(2024)
    for k in range(3):
        spins = (2 * rng.integers(0, 2, size=(8, 8)) - 1).astype(np.int8)
        cases.append((f"random 8 x 8 configuration #{k + 1}", (spins, float(energy(spins)))))
    for name, (spins, exact) in cases:
        value, failed = attempt_number(fn, spins.copy())
        if failed is not None:
            return failed
        if not np.isclose(value, exact, atol=1e-9):
            hint = ""
            s64 = spins.astype(np.int64)
            open_bc = -float((s64[:, :-1] * s64[:, 1:]).sum() + (s64[:-1, :] * s64[1:, :]).sum()) / spins.size
            if np.isclose(value, open_bc):
                hint = " Did you count the bonds that wrap around the periodic boundary?"
            elif np.isclose(value, 2 * exact):
                hint = " Did you count every bond twice? Sum over right and down neighbours only."
            elif np.isclose(value, -exact):
                hint = " Check the sign: E = -J sum s_i s_j."
            return CheckResult(
                False, f"for the {name} the energy per spin is {exact:.4f}, you returned {value:.4f}.{hint}"
            )
    return CheckResult(
        True,
        f"your energy per spin matches all {len(cases)} configurations (e.g. -2 for all up, +2 for a checkerboard).",
    )


def check_binder_cumulant(fn: Callable[[np.ndarray], float]) -> CheckResult:
    """Check ``fn(m) -> U4 = 1 - <m^4> / (3 <m^2>^2)`` for a 1D array of magnetization samples."""
    rng = np.random.default_rng(7)
    cases = [
        ("an ordered phase (|m| = 0.8 in every sample)", np.full(1000, 0.8), 2.0 / 3.0),
        ("m = +-1 with equal weight", np.array([1.0, -1.0] * 50), 2.0 / 3.0),
    ]
    for k in range(2):
        m = np.abs(rng.normal(0.3 * k, 1.0, size=500))
        cases.append((f"random samples #{k + 1}", m, 1.0 - np.mean(m**4) / (3.0 * np.mean(m**2) ** 2)))
    for name, m, exact in cases:
        value, failed = attempt_number(fn, m.copy())
        if failed is not None:
            return failed
        if not np.isclose(value, exact, atol=1e-9):
            return CheckResult(False, f"for {name} U4 = {exact:.4f}, you returned {value:.4f}.")
    return CheckResult(True, "U4 = 2/3 for an ordered phase, and your function matches the formula on random samples.")


def check_exact_magnetization(fn: Callable[[int, float, float], float]) -> CheckResult:
    """Check ``fn(L, T, h) -> <m>``, the exact mean magnetization per spin of the periodic ``L x L`` lattice in a field."""
    from ..ising_field import exact_magnetization

    cases = [(3, 2.0, 0.0), (2, 2.0, 0.1), (3, 2.5, -0.2), (3, 1.5, 0.05), (4, 2.269, 0.1)]
    for L, T, h in cases:
        value, failed = attempt_number(fn, L, T, h)
        if failed is not None:
            return failed
        exact = exact_magnetization(L, T, h)
        if not np.isclose(value, exact, atol=1e-9):
            hint = ""
            if h == 0 and value > 0:
                hint = " At h = 0 the symmetry s -> -s makes <m> = 0: did you average |m|?"
            elif np.isclose(value, -exact):
                hint = " Check the sign of the field term: E = -J sum s_i s_j - h sum s_i."
            elif np.isclose(value, L * L * exact):
                hint = " Divide the sum of spins by the number of spins L^2."
            elif np.isclose(value, exact_magnetization(L, T / 2, h / 2)):
                hint = " Did you count every bond twice? Sum over right and down neighbours only."
            return CheckResult(
                False, f"for L = {L}, T = {T}, h = {h} the exact <m> is {exact:.6f}, you returned {value:.6f}.{hint}"
            )
    return CheckResult(True, f"your <m> matches exact enumeration in all {len(cases)} cases (L = 2, 3, 4).")


#: The graded code exercises of chapter 3 (see :mod:`utils.exercises`).
GRADED = {
    "ch03-ex-energy": Graded("my_energy", check_energy_per_spin),
    "ch03-ex-binder": Graded("my_binder", check_binder_cumulant),
    "ch03-ex-field-exact": Graded("my_exact_m", check_exact_magnetization),
}
