"""Compiled kernels of the 2D Ising samplers in :mod:`utils.ising` (numba, cached on disk; private).

Lattices are int8 arrays ``spins[t, i, j]`` (one per temperature ``t``) updated in place, with
periodic boundaries and ``J = 1``. Random numbers come from splitmix64 (Steele, Lea & Flood
2014): one 64-bit state per temperature, advanced by ``_GAMMA`` and mixed by :func:`mix64`;
the top 53 bits are compared with integer acceptance thresholds (probability * 2**53).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)


@njit(cache=True)
def mix64(z):  # pragma: no cover - compiled
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def seed_states(seed: int, n: int) -> np.ndarray:
    """Independent-looking splitmix64 starting states for ``n`` streams from one integer seed."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    base = mix((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & mask)
    return np.array([mix(base ^ mix((k + 1) * 0xD1B54A32D192ED03 & mask)) for k in range(n)], dtype=np.uint64)


@njit(cache=True)
def metropolis_sweeps(spins, thresholds, states, num_sweeps):  # pragma: no cover - compiled
    """``num_sweeps`` checkerboard Metropolis sweeps of every lattice ``spins[t]`` (in place)."""
    n_t, L, _ = spins.shape
    for t in range(n_t):
        lat = spins[t]
        s = states[t]
        thr4 = thresholds[t, 0]  # accept dE = 4 if (random 53-bit integer) < thr4
        thr8 = thresholds[t, 1]  # accept dE = 8 if (random 53-bit integer) < thr8
        for _ in range(num_sweeps):
            for color in range(2):
                for i in range(L):
                    ip = i + 1 if i + 1 < L else 0
                    im = i - 1 if i > 0 else L - 1
                    for j in range((i + color) & 1, L, 2):
                        jp = j + 1 if j + 1 < L else 0
                        jm = j - 1 if j > 0 else L - 1
                        si = lat[i, j]
                        h = np.int32(si) * (
                            np.int32(lat[ip, j]) + np.int32(lat[im, j]) + np.int32(lat[i, jp]) + np.int32(lat[i, jm])
                        )
                        if h <= 0:  # dE = 2 h <= 0: always accept
                            lat[i, j] = -si
                        else:
                            s += _GAMMA
                            r = np.int64(mix64(s) >> _S11)
                            if r < (thr4 if h == 2 else thr8):
                                lat[i, j] = -si
        states[t] = s


@njit(cache=True)
def wolff_cluster(lat, thr, s, stack):  # pragma: no cover - compiled
    """Grow and flip one Wolff cluster from a random seed site; return (cluster size, new RNG state)."""
    L = lat.shape[0]
    n = L * L
    s += _GAMMA
    site = np.int64(((mix64(s) >> _S32) * np.uint64(n)) >> _S32)
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
                s += _GAMMA
                if np.int64(mix64(s) >> _S11) < thr:
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
