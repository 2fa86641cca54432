"""The chapter 3 checks accept the worked solutions and reject typical mistakes, without raising."""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np

from utils.exercises import ch03


def energy_solution(spins: np.ndarray) -> float:
    s = spins.astype(int)
    return -float(np.sum(s * (np.roll(s, -1, axis=0) + np.roll(s, -1, axis=1)))) / s.size


def energy_double_counted(spins: np.ndarray) -> float:
    s = spins.astype(int)
    nb = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
    return -float(np.sum(s * nb)) / s.size


def energy_open_boundaries(spins: np.ndarray) -> float:
    s = spins.astype(int)
    return -float((s[:, :-1] * s[:, 1:]).sum() + (s[:-1, :] * s[1:, :]).sum()) / s.size


def energy_int8_overflow(spins: np.ndarray) -> float:  # sums in int8 wrap around for big lattices
    s = spins
    return -float(np.sum(s * (np.roll(s, -1, 0) + np.roll(s, -1, 1)), dtype=np.int8)) / s.size


def binder_solution(m: np.ndarray) -> float:
    return 1 - np.mean(m**4) / (3 * np.mean(m**2) ** 2)


def exact_m_solution(L: int, T: float, h: float) -> float:
    s = np.array(list(itertools.product([-1, 1], repeat=L * L))).reshape(-1, L, L)
    bonds = (s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))).sum(axis=(1, 2))
    M = s.sum(axis=(1, 2))
    E = -bonds - h * M
    w = np.exp(-(E - E.min()) / T)
    return float(np.sum(w * M) / np.sum(w) / (L * L))


def exact_m_variant(L: int, T: float, h: float, *, J: float = 1.0, sign: float = 1.0, absolute: bool = False) -> float:
    s = np.array(list(itertools.product([-1, 1], repeat=L * L))).reshape(-1, L, L)
    bonds = (s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))).sum(axis=(1, 2))
    M = s.sum(axis=(1, 2))
    E = -J * bonds - sign * h * M
    w = np.exp(-(E - E.min()) / T)
    return float(np.sum(w * (np.abs(M) if absolute else M)) / np.sum(w) / (L * L))


def unfinished(x: np.ndarray) -> float:
    raise NotImplementedError


def test_energy_check_accepts_solution() -> None:
    result = ch03.check_energy_per_spin(energy_solution)
    assert result.passed, result.message
    assert str(result).startswith("Correct!")


def test_energy_check_rejects_mistakes_with_hints() -> None:
    double = ch03.check_energy_per_spin(energy_double_counted)
    assert not double.passed and "twice" in double.message
    open_bc = ch03.check_energy_per_spin(energy_open_boundaries)
    assert not open_bc.passed and "periodic" in open_bc.message
    assert not ch03.check_energy_per_spin(lambda s: -energy_solution(s)).passed
    assert not ch03.check_energy_per_spin(energy_int8_overflow).passed


def test_binder_check() -> None:
    assert ch03.check_binder_cumulant(binder_solution).passed
    assert not ch03.check_binder_cumulant(lambda m: 1 - np.mean(m**4) / np.mean(m**2) ** 2).passed
    assert not ch03.check_binder_cumulant(lambda m: np.mean(m**4) / (3 * np.mean(m**2) ** 2)).passed


def test_exact_magnetization_check_accepts_solution_and_rejects_mistakes() -> None:
    result = ch03.check_exact_magnetization(exact_m_solution)
    assert result.passed, result.message
    wrong_sign = ch03.check_exact_magnetization(partial(exact_m_variant, sign=-1.0))
    assert not wrong_sign.passed and "sign of the field" in wrong_sign.message
    absolute = ch03.check_exact_magnetization(partial(exact_m_variant, absolute=True))
    assert not absolute.passed and "|m|" in absolute.message
    double = ch03.check_exact_magnetization(partial(exact_m_variant, J=2.0))
    assert not double.passed and "twice" in double.message
    total = ch03.check_exact_magnetization(lambda L, T, h: L * L * exact_m_solution(L, T, h))
    assert not total.passed and "L^2" in total.message
    assert not ch03.check_exact_magnetization(lambda L, T, h: np.tanh(h / T)).passed  # independent spins


def test_unfinished_and_broken_answers_do_not_raise() -> None:
    for check in (ch03.check_energy_per_spin, ch03.check_binder_cumulant):
        result = check(unfinished)
        assert not result.passed and "NotImplementedError" in result.message
        assert not check(lambda x: "a string").passed
        assert not check(lambda x: 1 / 0).passed
        assert not check(42).passed
    field = ch03.check_exact_magnetization
    assert "NotImplementedError" in field(lambda L, T, h: unfinished(L)).message
    assert not field(lambda L, T, h: "a string").passed
    assert not field(lambda L, T, h: 1 / 0).passed
    assert not field(42).passed
