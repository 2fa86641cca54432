"""Spin-flip attempts per second: utils.ising Metropolis at L = 64 ... 1024 vs a strong vectorised-numpy checkerboard.

Both run the same workload in one process, interleaved (so that both see the same machine
load): at each lattice size ``L`` in ``SIZES``, ``N_TEMPS`` temperatures, checkerboard Metropolis
sweeps (``L*L`` flip attempts per lattice per sweep). The numpy baseline is written here as well
as numpy allows: int8 spins stored as the two sublattices (so only the sites being updated are
computed, and only they get random numbers), neighbour sums by ``np.roll``, a precomputed
per-temperature acceptance table read with one flat gather, float32 uniforms, and the flip
applied by one multiplication. Before timing, it is checked against Onsager's energy so that
the baseline is a correct sampler.

``utils.ising`` runs multispin-coded Metropolis (64 spins per machine word, bitwise
acceptance; see ``utils/_ising_multispin.py``) on one core: several rows per word up to
``L = 128``, several words per row above. The bench prints, per size, both throughputs, their
ratio, and the ratio of ``utils.ising`` at that size to ``utils.ising`` at ``L = 128`` (goal:
at least 0.5 at ``L = 256``, 512 and 1024: no speed cliff above 128). It also times the same
kernel spread over 2 numba threads (parallel over temperatures) at two sizes. The whole
comparison is done twice. Last, the first-call JIT compile time.

    .venv/bin/python bench/ising_throughput.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

SIZES = (64, 128, 256, 512, 1024)
REFERENCE_L = 128  # the largest lattice of the rows-in-lanes layout: throughput goals are relative to it
N_TEMPS = 4
TEMPS = np.linspace(2.0, 2.6, N_TEMPS)
FLIPS_NUMBA = 2e8  # flip attempts per timed call (the sweeps per call follow from L)
FLIPS_NUMPY = 1.6e7
THREAD_SIZES = (128, 512)  # sizes at which the 2-thread kernel is timed too
REPEATS = 3  # best of, interleaved
RUNS = 2  # the whole comparison, twice
CHECK_L = 64  # the lattice on which the numpy baseline is checked against Onsager


def numpy_checkerboard(
    even: np.ndarray, odd: np.ndarray, T: np.ndarray, n_sweeps: int, rng: np.random.Generator
) -> None:
    """Baseline: ``n_sweeps`` checkerboard sweeps of the sublattices ``even[t], odd[t]`` at ``T[t]``.

    ``even[t, i, k]`` is site ``(i, 2k + i % 2)`` and ``odd[t, i, k]`` site ``(i, 2k + 1 - i % 2)``
    of an ``L x L`` periodic lattice (int8, +-1, updated in place). A site of one sublattice
    has its four neighbours on the other: rows ``i +- 1`` at the same ``k``, and row ``i`` at
    ``k`` and ``k - 1`` (if ``i + colour`` is even) or ``k + 1``.
    """
    n_t, n_rows, _ = even.shape
    table = np.ones((n_t, 9), dtype=np.float32)  # acceptance indexed by s * h + 4, h in -4..4
    table[:, 6] = np.exp(-4.0 / T)
    table[:, 8] = np.exp(-8.0 / T)
    flat = table.ravel()
    offset = (9 * np.arange(n_t, dtype=np.int16) + 4)[:, None, None]
    even_row = (np.arange(n_rows) % 2 == 0)[None, :, None]
    for _ in range(n_sweeps):
        for colour, (a, b) in enumerate(((even, odd), (odd, even))):
            left, right = np.roll(b, 1, axis=2), np.roll(b, -1, axis=2)  # b[k - 1], b[k + 1]
            side = np.where(even_row, left, right) if colour == 0 else np.where(even_row, right, left)
            h = np.roll(b, 1, axis=1) + np.roll(b, -1, axis=1) + b + side
            p = flat[(a * h).astype(np.int16) + offset]
            u = rng.random(a.shape, dtype=np.float32)
            a *= np.where(u < p, np.int8(-1), np.int8(1))


def numpy_energy(even: np.ndarray, odd: np.ndarray) -> np.ndarray:
    """Energy per spin of each sublattice pair (every bond joins an even and an odd site)."""
    n_rows = even.shape[1]
    even_row = (np.arange(n_rows) % 2 == 0)[None, :, None]
    side = np.where(even_row, np.roll(odd, 1, axis=2), np.roll(odd, -1, axis=2))
    h = np.roll(odd, 1, axis=1) + np.roll(odd, -1, axis=1) + odd + side
    return -(even.astype(np.int64) * h).sum(axis=(1, 2)) / (2 * even[0].size)


def check_baseline() -> None:
    """The baseline samples the Boltzmann distribution: its energy matches Onsager's at L = 64."""
    from utils import ising_exact

    T = np.array([1.5, 2.0, 3.0, 3.5])
    rng = np.random.default_rng(1)
    even = np.ones((T.size, CHECK_L, CHECK_L // 2), dtype=np.int8)
    odd = np.ones((T.size, CHECK_L, CHECK_L // 2), dtype=np.int8)
    numpy_checkerboard(even, odd, T, 200, rng)
    u = np.zeros(T.size)
    for _ in range(50):
        numpy_checkerboard(even, odd, T, 4, rng)
        u += numpy_energy(even, odd) / 50
    gap = np.abs(u - ising_exact.onsager_energy(T))
    assert np.all(gap < 0.02), f"the numpy baseline is not sampling the Ising model: |u - exact| = {gap}"


def timed(fn, times: list[float]) -> None:
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)


def sweeps_for(flips: float, L: int) -> int:
    return max(1, round(flips / (N_TEMPS * L * L)))


def one_size(chain, L: int, rng: np.random.Generator) -> dict[str, float]:
    """Flip attempts per second at one lattice size: utils.ising, numpy, and (some sizes) 2 threads."""
    even = np.ones((N_TEMPS, L, L // 2), dtype=np.int8)
    odd = np.ones((N_TEMPS, L, L // 2), dtype=np.int8)
    sweeps = {"numba": sweeps_for(FLIPS_NUMBA, L), "numpy": sweeps_for(FLIPS_NUMPY, L)}
    times: dict[str, list[float]] = {"numba": [], "numpy": []}
    if L in THREAD_SIZES:
        sweeps["numba 2 threads"] = sweeps["numba"]
        times["numba 2 threads"] = []
    for _ in range(REPEATS):
        timed(lambda: chain.run(sweeps["numba"]), times["numba"])
        timed(lambda: numpy_checkerboard(even, odd, TEMPS, sweeps["numpy"], rng), times["numpy"])
        if L in THREAD_SIZES:
            numba.set_num_threads(2)
            timed(
                lambda: chain.packed.sweeps(chain.thresholds, chain.states, sweeps["numba"], parallel=True),
                times["numba 2 threads"],
            )
    return {k: N_TEMPS * L * L * sweeps[k] / min(v) for k, v in times.items()}


def jit_times() -> tuple[float, float]:
    """First-call time in a fresh interpreter with an empty numba cache (compile) and with a warm one."""
    code = (
        "import time; from utils import ising; t = time.perf_counter();"
        "ising.sample(8, [2.0], num_samples=1, num_burnin=1); ising.sample(8, [2.0], num_samples=1, num_burnin=1, algorithm='wolff');"
        "ising.sample_observables(8, [2.0], num_samples=1, num_burnin=1); print(time.perf_counter() - t)"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_CACHE_DIR=str(Path("/tmp") / f"ptdl-numba-bench-{os.getpid()}"))
    shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
    runs = [float(subprocess.check_output([sys.executable, "-c", code], env=env, cwd=root)) for _ in range(2)]
    shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
    return runs[0], runs[1]


def main() -> None:
    from utils.ising import _Chain

    check_baseline()
    chains = {}
    for L in SIZES:
        chains[L] = _Chain(
            L, TEMPS, num_samples=1, num_burnin=0, thin=1, algorithm="metropolis", seed=0, start="random"
        )
        assert chains[L].packed is not None, f"utils.ising should run L = {L} multispin-coded"
        chains[L].run(1)  # compile (or load from cache) before timing
        if L in THREAD_SIZES:
            chains[L].packed.sweeps(chains[L].thresholds, chains[L].states, 1, parallel=True)
    rng = np.random.default_rng(0)
    print(f"{N_TEMPS} temperatures per size, best of {REPEATS} interleaved repeats; M = 10^6 flip attempts / s")
    worst = []
    for run in range(1, RUNS + 1):
        rates = {L: one_size(chains[L], L, rng) for L in SIZES}
        ref = rates[REFERENCE_L]["numba"]
        print(f"run {run}:")
        print("     L   utils.ising (1 core)   numpy baseline   utils / numpy   utils / utils at L = 128")
        for L, r in rates.items():
            print(
                f"  {L:4d}   {r['numba'] / 1e6:14.1f} M/s   {r['numpy'] / 1e6:10.1f} M/s"
                f"   {r['numba'] / r['numpy']:11.1f} x   {r['numba'] / ref:17.2f}"
            )
        for L in THREAD_SIZES:
            print(f"  L = {L}, same kernel on 2 numba threads: {rates[L]['numba 2 threads'] / 1e6:.1f} M/s")
        worst.append(min(rates[L]["numba"] / ref for L in SIZES if L > REFERENCE_L))
    print(
        f"smallest throughput above L = {REFERENCE_L} relative to L = {REFERENCE_L}, per run: "
        + ", ".join(f"{x:.2f}" for x in worst)
        + " (goal: >= 0.5)"
    )
    cold, warm = jit_times()
    print(f"first calls in a fresh process (Metropolis, Wolff, observables): {cold:.2f} s with an empty numba cache,")
    print(f"  {warm:.2f} s cached")


if __name__ == "__main__":
    main()
