"""Compiled kernels of the 2D Ising samplers (numba, cached on disk; private).

The one home of the scalar checkerboard Metropolis kernel (zero field for :mod:`utils.ising`,
any field for :mod:`utils.ising_field`), of the Wolff cluster kernels and of the measurement of
int8 lattices. The multispin-coded Metropolis kernel is in :mod:`utils._ising_multispin`.

Lattices are int8 arrays ``spins[t, i, j]`` (one per temperature or run ``t``) updated in place,
with periodic boundaries and ``J = 1``. Random numbers come from the splitmix64 streams of
:mod:`utils._splitmix`, one state per lattice; a flip is accepted when a uniform 53-bit integer
is below an integer threshold ``probability * 2**53``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._splitmix import TWO53, next_u53, next_u64

_S32 = np.uint64(32)
_ALWAYS = np.int64(TWO53)  # a threshold that every 53-bit draw is below: accept without a draw


@njit(cache=True)
def field_thresholds(beta, h, thr):  # pragma: no cover - compiled
    """``thr[a, b]``: accept a flip of spin ``2a - 1`` with neighbour sum ``2b - 4`` in a field ``h`` if r < thr."""
    for a in range(2):
        s = 2 * a - 1
        for b in range(5):
            dE = 2.0 * s * ((2 * b - 4) + h)
            thr[a, b] = _ALWAYS if dE <= 0.0 else np.int64(np.exp(-beta * dE) * TWO53)


@njit(cache=True)
def _zero_field_table(thr4, thr8, thr):  # pragma: no cover - compiled
    """:func:`field_thresholds`' table at ``h = 0`` from the thresholds of ``dE = 4`` and ``dE = 8``."""
    for a in range(2):
        s = 2 * a - 1
        for b in range(5):
            half_dE = s * (2 * b - 4)  # dE / 2 = s * (sum of the neighbours)
            thr[a, b] = _ALWAYS if half_dE <= 0 else (thr4 if half_dE == 2 else thr8)


@njit(cache=True)
def checkerboard_sweep(lat, thr, s):  # pragma: no cover - compiled
    """One checkerboard Metropolis sweep of ``lat`` in place; return (change of the sum of spins, RNG state).

    The sites with ``i + j`` even are updated first, then those with ``i + j`` odd; ``thr`` is
    :func:`field_thresholds`' table. A random number is drawn only for an uphill flip.
    """
    L = lat.shape[0]
    dM = 0
    for color in range(2):
        for i in range(L):
            ip = i + 1 if i + 1 < L else 0
            im = i - 1 if i > 0 else L - 1
            for j in range((i + color) & 1, L, 2):
                jp = j + 1 if j + 1 < L else 0
                jm = j - 1 if j > 0 else L - 1
                si = lat[i, j]
                nb = np.int32(lat[ip, j]) + np.int32(lat[im, j]) + np.int32(lat[i, jp]) + np.int32(lat[i, jm])
                t = thr[(si + 1) >> 1, (nb + 4) >> 1]
                flip = t >= _ALWAYS
                if not flip:
                    s, r = next_u53(s)
                    flip = r < t
                if flip:
                    lat[i, j] = -si
                    dM -= 2 * si
    return dM, s


@njit(cache=True)
def metropolis_sweeps(spins, thresholds, states, num_sweeps):  # pragma: no cover - compiled
    """``num_sweeps`` zero-field sweeps of every lattice ``spins[t]`` (in place); ``thresholds[t]`` = (dE 4, dE 8)."""
    thr = np.empty((2, 5), dtype=np.int64)
    for t in range(spins.shape[0]):
        _zero_field_table(thresholds[t, 0], thresholds[t, 1], thr)
        s = states[t]
        for _ in range(num_sweeps):
            _, s = checkerboard_sweep(spins[t], thr, s)
        states[t] = s


@njit(cache=True)
def wolff_cluster(lat, thr, s, stack):  # pragma: no cover - compiled
    """Grow and flip one Wolff cluster from a random seed site; return (cluster size, new RNG state)."""
    L = lat.shape[0]
    n = L * L
    s, z = next_u64(s)
    site = np.int64(((z >> _S32) * np.uint64(n)) >> _S32)
    i0 = site // L
    j0 = site - i0 * L
    s0 = lat[i0, j0]
    lat[i0, j0] = -s0
    stack[0] = site
    top = 1
    size = 1
    while top > 0:
        top -= 1
        site = stack[top]
        i = site // L
        j = site - i * L
        for k in range(4):
            if k == 0:
                ni, nj = (i + 1 if i + 1 < L else 0), j
            elif k == 1:
                ni, nj = (i - 1 if i > 0 else L - 1), j
            elif k == 2:
                ni, nj = i, (j + 1 if j + 1 < L else 0)
            else:
                ni, nj = i, (j - 1 if j > 0 else L - 1)
            if lat[ni, nj] == s0:  # a parallel neighbour joins (and flips) with probability 1 - exp(-2/T)
                s, r = next_u53(s)
                if r < thr:
                    lat[ni, nj] = -s0
                    stack[top] = ni * L + nj
                    top += 1
                    size += 1
    return size, s


@njit(cache=True)
def wolff_burnin(spins, thresholds, states, num_sweeps, stack, counts):  # pragma: no cover - compiled
    """Burn-in: per sweep, flip clusters until >= L*L spins flipped; count the clusters in ``counts``."""
    n_t, L, _ = spins.shape
    for t in range(n_t):
        s = states[t]
        for _ in range(num_sweeps):
            flipped = 0
            while flipped < L * L:
                size, s = wolff_cluster(spins[t], thresholds[t], s, stack)
                flipped += size
                counts[t] += 1
        states[t] = s


@njit(cache=True)
def wolff_sweeps(spins, thresholds, states, num_sweeps, stack, clusters):  # pragma: no cover - compiled
    """``num_sweeps`` sweeps of exactly ``clusters[t]`` Wolff cluster flips on each ``spins[t]`` (in place)."""
    n_t = spins.shape[0]
    for t in range(n_t):
        s = states[t]
        for _ in range(num_sweeps * clusters[t]):
            _, s = wolff_cluster(spins[t], thresholds[t], s, stack)
        states[t] = s


@njit(cache=True)
def measure(spins, m_out, e_out, col):  # pragma: no cover - compiled
    """Write |mean spin| and energy per spin of each ``spins[t]`` into column ``col``."""
    n_t, L, _ = spins.shape
    n = L * L
    for t in range(n_t):
        lat = spins[t]
        msum = 0
        bonds = 0
        for i in range(L):
            ip = i + 1 if i + 1 < L else 0
            for j in range(L):
                jp = j + 1 if j + 1 < L else 0
                si = np.int64(lat[i, j])
                msum += si
                bonds += si * (np.int64(lat[ip, j]) + np.int64(lat[i, jp]))
        m_out[t, col] = abs(msum) / n
        e_out[t, col] = -bonds / n
