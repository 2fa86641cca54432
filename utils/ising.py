"""The 2D Ising model: samplers and observables (chapters 3-4).

The exact results (Onsager, Yang, Kaufman) are in :mod:`utils.ising_exact`; general
Markov-chain statistics (binned errors, autocorrelation times) in :mod:`utils.mcmc`.

Conventions: square ``L x L`` lattice with periodic boundaries, coupling ``J = 1``,
``k_B = 1``, no field, energy ``E = -sum_<ij> s_i s_j`` over nearest-neighbour pairs, so the
energy per spin lies in ``[-2, 2]``. Temperatures ``T`` are in units of ``J / k_B``.

Samplers (compiled with numba, cached on disk after the first call):

* ``algorithm="metropolis"``: checkerboard Metropolis. A sweep updates the sites with
  ``i + j`` even, then those with ``i + j`` odd (``L * L`` flip attempts); the acceptance
  probabilities ``exp(-4 / T)`` and ``exp(-8 / T)`` are precomputed per temperature as 53-bit
  integer thresholds, and each temperature has its own splitmix64 random stream.
* ``algorithm="wolff"``: the Wolff single-cluster algorithm (bond probability
  ``1 - exp(-2 / T)``). During burn-in a Wolff "sweep" flips clusters until at least ``L * L``
  spins have flipped; afterwards a sweep is a fixed number of clusters per temperature (the
  burn-in average), so ``burnin`` and ``thin`` count comparable units for both samplers.

The same ``seed`` gives the same spins; stream ``k`` belongs to the ``k``-th temperature, so
a temperature's samples do not depend on which other temperatures are in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit

from ._validate import check_choice, check_int, check_samples

ALGORITHMS = ("metropolis", "wolff")
STARTS = ("ordered", "random")

_TWO53 = float(2**53)

# ----------------------------------------------------------------------------------------------
# Random numbers: splitmix64 (Steele, Lea & Flood 2014), one 64-bit state per temperature.
# ----------------------------------------------------------------------------------------------

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)


@njit(cache=True)
def _mix64(z):  # pragma: no cover - compiled
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _seed_states(seed: int, n: int) -> np.ndarray:
    """Independent-looking splitmix64 starting states for ``n`` streams from one integer seed."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    base = mix((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & mask)
    return np.array([mix(base ^ mix((k + 1) * 0xD1B54A32D192ED03 & mask)) for k in range(n)], dtype=np.uint64)


# ----------------------------------------------------------------------------------------------
# Compiled kernels
# ----------------------------------------------------------------------------------------------


@njit(cache=True)
def _metropolis_sweeps(spins, thresholds, states, n_sweeps):  # pragma: no cover - compiled
    """``n_sweeps`` checkerboard Metropolis sweeps of every lattice ``spins[t]`` (in place)."""
    n_t, L, _ = spins.shape
    for t in range(n_t):
        lat = spins[t]
        s = states[t]
        thr4 = thresholds[t, 0]  # accept dE = 4 if (random 53-bit integer) < thr4
        thr8 = thresholds[t, 1]  # accept dE = 8 if (random 53-bit integer) < thr8
        for _ in range(n_sweeps):
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
                            r = np.int64(_mix64(s) >> _S11)
                            if r < (thr4 if h == 2 else thr8):
                                lat[i, j] = -si
        states[t] = s


@njit(cache=True)
def _wolff_cluster(lat, thr, s, stack):  # pragma: no cover - compiled
    """Grow and flip one Wolff cluster from a random seed site; return (cluster size, new RNG state)."""
    L = lat.shape[0]
    n = L * L
    s += _GAMMA
    site = np.int64(((_mix64(s) >> _S32) * np.uint64(n)) >> _S32)
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
                if np.int64(_mix64(s) >> _S11) < thr:
                    lat[ni, nj] = -s0
                    stack[top] = ni * L + nj
                    top += 1
                    size += 1
    return size, s


@njit(cache=True)
def _wolff_burnin(spins, thresholds, states, n_sweeps, stack, counts):  # pragma: no cover - compiled
    """Burn-in: per sweep, flip clusters until >= L*L spins flipped; count the clusters in ``counts``."""
    n_t, L, _ = spins.shape
    for t in range(n_t):
        s = states[t]
        for _ in range(n_sweeps):
            flipped = 0
            while flipped < L * L:
                size, s = _wolff_cluster(spins[t], thresholds[t], s, stack)
                flipped += size
                counts[t] += 1
        states[t] = s


@njit(cache=True)
def _wolff_sweeps(spins, thresholds, states, n_sweeps, stack, clusters):  # pragma: no cover - compiled
    """``n_sweeps`` sweeps of exactly ``clusters[t]`` Wolff cluster flips on each ``spins[t]`` (in place)."""
    n_t = spins.shape[0]
    for t in range(n_t):
        s = states[t]
        for _ in range(n_sweeps * clusters[t]):
            _, s = _wolff_cluster(spins[t], thresholds[t], s, stack)
        states[t] = s


@njit(cache=True)
def _observables(spins, m_out, e_out, col):  # pragma: no cover - compiled
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


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------


