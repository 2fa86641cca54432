"""Multispin-coded checkerboard Metropolis for :mod:`utils.ising` (numba, cached; private).

Two layouts: rows of at most 64 sites share words ("lanes", ``L <= 128``, below), and rows of
more than 64 sites take several words each ("rows", ``L > 128``, at the end of this module);
:class:`Packed` picks one and dispatches to its kernels.

Layout of lanes. Each sublattice of an ``L x L`` lattice (``L`` even, ``L <= 128``) is stored as bits:
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


# ----------------------------------------------------------------------------------------------
# Rows of more than 64 sites (L > 128): several words per row
# ----------------------------------------------------------------------------------------------
#
# Layout. Row i of a sublattice (n = L / 2 sites, n > 64) takes W = ceil(n / 64) consecutive
# words, E[i * W + q] holding bits k = 64 q .. 64 q + 63 of the row (site (i, j) at bit
# k = j // 2, as above); the last word uses its low n - 64 (W - 1) bits, the rest stay 0.
# The side neighbour at bit k + d shifts the whole row by one bit, carrying between its words
# and wrapping from bit n - 1 to bit 0.


def row_words(L: int) -> int | None:
    """Words per sublattice row of the multiword layout of an ``L x L`` lattice (``L`` even, ``L > 128``), else None."""
    n = L // 2
    if L % 2 or n <= 64:
        return None
    return -(-n // 64)


@njit(cache=True)
def _last_mask(n, W):  # pragma: no cover - compiled
    """The used bits of a row's last word."""
    used = n - 64 * (W - 1)
    return _ALL if used == 64 else (_ONE << np.uint64(used)) - _ONE


@njit(cache=True)
def _row_side(B, base, q, W, n, d, last):  # pragma: no cover - compiled
    """Word ``q`` of the row starting at ``B[base]``, shifted so that bit k holds bit k + d (cyclic in n bits)."""
    if d > 0:  # bit k <- bit k + 1; the row's bit 0 wraps to bit n - 1
        if q < W - 1:
            return (B[base + q] >> _ONE) | (B[base + q + 1] << np.uint64(63))
        return (B[base + q] >> _ONE) | ((B[base] & _ONE) << np.uint64(n - 64 * (W - 1) - 1))
    # bit k <- bit k - 1; the row's bit n - 1 wraps to bit 0
    if q > 0:
        word = (B[base + q] << _ONE) | (B[base + q - 1] >> np.uint64(63))
    else:
        word = (B[base] << _ONE) | ((B[base + W - 1] >> np.uint64(n - 64 * (W - 1) - 1)) & _ONE)
    return word & last if q == W - 1 else word


@njit(cache=True)
def _sweeps_rows(E, O, thr4, thr8, s, num_sweeps, n, W):  # pragma: no cover - compiled
    L = E.shape[0] // W
    last = _last_mask(n, W)
    for _ in range(num_sweeps):
        for colour in range(2):
            A = E if colour == 0 else O
            B = O if colour == 0 else E
            for i in range(L):
                d = -1 if (i + colour) % 2 == 0 else 1
                base = i * W
                up_base = (i - 1 if i > 0 else L - 1) * W
                down_base = (i + 1 if i < L - 1 else 0) * W
                for q in range(W):
                    full = last if q == W - 1 else _ALL
                    a = A[base + q]
                    a1 = a ^ B[up_base + q]
                    a2 = a ^ B[down_base + q]
                    a3 = a ^ B[base + q]
                    a4 = a ^ _row_side(B, base, q, W, n, d, last)
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
                        m4 = _ZERO - ((thr4 >> np.uint64(k)) & _ONE)
                        m8 = _ZERO - ((thr8 >> np.uint64(k)) & _ONE)
                        flip |= und4 & m4 & ~r
                        flip |= und8 & m8 & ~r
                        und4 &= ~(r ^ m4)
                        und8 &= ~(r ^ m8)
                        k -= 1
                    A[base + q] = a ^ flip
    return s


@njit(cache=True)
def metropolis_sweeps_rows(E, O, thresholds, states, num_sweeps, n, W):  # pragma: no cover - compiled
    """``num_sweeps`` checkerboard sweeps of every multiword-packed lattice ``(E[t], O[t])``, in place."""
    for t in range(E.shape[0]):
        thr4 = np.uint64(thresholds[t, 0])
        thr8 = np.uint64(thresholds[t, 1])
        states[t] = _sweeps_rows(E[t], O[t], thr4, thr8, states[t], num_sweeps, n, W)


@njit(cache=True, parallel=True)
def metropolis_sweeps_rows_parallel(E, O, thresholds, states, num_sweeps, n, W):  # pragma: no cover - compiled
    """:func:`metropolis_sweeps_rows` with the temperatures spread over numba's threads (same result)."""
    for t in prange(E.shape[0]):
        thr4 = np.uint64(thresholds[t, 0])
        thr8 = np.uint64(thresholds[t, 1])
        states[t] = _sweeps_rows(E[t], O[t], thr4, thr8, states[t], num_sweeps, n, W)


