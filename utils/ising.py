"""The 2D Ising model: samplers and observables (chapters 3-4).

The exact results (Onsager, Yang, Kaufman) are in :mod:`utils.ising_exact`; general
Markov-chain statistics (binned errors, autocorrelation times) in :mod:`utils.mcmc`.

Conventions: square ``L x L`` lattice with periodic boundaries, coupling ``J = 1``,
``k_B = 1``, no field, energy ``E = -sum_<ij> s_i s_j`` over nearest-neighbour pairs, so the
energy per spin lies in ``[-2, 2]``. Temperatures ``T`` are in units of ``J / k_B``.

Samplers (compiled with numba in :mod:`utils._ising_kernels`, cached on disk after the first call):

* ``algorithm="metropolis"``: checkerboard Metropolis. A sweep updates the sites with
  ``i + j`` even, then those with ``i + j`` odd (``L * L`` flip attempts); the acceptance
  probabilities ``exp(-4 / T)`` and ``exp(-8 / T)`` are precomputed per temperature as 53-bit
  integer thresholds, and each temperature has its own splitmix64 random stream. It runs
  multispin coded, 64 spins per machine word, at every even ``L``
  (:mod:`utils._ising_multispin`: several rows per word up to ``L = 128``, several words per
  row above; ``bench/ising_throughput.py`` measures both against a numpy baseline).
* ``algorithm="wolff"``: the Wolff single-cluster algorithm (bond probability
  ``1 - exp(-2 / T)``). During burn-in a Wolff "sweep" flips clusters until at least ``L * L``
  spins have flipped; afterwards a sweep is a fixed number of clusters per temperature (the
  burn-in average), so ``num_burnin`` and ``thin`` count comparable units for both samplers.

The same ``seed`` gives the same spins; stream ``k`` belongs to the ``k``-th temperature, so
a temperature's samples do not depend on which other temperatures are in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _ising_multispin as packed
from ._ising_kernels import measure, metropolis_sweeps, wolff_burnin, wolff_sweeps
from ._splitmix import TWO53, seed_states
from ._validate import (
    as_rectangular,
    check_choice,
    check_int,
    check_samples,
    check_seed,
    check_temperature,
    float_or_array,
)

__all__ = [
    "ALGORITHMS",
    "Observables",
    "STARTS",
    "binder_cumulant",
    "block_spin",
    "correlation_function",
    "energy",
    "magnetization",
    "sample",
    "sample_observables",
    "specific_heat",
    "susceptibility",
]

ALGORITHMS = ("metropolis", "wolff")
STARTS = ("ordered", "random")

# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------


class _Chain:
    """The state shared by :func:`sample` and :func:`sample_observables` (validated arguments)."""

    def __init__(
        self,
        L: int,
        T,
        *,
        num_samples: int,
        num_burnin: int,
        thin: int,
        algorithm: str,
        seed: int,
        start: str,
        multispin: bool = True,
    ):
        self.L = check_int("L", L, minimum=4)
        self.algorithm = check_choice("algorithm", algorithm, ALGORITHMS)
        if self.algorithm == "metropolis" and self.L % 2:
            raise ValueError(
                f"L must be even for the checkerboard Metropolis sampler (the two sublattices must "
                f"alternate across the periodic boundary), got L={L}"
            )
        self.T = check_temperature("T", T, vector=True)
        self.num_samples = check_int("num_samples", num_samples, minimum=1)
        self.num_burnin = check_int("num_burnin", num_burnin, minimum=0)
        self.thin = check_int("thin", thin, minimum=1)
        seed = check_seed("seed", seed)
        start = check_choice("start", start, STARTS)
        n_t = self.T.size
        self.states = seed_states(seed, n_t)
        beta = 1.0 / self.T
        if self.algorithm == "metropolis":
            self.thresholds = np.floor(np.exp(-np.outer(beta, [4.0, 8.0])) * TWO53).astype(np.int64)
        else:
            self.thresholds = np.floor(-np.expm1(-2.0 * beta) * TWO53).astype(np.int64)
            self.stack = np.empty(self.L * self.L, dtype=np.int64)
        if start == "ordered":
            self.spins = np.ones((n_t, self.L, self.L), dtype=np.int8)
        else:
            init = np.random.default_rng(seed)
            self.spins = (2 * init.integers(0, 2, size=(n_t, self.L, self.L)) - 1).astype(np.int8)
        # Metropolis runs multispin-coded (64 spins per word; see _ising_multispin): the packed
        # words are the state, and self.spins is refreshed from them by unpack().
        self.packed = packed.Packed(self.spins) if (multispin and self.algorithm == "metropolis") else None

    def unpack(self) -> np.ndarray:
        """The current lattices as int8 arrays, shape ``(len(T), L, L)``."""
        if self.packed is not None:
            self.packed.unpack(self.spins)
        return self.spins

    def measure(self, m: np.ndarray, e: np.ndarray, k: int) -> None:
        """Write ``|m|`` and the energy per spin of every lattice into column ``k``."""
        if self.packed is not None:
            self.packed.measure(m, e, k)
        else:
            measure(self.spins, m, e, k)

    def burn_in(self) -> None:
        """Discard ``num_burnin`` sweeps; for Wolff, also fix the number of clusters per sweep."""
        if self.algorithm == "metropolis":
            self.run(self.num_burnin)
            return
        # Wolff: during burn-in a sweep flips clusters until >= L*L spins have flipped. That
        # stopping rule depends on the cluster sizes, so measuring right after it would be
        # biased towards big clusters (ordered states); after burn-in every sweep is a fixed
        # number of clusters, the burn-in average. num_burnin = 0 calibrates on a throwaway copy.
        counts = np.zeros(self.T.size, dtype=np.int64)
        if self.num_burnin > 0:
            wolff_burnin(self.spins, self.thresholds, self.states, self.num_burnin, self.stack, counts)
            sweeps = self.num_burnin
        else:
            wolff_burnin(self.spins.copy(), self.thresholds, self.states.copy(), 1, self.stack, counts)
            sweeps = 1
        self.clusters = np.maximum(1, np.rint(counts / sweeps)).astype(np.int64)

    def run(self, num_sweeps: int) -> None:
        if num_sweeps <= 0:
            return
        if self.packed is not None:
            self.packed.sweeps(self.thresholds, self.states, num_sweeps)
        elif self.algorithm == "metropolis":
            metropolis_sweeps(self.spins, self.thresholds, self.states, num_sweeps)
        else:
            wolff_sweeps(self.spins, self.thresholds, self.states, num_sweeps, self.stack, self.clusters)


def _counts(num_samples: Any, num_burnin: Any, n_samples: Any, burnin: Any) -> tuple[Any, Any]:
    """Resolve ``num_samples``/``num_burnin`` and their older names ``n_samples``/``burnin`` (one of each pair)."""
    out = []
    for name, value, old, old_value in (
        ("num_samples", num_samples, "n_samples", n_samples),
        ("num_burnin", num_burnin, "burnin", burnin),
    ):
        if value is not None and old_value is not None:
            raise TypeError(f"pass {name} or its older name {old}, not both")
        if value is None and old_value is None:
            raise TypeError(f"sample() missing the keyword argument {name}")
        out.append(old_value if value is None else value)
    return out[0], out[1]


def sample(
    L: int,
    T: float | Sequence[float] | np.ndarray,
    *,
    num_samples: int | None = None,
    num_burnin: int | None = None,
    thin: int = 1,
    algorithm: str = "metropolis",
    seed: int = 0,
    start: str = "ordered",
    n_samples: int | None = None,
    burnin: int | None = None,
) -> np.ndarray:
    """Equilibrium spin configurations, shape ``(len(T), num_samples, L, L)``, int8 values +-1 (chapter 3).

    ``num_burnin`` sweeps are discarded, then a configuration is kept every ``thin`` sweeps. A
    scalar ``T`` gives a leading axis of length 1. ``start="ordered"`` starts every chain from
    all spins +1 (no metastable stripes below ``T_C``); ``"random"`` from independent +-1 spins.
    ``n_samples`` and ``burnin`` are the course plan's older names of ``num_samples`` and
    ``num_burnin``, accepted as well.
    """
    num_samples, num_burnin = _counts(num_samples, num_burnin, n_samples, burnin)
    chain = _Chain(
        L, T, num_samples=num_samples, num_burnin=num_burnin, thin=thin, algorithm=algorithm, seed=seed, start=start
    )
    out = np.empty((chain.T.size, chain.num_samples, chain.L, chain.L), dtype=np.int8)
    chain.burn_in()
    for k in range(chain.num_samples):
        chain.run(chain.thin)
        out[:, k] = chain.unpack()
    return out


@dataclass(frozen=True)
class Observables:
    """Per-sample observables, each of shape ``(len(T), num_samples)``."""

    T: np.ndarray  #: the temperatures, shape ``(len(T),)``
    L: int  #: the linear lattice size
    m: np.ndarray  #: ``|mean spin|`` per sample
    e: np.ndarray  #: energy per spin per sample


def sample_observables(
    L: int,
    T: float | Sequence[float] | np.ndarray,
    *,
    num_samples: int | None = None,
    num_burnin: int | None = None,
    thin: int = 1,
    algorithm: str = "metropolis",
    seed: int = 0,
    start: str = "ordered",
    n_samples: int | None = None,
    burnin: int | None = None,
) -> Observables:
    """Like :func:`sample` but keeps only ``|m|`` and the energy per spin of each sample (chapter 3).

    Uses memory ``O(len(T) * num_samples)`` instead of ``O(len(T) * num_samples * L**2)``, for long
    runs on big lattices; the same arguments give the same numbers as applying
    :func:`magnetization` and :func:`energy` to :func:`sample`'s output.
    """
    num_samples, num_burnin = _counts(num_samples, num_burnin, n_samples, burnin)
    chain = _Chain(
        L, T, num_samples=num_samples, num_burnin=num_burnin, thin=thin, algorithm=algorithm, seed=seed, start=start
    )
    m = np.empty((chain.T.size, chain.num_samples))
    e = np.empty((chain.T.size, chain.num_samples))
    chain.burn_in()
    for k in range(chain.num_samples):
        chain.run(chain.thin)
        chain.measure(m, e, k)
    return Observables(T=chain.T, L=chain.L, m=m, e=e)


# ----------------------------------------------------------------------------------------------
# Observables of configurations
# ----------------------------------------------------------------------------------------------


def _spin_array(spins: np.ndarray, name: str = "spins") -> np.ndarray:
    arr = as_rectangular(name, spins, "an array of spins +1 and -1")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of spins +1 and -1, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must have shape (..., L, L), got {arr.shape}")
    if arr.size and not np.all(np.abs(arr) == 1):
        raise ValueError(f"{name} must contain only +1 and -1")
    return arr


def magnetization(spins: np.ndarray) -> float | np.ndarray:
    """``|m| = |sum_i s_i| / L^2`` of each configuration: shape ``spins.shape[:-2]``, a float for one (chapter 3)."""
    arr = _spin_array(spins)
    return float_or_array(np.abs(arr.sum(axis=(-2, -1), dtype=np.int64)) / (arr.shape[-1] * arr.shape[-2]))


def energy(spins: np.ndarray) -> float | np.ndarray:
    """Energy per spin ``-(1/L^2) sum_<ij> s_i s_j`` (J = 1, periodic): shape ``spins.shape[:-2]``, a float for one (chapter 3)."""
    arr = _spin_array(spins).astype(np.int64)
    bonds = arr * (np.roll(arr, -1, axis=-1) + np.roll(arr, -1, axis=-2))
    return float_or_array(-bonds.sum(axis=(-2, -1)) / (arr.shape[-1] * arr.shape[-2]))


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


def correlation_function(spins: np.ndarray) -> np.ndarray:
    """Spin-spin correlation ``G(r) = <s_(i,j) s_(i,j+r)>``, ``r = 0..L//2``, per configuration (chapter 3).

    Averaged over all sites and over the two lattice directions (periodic boundaries), by FFT;
    shape ``spins.shape[:-2] + (L // 2 + 1,)``. Not connected: on a finite lattice ``<m> = 0``.
    """
    arr = _spin_array(spins).astype(np.float64)
    L = arr.shape[-1]
    total = 0.0
    for axis in (-1, -2):
        f = np.fft.rfft(arr, axis=axis)
        corr = np.fft.irfft(f * np.conj(f), n=L, axis=axis)  # sum over k of s_k s_(k+r) along the axis
        total = total + corr.mean(axis=-2 if axis == -1 else -1) / L
    return (total / 2)[..., : L // 2 + 1]


# ----------------------------------------------------------------------------------------------
# Statistics of per-sample observables (the sample axis is the last one)
# ----------------------------------------------------------------------------------------------


def _temperatures_for(samples: np.ndarray, T: float | np.ndarray) -> np.ndarray:
    """``T`` checked, and checked to broadcast against the samples' leading shape (one T per row of samples)."""
    T = check_temperature("T", T)
    try:
        np.broadcast_shapes(T.shape, samples.shape[:-1])
    except ValueError:
        raise ValueError(
            f"T must be one temperature or one per row of samples, shape {samples.shape[:-1]}, got shape {T.shape}"
        ) from None
    return T


def susceptibility(m: np.ndarray, T: float | np.ndarray, L: int) -> float | np.ndarray:
    """Susceptibility per spin ``L^2 (<m^2> - <|m|>^2) / T`` from ``|m|`` samples (last axis) (chapter 3)."""
    m = check_samples("m", m)
    L = check_int("L", L, minimum=1)
    T = _temperatures_for(m, T)
    return float_or_array(L * L * (np.mean(m**2, axis=-1) - np.mean(np.abs(m), axis=-1) ** 2) / T)


def specific_heat(e: np.ndarray, T: float | np.ndarray, L: int) -> float | np.ndarray:
    """Specific heat per spin ``L^2 (<e^2> - <e>^2) / T^2`` from energy-per-spin samples (chapter 3)."""
    e = check_samples("e", e)
    L = check_int("L", L, minimum=1)
    T = _temperatures_for(e, T)
    return float_or_array(L * L * np.var(e, axis=-1) / T**2)


def binder_cumulant(m: np.ndarray) -> float | np.ndarray:
    """Binder cumulant ``U4 = 1 - <m^4> / (3 <m^2>^2)`` over the last axis (chapter 3).

    ``U4 -> 2/3`` in the ordered phase (``m`` concentrated at +-m0) and ``-> 0`` in the
    disordered phase (``m`` Gaussian); curves for different ``L`` cross near ``T_C``.
    """
    m = check_samples("m", m)
    m2 = np.mean(m**2, axis=-1)
    if np.any(m2 == 0):
        raise ValueError("m must not be identically zero (the Binder cumulant divides by <m^2>^2)")
    return float_or_array(1.0 - np.mean(m**4, axis=-1) / (3.0 * m2**2))