def _temperatures(T: float | Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(T))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"T must be a positive number or a non-empty 1D sequence of them, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"T must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"T must be finite, got {arr}")
    if np.any(arr <= 0):
        raise ValueError(f"T must be > 0 (temperature in units of J/k_B), got {arr[arr <= 0]}")
    return arr


class _Chain:
    """The state shared by :func:`sample` and :func:`sample_observables` (validated arguments)."""

    def __init__(self, L: int, T, *, n_samples: int, burnin: int, thin: int, algorithm: str, seed: int, start: str):
        self.L = check_int("L", L, minimum=4)
        self.algorithm = check_choice("algorithm", algorithm, ALGORITHMS)
        if self.algorithm == "metropolis" and self.L % 2:
            raise ValueError(
                f"L must be even for the checkerboard Metropolis sampler (the two sublattices must "
                f"alternate across the periodic boundary), got L={L}"
            )
        self.T = _temperatures(T)
        self.n_samples = check_int("n_samples", n_samples, minimum=1)
        self.burnin = check_int("burnin", burnin, minimum=0)
        self.thin = check_int("thin", thin, minimum=1)
        seed = check_int("seed", seed, minimum=0)
        start = check_choice("start", start, STARTS)
        n_t = self.T.size
        self.states = _seed_states(seed, n_t)
        beta = 1.0 / self.T
        if self.algorithm == "metropolis":
            self.thresholds = np.floor(np.exp(-np.outer(beta, [4.0, 8.0])) * _TWO53).astype(np.int64)
        else:
            self.thresholds = np.floor(-np.expm1(-2.0 * beta) * _TWO53).astype(np.int64)
            self.stack = np.empty(self.L * self.L, dtype=np.int64)
        if start == "ordered":
            self.spins = np.ones((n_t, self.L, self.L), dtype=np.int8)
        else:
            init = np.random.default_rng(seed)
            self.spins = (2 * init.integers(0, 2, size=(n_t, self.L, self.L)) - 1).astype(np.int8)

    def burn_in(self) -> None:
        """Discard ``burnin`` sweeps; for Wolff, also fix the number of clusters per sweep."""
        if self.algorithm == "metropolis":
            self.run(self.burnin)
            return
        # Wolff: during burn-in a sweep flips clusters until >= L*L spins have flipped. That
        # stopping rule depends on the cluster sizes, so measuring right after it would be
        # biased towards big clusters (ordered states); after burn-in every sweep is a fixed
        # number of clusters, the burn-in average. burnin = 0 calibrates on a throwaway copy.
        counts = np.zeros(self.T.size, dtype=np.int64)
        if self.burnin > 0:
            _wolff_burnin(self.spins, self.thresholds, self.states, self.burnin, self.stack, counts)
            sweeps = self.burnin
        else:
            _wolff_burnin(self.spins.copy(), self.thresholds, self.states.copy(), 1, self.stack, counts)
            sweeps = 1
        self.clusters = np.maximum(1, np.rint(counts / sweeps)).astype(np.int64)

    def run(self, n_sweeps: int) -> None:
        if n_sweeps <= 0:
            return
        if self.algorithm == "metropolis":
            _metropolis_sweeps(self.spins, self.thresholds, self.states, n_sweeps)
        else:
            _wolff_sweeps(self.spins, self.thresholds, self.states, n_sweeps, self.stack, self.clusters)


def sample(
    L: int,
    T: float | Sequence[float] | np.ndarray,
    *,
    n_samples: int,
    burnin: int,
    thin: int = 1,
    algorithm: str = "metropolis",
    seed: int = 0,
    start: str = "ordered",
) -> np.ndarray:
    """Equilibrium spin configurations, shape ``(len(T), n_samples, L, L)``, int8 values +-1 (chapter 3).

    ``burnin`` sweeps are discarded, then a configuration is kept every ``thin`` sweeps. A
    scalar ``T`` gives a leading axis of length 1. ``start="ordered"`` starts every chain from
    all spins +1 (no metastable stripes below ``T_C``); ``"random"`` from independent +-1 spins.
    """
    chain = _Chain(L, T, n_samples=n_samples, burnin=burnin, thin=thin, algorithm=algorithm, seed=seed, start=start)
    out = np.empty((chain.T.size, chain.n_samples, chain.L, chain.L), dtype=np.int8)
    chain.burn_in()
    for k in range(chain.n_samples):
        chain.run(chain.thin)
        out[:, k] = chain.spins
    return out


class Observables(NamedTuple):
    """Per-sample observables, each of shape ``(len(T), n_samples)``."""

    T: np.ndarray  #: the temperatures, shape ``(len(T),)``
    L: int  #: the linear lattice size
    m: np.ndarray  #: ``|mean spin|`` per sample
    e: np.ndarray  #: energy per spin per sample


