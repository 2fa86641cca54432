"""Multispin-coded checkerboard Metropolis for :mod:`utils.ising` (numba, cached; private).

Layout. Each sublattice of an ``L x L`` lattice (``L`` even, ``L <= 128``) is stored as bits:
row ``i`` of the even sublattice (sites with ``i + j`` even) has ``n = L / 2`` sites, site
``(i, j)`` at bit ``k = j // 2``; the same for the odd sublattice. Several rows share one
64-bit word: word ``w`` holds, in lane ``r`` (bits ``r n .. r n + n - 1``), row ``i = w + r H``
where ``H = L / R`` is the number of words and ``R`` the number of lanes (``H`` even, so every
row of a word has the parity of ``w``). A set bit is spin ``-1``.

A site's four neighbours are on the other sublattice: rows ``i - 1`` and ``i + 1`` at the same
bit ``k`` (the next words; across the periodic edge the lanes rotate by one), and row ``i`` at
bits ``k`` and ``k + d`` with ``d = -1`` if ``i + colour`` is even, else ``+1`` (rotated within
each lane). XOR with the site gives four "antiparallel" words; bitwise adders give which sites
have 0, 1 or >= 2 antiparallel neighbours, i.e. ``dE = 8, 4, <= 0``. The uphill sites flip with
probability ``exp(-dE / T)``, decided for all bits of a word at once by comparing a uniform
53-bit number with the 53-bit threshold digit by digit, most significant first: one random
word per digit, stopping as soon as every bit is decided (about ``log2(64) + 2`` words). This
is exact to 2**-53, the precision of the scalar kernel. Random words come from the same
splitmix64 stream per temperature (:mod:`utils._splitmix`) as in :mod:`utils._ising_kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._splitmix import next_u64

_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def layout(L: int) -> tuple[int, int] | None:
    """``(lanes R, words H)`` of the packed layout of an ``L x L`` lattice, or None if it has none."""
    n = L // 2
    if L % 2 or n > 64:
        return None
    best = None
    for R in range(1, 64 // n + 1):
        if L % R == 0 and (L // R) % 2 == 0:
            best = R
    return None if best is None else (best, L // best)


@njit(cache=True)
def _masks(n, R):  # pragma: no cover - compiled
    """(all used bits, bit 0 of every lane, bit n - 1 of every lane)."""
    full = _ZERO
    low = _ZERO
    for r in range(R):
        low |= _ONE << np.uint64(r * n)
    if n * R == 64:
        full = _ALL
    else:
        full = (_ONE << np.uint64(n * R)) - _ONE
    top = low << np.uint64(n - 1)
    return full, low, top


@njit(cache=True)
def _rot_lanes(x, n, R, full, up):  # pragma: no cover - compiled
    """Move every lane one lane up (``up``) or down, cyclically, within the used bits."""
    if R == 1:
        return x
    a = np.uint64(n)
    b = np.uint64((R - 1) * n)
    if up:
        return ((x << a) | (x >> b)) & full
    return ((x >> a) | (x << b)) & full


@njit(cache=True)
def _neighbour_words(B, w, H, n, R, full, low, top, d):  # pragma: no cover - compiled
    """The four neighbour words of the sites in word ``w``: up, down, same bit, bit ``k + d``."""
    up = B[w - 1] if w > 0 else _rot_lanes(B[H - 1], n, R, full, True)
    down = B[w + 1] if w < H - 1 else _rot_lanes(B[0], n, R, full, False)
    b0 = B[w]
    nm1 = np.uint64(n - 1)
    if d > 0:  # bit k <- bit k + 1, and bit n - 1 <- bit 0
        side = ((b0 >> _ONE) & ~top) | ((b0 << nm1) & top)
    else:  # bit k <- bit k - 1, and bit 0 <- bit n - 1
        side = ((b0 << _ONE) & ~low & full) | ((b0 >> nm1) & low)
    return up, down, b0, side


@njit(cache=True)
def _popcount(x):  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _sweeps_one(E, O, thr4, thr8, s, num_sweeps, n, R):  # pragma: no cover - compiled
    H = E.shape[0]
    full, low, top = _masks(n, R)
    for _ in range(num_sweeps):
        for colour in range(2):
            A = E if colour == 0 else O
            B = O if colour == 0 else E
            for w in range(H):
                d = -1 if (w + colour) % 2 == 0 else 1
                up, down, b0, side = _neighbour_words(B, w, H, n, R, full, low, top, d)
                a = A[w]
                a1 = a ^ up
                a2 = a ^ down
                a3 = a ^ b0
                a4 = a ^ side
                s1 = a1 ^ a2
                c1 = a1 & a2
                s2 = a3 ^ a4
                c2 = a3 & a4
                zero = ~(a1 | a2 | a3 | a4) & full  # no antiparallel neighbour: dE = 8
                one = (s1 ^ s2) & ~(c1 | c2) & full  # exactly one: dE = 4
                flip = full & ~zero & ~one  # dE <= 0: always
                und4 = one
                und8 = zero
                k = 52
                while (und4 | und8) != _ZERO and k >= 0:
                    s, r = next_u64(s)
                    m4 = _ZERO - ((thr4 >> np.uint64(k)) & _ONE)  # all ones if digit k of thr4 is 1
                    m8 = _ZERO - ((thr8 >> np.uint64(k)) & _ONE)
                    flip |= und4 & m4 & ~r  # U's digit 0 < threshold's digit 1: U < threshold
                    flip |= und8 & m8 & ~r
                    und4 &= ~(r ^ m4)  # still undecided where the digits agree
                    und8 &= ~(r ^ m8)
                    k -= 1
                A[w] = a ^ flip
    return s


@njit(cache=True)
def metropolis_sweeps(E, O, thresholds, states, num_sweeps, n, R):  # pragma: no cover - compiled
    """``num_sweeps`` checkerboard sweeps of every packed lattice ``(E[t], O[t])``, in place."""
    for t in range(E.shape[0]):
        thr4 = np.uint64(thresholds[t, 0])
        thr8 = np.uint64(thresholds[t, 1])
        states[t] = _sweeps_one(E[t], O[t], thr4, thr8, states[t], num_sweeps, n, R)


@njit(cache=True)
def pack(spins, E, O, n, R):  # pragma: no cover - compiled
    """Write int8 lattices ``spins[t]`` into the packed words ``E[t], O[t]``."""
    n_t, L, _ = spins.shape
    H = E.shape[1]
    E[:] = 0
    O[:] = 0
    for t in range(n_t):
        for i in range(L):
            w = i % H
            base = (i // H) * n
            for j in range(L):
                if spins[t, i, j] < 0:
                    bit = _ONE << np.uint64(base + j // 2)
                    if (i + j) % 2 == 0:
                        E[t, w] |= bit
                    else:
                        O[t, w] |= bit


@njit(cache=True)
def unpack(E, O, spins, n, R):  # pragma: no cover - compiled
    """Write the packed lattices into int8 arrays ``spins[t]`` (+1 / -1)."""
    n_t, L, _ = spins.shape
    H = E.shape[1]
    for t in range(n_t):
        for i in range(L):
            w = i % H
            base = (i // H) * n
            for j in range(L):
                word = E[t, w] if (i + j) % 2 == 0 else O[t, w]
                bit = (word >> np.uint64(base + j // 2)) & _ONE
                spins[t, i, j] = -1 if bit else 1


@njit(cache=True)
def measure(E, O, m_out, e_out, col, n, R):  # pragma: no cover - compiled
    """Write |mean spin| and energy per spin of each packed lattice into column ``col``."""
    n_t, H = E.shape
    full, low, top = _masks(n, R)
    N = 2 * n * R * H
    for t in range(n_t):
        down_spins = 0
        anti = 0
        for w in range(H):
            down_spins += _popcount(E[t, w]) + _popcount(O[t, w])
            d = -1 if w % 2 == 0 else 1  # even sublattice: colour 0
            up, down, b0, side = _neighbour_words(O[t], w, H, n, R, full, low, top, d)
            a = E[t, w]
            anti += _popcount(a ^ up) + _popcount(a ^ down) + _popcount(a ^ b0) + _popcount(a ^ side)
        m_out[t, col] = abs(N - 2 * down_spins) / N
        e_out[t, col] = -(2 * N - 2 * anti) / N


@njit(cache=True, parallel=True)
def metropolis_sweeps_parallel(E, O, thresholds, states, num_sweeps, n, R):  # pragma: no cover - compiled
    """:func:`metropolis_sweeps` with the temperatures spread over numba's threads (same result)."""
    for t in prange(E.shape[0]):
        thr4 = np.uint64(thresholds[t, 0])
        thr8 = np.uint64(thresholds[t, 1])
        states[t] = _sweeps_one(E[t], O[t], thr4, thr8, states[t], num_sweeps, n, R)
