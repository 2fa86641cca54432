"""The 2D Ising model in an external field: hysteresis, metastability, exact small lattices (chapter 3).

Conventions as in :mod:`utils.ising` (``L x L`` periodic lattice, ``J = k_B = 1``), plus a
uniform field ``h`` (units of ``J``): ``E = -sum_<ij> s_i s_j - h sum_i s_i``. Flipping
``s_i`` costs ``dE = 2 s_i (n_i + h)``, with ``n_i`` the sum of its four neighbours.

* :func:`metropolis_field_sweep` runs single-spin-flip checkerboard Metropolis (acceptance
  ``min(1, exp(-dE / T))``) through a schedule of field values, a fixed number of sweeps at
  each, and returns the signed magnetization per spin after each field step.
* :func:`metastable_lifetime` starts independent lattices with every spin ``+1`` in a field
  ``h < 0`` and counts the sweeps until the magnetization turns negative.
* :func:`exact_magnetization` is ``<m>(T, h)`` of a small lattice (``L <= 4``) by exact
  enumeration of all ``2**(L*L)`` configurations.

The Metropolis sweep is :mod:`utils._ising_kernels`' checkerboard kernel, the one that
:mod:`utils.ising` runs at zero field; random numbers come from :mod:`utils._splitmix`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from ._ising_kernels import checkerboard_sweep, field_thresholds
from ._splitmix import seed_states
from ._validate import check_array, check_choice, check_int, check_real, check_seed, float_or_array

__all__ = ["STARTS", "exact_magnetization", "metastable_lifetime", "metropolis_field_sweep"]

STARTS = ("ordered", "random")
_MAX_ENUMERATED = 4  # 2**16 configurations; L = 5 would need 2**25


# ----------------------------------------------------------------------------------------------
# Compiled drivers of the shared sweep (private)
# ----------------------------------------------------------------------------------------------


@njit(cache=True)
def _field_schedule(lat, beta, fields, sweeps_per_field, s, m_out):  # pragma: no cover - compiled
    """Run ``sweeps_per_field`` sweeps at each ``fields[k]``; write the magnetization per spin into ``m_out[k]``."""
    n = lat.shape[0] * lat.shape[1]
    M = np.int64(0)
    for i in range(lat.shape[0]):
        for j in range(lat.shape[1]):
            M += lat[i, j]
    thr = np.empty((2, 5), dtype=np.int64)
    for k in range(fields.size):
        field_thresholds(beta, fields[k], thr)
        for _ in range(sweeps_per_field):
            dM, s = checkerboard_sweep(lat, thr, s)
            M += dM
        m_out[k] = M / n
    return s


@njit(cache=True)
def _escape(lats, beta, h, states, max_sweeps, out):  # pragma: no cover - compiled
    """For each lattice (all +1 at the start), sweeps until the sum of spins is < 0; -1 if never."""
    thr = np.empty((2, 5), dtype=np.int64)
    field_thresholds(beta, h, thr)
    n = lats.shape[1] * lats.shape[2]
    for r in range(lats.shape[0]):
        s = states[r]
        M = np.int64(n)
        out[r] = -1
        for t in range(1, max_sweeps + 1):
            dM, s = checkerboard_sweep(lats[r], thr, s)
            M += dM
            if M < 0:
                out[r] = t
                break


# ----------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------


def _lattice_size(L: int) -> int:
    L = check_int("L", L, minimum=2)
    if L % 2:
        raise ValueError(
            f"L must be even for the checkerboard Metropolis sampler (the two sublattices must "
            f"alternate across the periodic boundary), got L={L}"
        )
    return L


def metropolis_field_sweep(
    L: int,
    T: float,
    fields: Sequence[float] | np.ndarray,
    *,
    sweeps_per_field: int,
    seed: int = 0,
    start: str = "ordered",
) -> np.ndarray:
    """Magnetization per spin ``m = sum_i s_i / L^2`` after each step of a field schedule, shape ``(len(fields),)`` (chapter 3).

    One lattice runs ``sweeps_per_field`` Metropolis sweeps at ``fields[0]``, then as many at
    ``fields[1]``, and so on, never re-initialised: a schedule that goes up and then down
    traces a hysteresis loop, and a constant schedule with ``sweeps_per_field=1`` gives an
    equilibrium time series (one ``m`` per sweep). ``start="ordered"``: all spins ``+1``;
    ``"random"``: independent ``+-1`` spins.
    """
    L = _lattice_size(L)
    T = check_real("T", T, positive=True)
    h = check_array("fields", fields)
    if h.ndim != 1 or h.size == 0:
        raise ValueError(f"fields must be a non-empty 1-D sequence of field values, got shape {h.shape}")
    sweeps_per_field = check_int("sweeps_per_field", sweeps_per_field, minimum=1)
    seed = check_seed("seed", seed)
    start = check_choice("start", start, STARTS)
    if start == "ordered":
        lat = np.ones((L, L), dtype=np.int8)
    else:
        lat = (2 * np.random.default_rng(seed).integers(0, 2, size=(L, L)) - 1).astype(np.int8)
    m = np.empty(h.size)
    _field_schedule(lat, 1.0 / T, h, sweeps_per_field, seed_states(seed, 1)[0], m)
    return m


def metastable_lifetime(L: int, T: float, h: float, *, num_runs: int, max_sweeps: int, seed: int = 0) -> np.ndarray:
    """Sweeps until ``m < 0`` for ``num_runs`` lattices started at ``m = +1`` in a field ``h < 0``, shape ``(num_runs,)`` (chapter 3).

    Each run is an independent Metropolis chain (its own random stream); a run that is still
    at ``m >= 0`` after ``max_sweeps`` sweeps gets ``inf`` (censored: its lifetime is longer).
    """
    L = _lattice_size(L)
    T = check_real("T", T, positive=True)
    h = check_real("h", h)
    if h >= 0:
        raise ValueError(f"h must be < 0 (a field that opposes the starting state m = +1), got {h}")
    num_runs = check_int("num_runs", num_runs, minimum=1)
    max_sweeps = check_int("max_sweeps", max_sweeps, minimum=1)
    seed = check_seed("seed", seed)
    lats = np.ones((num_runs, L, L), dtype=np.int8)
    out = np.empty(num_runs, dtype=np.int64)
    _escape(lats, 1.0 / T, h, seed_states(seed, num_runs), max_sweeps, out)
    return np.where(out < 0, np.inf, out.astype(np.float64))


def _density_of_states(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (sum of spins M, bond sum B = sum_<ij> s_i s_j) of all 2**(L*L) configurations and their counts."""
    n = L * L
    codes = np.arange(2**n, dtype=np.int64)
    spins = (1 - 2 * ((codes[:, None] >> np.arange(n)) & 1)).astype(np.int8).reshape(-1, L, L)
    M = spins.sum(axis=(1, 2), dtype=np.int64)
    B = (spins * (np.roll(spins, -1, axis=1) + np.roll(spins, -1, axis=2))).sum(axis=(1, 2), dtype=np.int64)
    pairs, counts = np.unique(np.stack([M, B], axis=1), axis=0, return_counts=True)
    return pairs[:, 0], pairs[:, 1], counts


def exact_magnetization(L: int, T: float, h: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Exact ``<m>(T, h) = sum_s m(s) e^{-E(s)/T} / Z`` of the periodic ``L x L`` lattice, ``2 <= L <= 4`` (chapter 3).

    By enumeration of all ``2**(L*L)`` configurations (grouped by their sum of spins and bond
    sum); ``h`` may be an array. Exact for the finite lattice: at ``h = 0`` it is 0 by symmetry.
    """
    L = check_int("L", L, minimum=2, maximum=_MAX_ENUMERATED)
    T = check_real("T", T, positive=True)
    field = check_array("h", h)
    M, B, counts = _density_of_states(L)
    # log-weights ln g + (B + h M) / T for every field value; subtract the max to avoid overflow
    logw = np.log(counts) + (B + np.multiply.outer(field, M)) / T
    w = np.exp(logw - logw.max(axis=-1, keepdims=True))
    return float_or_array((w @ M) / w.sum(axis=-1) / (L * L), h)