def sample_observables(
    L: int,
    T: float | Sequence[float] | np.ndarray,
    *,
    n_samples: int,
    burnin: int,
    thin: int = 1,
    algorithm: str = "metropolis",
    seed: int = 0,
    start: str = "ordered",
) -> Observables:
    """Like :func:`sample` but keeps only ``|m|`` and the energy per spin of each sample (chapter 3).

    Uses memory ``O(len(T) * n_samples)`` instead of ``O(len(T) * n_samples * L**2)``, for long
    runs on big lattices; the same arguments give the same numbers as applying
    :func:`magnetization` and :func:`energy` to :func:`sample`'s output.
    """
    chain = _Chain(L, T, n_samples=n_samples, burnin=burnin, thin=thin, algorithm=algorithm, seed=seed, start=start)
    m = np.empty((chain.T.size, chain.n_samples))
    e = np.empty((chain.T.size, chain.n_samples))
    chain.burn_in()
    for k in range(chain.n_samples):
        chain.run(chain.thin)
        _observables(chain.spins, m, e, k)
    return Observables(chain.T, chain.L, m, e)


# ----------------------------------------------------------------------------------------------
# Observables of configurations
# ----------------------------------------------------------------------------------------------


def _spin_array(spins: np.ndarray, name: str = "spins") -> np.ndarray:
    arr = np.asarray(spins)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must have shape (..., L, L), got {arr.shape}")
    if arr.size and not np.all(np.abs(arr) == 1):
        raise ValueError(f"{name} must contain only +1 and -1")
    return arr


def magnetization(spins: np.ndarray) -> np.ndarray:
    """``|m| = |sum_i s_i| / L^2`` of each configuration: shape ``spins.shape[:-2]`` (chapter 3)."""
    arr = _spin_array(spins)
    return np.abs(arr.sum(axis=(-2, -1), dtype=np.int64)) / (arr.shape[-1] * arr.shape[-2])


def energy(spins: np.ndarray) -> np.ndarray:
    """Energy per spin ``-(1/L^2) sum_<ij> s_i s_j`` (J = 1, periodic): shape ``spins.shape[:-2]`` (chapter 3)."""
    arr = _spin_array(spins).astype(np.int64)
    bonds = arr * (np.roll(arr, -1, axis=-1) + np.roll(arr, -1, axis=-2))
    return -bonds.sum(axis=(-2, -1)) / (arr.shape[-1] * arr.shape[-2])


def block_spin(spins: np.ndarray, b: int = 2) -> np.ndarray:
    """Majority-rule block spins over ``b x b`` blocks: shape ``(..., L/b, L/b)``, int8 (chapter 4).

    A tied block (possible for even ``b``) takes the value of its top-left spin, a
    deterministic rule that keeps the +-1 symmetry: flipping every input spin flips every
    block spin.
    """
    arr = _spin_array(spins)
    b = check_int("b", b, minimum=1)
    L = arr.shape[-1]
    if L % b:
        raise ValueError(f"b must divide the lattice size L={L}, got b={b}")
    lead = arr.shape[:-2]
    blocks = arr.reshape(*lead, L // b, b, L // b, b).astype(np.int64)
    total = blocks.sum(axis=(-3, -1))
    top_left = blocks[..., :, 0, :, 0]
    return np.where(total != 0, np.sign(total), top_left).astype(np.int8)


# ----------------------------------------------------------------------------------------------
# Statistics of per-sample observables (the sample axis is the last one)
# ----------------------------------------------------------------------------------------------


def susceptibility(m: np.ndarray, T: float | np.ndarray, L: int) -> np.ndarray:
    """Susceptibility per spin ``L^2 (<m^2> - <|m|>^2) / T`` from ``|m|`` samples (last axis) (chapter 3)."""
    m = check_samples(m, "m")
    L = check_int("L", L, minimum=1)
    T = np.asarray(T, dtype=np.float64)
    if np.any(T <= 0):
        raise ValueError("T must be > 0")
    return L * L * (np.mean(m**2, axis=-1) - np.mean(np.abs(m), axis=-1) ** 2) / T


def specific_heat(e: np.ndarray, T: float | np.ndarray, L: int) -> np.ndarray:
    """Specific heat per spin ``L^2 (<e^2> - <e>^2) / T^2`` from energy-per-spin samples (chapter 3)."""
    e = check_samples(e, "e")
    L = check_int("L", L, minimum=1)
    T = np.asarray(T, dtype=np.float64)
    if np.any(T <= 0):
        raise ValueError("T must be > 0")
    return L * L * np.var(e, axis=-1) / T**2


def binder_cumulant(m: np.ndarray) -> np.ndarray:
    """Binder cumulant ``U4 = 1 - <m^4> / (3 <m^2>^2)`` over the last axis (chapter 3).

    ``U4 -> 2/3`` in the ordered phase (``m`` concentrated at +-m0) and ``-> 0`` in the
    disordered phase (``m`` Gaussian); curves for different ``L`` cross near ``T_C``.
    """
    m = check_samples(m, "m")
    m2 = np.mean(m**2, axis=-1)
    if np.any(m2 == 0):
        raise ValueError("m must not be identically zero (the Binder cumulant divides by <m^2>^2)")
    return 1.0 - np.mean(m**4, axis=-1) / (3.0 * m2**2)
