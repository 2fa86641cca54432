"""Checks for chapter 03's code exercises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, Graded, attempt_number, check, uniform


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


def _energy_cases() -> list[tuple[str, np.ndarray, float]]:
    """(description, spins, exact energy per spin): the hand-made configurations, then random ones."""
    from ..ising import energy

    cases = [(name, spins, exact) for name, (spins, exact) in _configs().items()]
    cases.append(("all spins down on a 32 x 32 lattice", -np.ones((32, 32), dtype=np.int8), -2.0))
    rng = np.random.default_rng(2024)
    for k in range(3):
        spins = (2 * rng.integers(0, 2, size=(8, 8)) - 1).astype(np.int8)
        cases.append((f"random 8 x 8 configuration #{k + 1}", spins, float(energy(spins))))
    return cases


def _hidden_energy(rng: np.random.Generator) -> list[tuple[str, np.ndarray, float]]:
    """Configurations of the same kinds on other lattices, the flipped spin anywhere, random ones of any bias."""
    from ..ising import energy

    cases = []
    L = int(rng.choice([4, 6, 10]))
    i, j = np.indices((L, L))
    cases.append(("checkerboard", np.where((i + j) % 2 == 0, 1, -1).astype(np.int8), 2.0))
    cases.append(("horizontal stripes", np.where(i % 2 == 0, 1, -1).astype(np.int8), 0.0))
    up = np.ones((L, L), dtype=np.int8)
    r, c = int(rng.integers(0, L)), int(rng.integers(0, L))
    up[r, c] = -1
    cases.append((f"one spin flipped at row {r}, column {c}", up, -2.0 + 8.0 / L**2))
    cases.append(("all spins down on a 40 x 40 lattice", -np.ones((40, 40), dtype=np.int8), -2.0))
    for k in range(4):
        L = int(rng.integers(3, 13))
        spins = np.where(rng.random((L, L)) < rng.uniform(0.1, 0.9), 1, -1).astype(np.int8)
        cases.append((f"random {L} x {L} configuration #{k + 1}", spins, float(energy(spins))))
    return cases


@check(
    cases=_energy_cases,
    hidden=_hidden_energy,
    success="your energy per spin matches all 8 configurations (e.g. -2 for all up, +2 for a checkerboard).",
)
def check_energy_per_spin(fn: Callable[[np.ndarray], float], case: tuple[str, np.ndarray, float]) -> CheckResult | None:
    """Check ``fn(spins) -> energy per spin`` of one ``L x L`` configuration (J = 1, periodic)."""
    name, spins, exact = case
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
        return CheckResult(False, f"for the {name} the energy per spin is {exact:.4f}, you returned {value:.4f}.{hint}")
    return None


def _binder_cases() -> list[tuple[str, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    cases = [
        ("an ordered phase (|m| = 0.8 in every sample)", np.full(1000, 0.8), 2.0 / 3.0),
        ("m = +-1 with equal weight", np.array([1.0, -1.0] * 50), 2.0 / 3.0),
    ]
    for k in range(2):
        m = np.abs(rng.normal(0.3 * k, 1.0, size=500))
        cases.append((f"random samples #{k + 1}", m, 1.0 - np.mean(m**4) / (3.0 * np.mean(m**2) ** 2)))
    return cases


def _hidden_binder(rng: np.random.Generator) -> list[tuple[str, np.ndarray, float]]:
    size = int(rng.integers(200, 2000))
    level = uniform(rng, 0.2, 0.95, 3)
    cases = [
        (f"an ordered phase (|m| = {level} in every sample)", np.full(size, level), 2.0 / 3.0),
        (f"m = +-{level} with equal weight", np.array([level, -level] * (size // 2)), 2.0 / 3.0),
    ]
    for k in range(4):
        m = rng.normal(rng.uniform(-0.5, 0.8), rng.uniform(0.2, 1.5), size=int(rng.integers(100, 3000)))
        m = np.abs(m) if k % 2 else m
        cases.append((f"random samples #{k + 1}", m, float(1.0 - np.mean(m**4) / (3.0 * np.mean(m**2) ** 2))))
    return cases


@check(
    cases=_binder_cases,
    hidden=_hidden_binder,
    success="U4 = 2/3 for an ordered phase, and your function matches the formula on random samples.",
)
def check_binder_cumulant(fn: Callable[[np.ndarray], float], case: tuple[str, np.ndarray, float]) -> CheckResult | None:
    """Check ``fn(m) -> U4 = 1 - <m^4> / (3 <m^2>^2)`` for a 1D array of magnetization samples."""
    name, m, exact = case
    value, failed = attempt_number(fn, m.copy())
    if failed is not None:
        return failed
    if not np.isclose(value, exact, atol=1e-9):
        return CheckResult(False, f"for {name} U4 = {exact:.4f}, you returned {value:.4f}.")
    return None


#: (L, T, h) at which the exact-magnetization check compares.
FIELD_CASES = ((3, 2.0, 0.0), (2, 2.0, 0.1), (3, 2.5, -0.2), (3, 1.5, 0.05), (4, 2.269, 0.1))


def _hidden_field(rng: np.random.Generator) -> list[tuple[int, float, float]]:
    cases: list[tuple[int, float, float]] = [(int(rng.integers(2, 4)), uniform(rng, 1.5, 3.0, 3), 0.0)]
    for L in (2, 3, 3, 4):
        h = uniform(rng, 0.02, 0.3, 3) * (1 if rng.random() < 0.5 else -1)
        cases.append((L, uniform(rng, 1.2, 3.5, 3), h))
    return cases


@check(
    cases=FIELD_CASES,
    hidden=_hidden_field,
    success=f"your <m> matches exact enumeration in all {len(FIELD_CASES)} cases (L = 2, 3, 4).",
)
def check_exact_magnetization(
    fn: Callable[[int, float, float], float], case: tuple[int, float, float]
) -> CheckResult | None:
    """Check ``fn(L, T, h) -> <m>``, the exact mean magnetization per spin of the periodic ``L x L`` lattice in a field."""
    from ..ising_field import exact_magnetization

    L, T, h = case
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
    return None


#: The graded code exercises of chapter 3 (see :mod:`utils.exercises`).
GRADED = {
    "ch03-ex-energy": Graded(
        "my_energy", check_energy_per_spin, forbid=("utils.ising.energy", "utils.rg.neighbour_correlation")
    ),
    "ch03-ex-binder": Graded("my_binder", check_binder_cumulant, forbid=("utils.ising.binder_cumulant",)),
    "ch03-ex-field-exact": Graded(
        "my_exact_m",
        check_exact_magnetization,
        forbid=("utils.ising_field.exact_magnetization", "utils.ising_field._density_of_states"),
        written=1,
    ),
}

#: The written exercises of chapter 3 and their points (marked by hand on the rubric sheet).
WRITTEN = {"ch03-ex-limits": 1, "ch03-ex-wolff": 1, "ch03-ex-cost": 1}