@njit(cache=True)
def pack_rows(spins, E, O, W):  # pragma: no cover - compiled
    """Write int8 lattices ``spins[t]`` into the multiword-packed words ``E[t], O[t]``."""
    n_t, L, _ = spins.shape
    E[:] = 0
    O[:] = 0
    for t in range(n_t):
        for i in range(L):
            for j in range(L):
                if spins[t, i, j] < 0:
                    k = j // 2
                    bit = _ONE << np.uint64(k % 64)
                    if (i + j) % 2 == 0:
                        E[t, i * W + k // 64] |= bit
                    else:
                        O[t, i * W + k // 64] |= bit


@njit(cache=True)
def unpack_rows(E, O, spins, W):  # pragma: no cover - compiled
    """Write the multiword-packed lattices into int8 arrays ``spins[t]`` (+1 / -1)."""
    n_t, L, _ = spins.shape
    for t in range(n_t):
        for i in range(L):
            for j in range(L):
                k = j // 2
                word = E[t, i * W + k // 64] if (i + j) % 2 == 0 else O[t, i * W + k // 64]
                spins[t, i, j] = -1 if (word >> np.uint64(k % 64)) & _ONE else 1


@njit(cache=True)
def measure_rows(E, O, m_out, e_out, col, n, W):  # pragma: no cover - compiled
    """Write |mean spin| and energy per spin of each multiword-packed lattice into column ``col``."""
    n_t = E.shape[0]
    L = E.shape[1] // W
    last = _last_mask(n, W)
    N = 2 * n * L
    for t in range(n_t):
        down_spins = 0
        anti = 0
        for i in range(L):
            d = -1 if i % 2 == 0 else 1  # even sublattice: colour 0
            base = i * W
            up_base = (i - 1 if i > 0 else L - 1) * W
            down_base = (i + 1 if i < L - 1 else 0) * W
            for q in range(W):
                a = E[t, base + q]
                down_spins += _popcount(a) + _popcount(O[t, base + q])
                anti += _popcount(a ^ O[t, up_base + q]) + _popcount(a ^ O[t, down_base + q])
                anti += _popcount(a ^ O[t, base + q]) + _popcount(a ^ _row_side(O[t], base, q, W, n, d, last))
        m_out[t, col] = abs(N - 2 * down_spins) / N
        e_out[t, col] = -(2 * N - 2 * anti) / N


class Packed:
    """The packed state of a batch of ``L x L`` lattices for multispin Metropolis: lanes (``L <= 128``) or rows (``L > 128``)."""

    def __init__(self, spins: np.ndarray, *, rows: bool = False):
        """Pack ``spins`` (int8, shape ``(len(T), L, L)``); ``rows=True`` uses the multiword layout at any even ``L``."""
        n_t, L, _ = spins.shape
        if L % 2:
            raise ValueError(f"L must be even for the multispin layout, got L={L}")
        self.n = L // 2
        lanes = None if rows else layout(L)
        if lanes is not None:
            self.lanes, words = lanes
            self.W = 0
        else:
            self.W = -(-self.n // 64)
            words = L * self.W
        self.E = np.zeros((n_t, words), dtype=np.uint64)
        self.O = np.zeros((n_t, words), dtype=np.uint64)
        if self.W:
            pack_rows(spins, self.E, self.O, self.W)
        else:
            pack(spins, self.E, self.O, self.n, self.lanes)

    def sweeps(self, thresholds: np.ndarray, states: np.ndarray, num_sweeps: int, parallel: bool = False) -> None:
        """``num_sweeps`` Metropolis sweeps of every lattice (``parallel``: temperatures over numba's threads)."""
        if self.W:
            run = metropolis_sweeps_rows_parallel if parallel else metropolis_sweeps_rows
            run(self.E, self.O, thresholds, states, num_sweeps, self.n, self.W)
        else:
            run = metropolis_sweeps_parallel if parallel else metropolis_sweeps
            run(self.E, self.O, thresholds, states, num_sweeps, self.n, self.lanes)

    def unpack(self, spins: np.ndarray) -> None:
        """Write the lattices into ``spins`` (int8, shape ``(len(T), L, L)``)."""
        if self.W:
            unpack_rows(self.E, self.O, spins, self.W)
        else:
            unpack(self.E, self.O, spins, self.n, self.lanes)

    def measure(self, m: np.ndarray, e: np.ndarray, col: int) -> None:
        """Write ``|m|`` and the energy per spin of every lattice into column ``col``."""
        if self.W:
            measure_rows(self.E, self.O, m, e, col, self.n, self.W)
        else:
            measure(self.E, self.O, m, e, col, self.n, self.lanes)
