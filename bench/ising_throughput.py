"""Spin-flip attempts per second: utils.ising Metropolis vs a plain vectorised-numpy checkerboard.

Both run the same workload side by side in one process: L = 64, 16 temperatures, checkerboard
Metropolis sweeps (L*L flip attempts per lattice per sweep). The numpy baseline is written
here, as a reader would write it without numba: whole-sublattice updates with ``np.roll`` for
the neighbour sums, a precomputed acceptance table, and one uniform random number per site.
Also prints the first-call JIT compile time of the numba kernels (cold = no on-disk cache).

    .venv/bin/python bench/ising_throughput.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

L = 64
N_TEMPS = 16
TEMPS = np.linspace(1.5, 3.5, N_TEMPS)
SWEEPS_NUMBA = 400
SWEEPS_NUMPY = 40
REPEATS = 3  # best of


def numpy_checkerboard(spins: np.ndarray, T: np.ndarray, n_sweeps: int, rng: np.random.Generator) -> None:
    """Baseline: ``n_sweeps`` checkerboard Metropolis sweeps of ``spins[t]`` at ``T[t]``, in place."""
    n_t, L, _ = spins.shape
    i, j = np.indices((L, L))
    masks = [((i + j) % 2 == c) for c in (0, 1)]
    # acceptance probability indexed by s_i * (sum of neighbours) + 4 in {0, 2, 4, 6, 8}
    table = np.ones((n_t, 9))
    table[:, 6] = np.exp(-4.0 / T)
    table[:, 8] = np.exp(-8.0 / T)
    rows = np.arange(n_t)[:, None, None]
    for _ in range(n_sweeps):
        for mask in masks:
            nb = (
                np.roll(spins, 1, axis=1)
                + np.roll(spins, -1, axis=1)
                + np.roll(spins, 1, axis=2)
                + np.roll(spins, -1, axis=2)
            )
            p = table[rows, spins * nb + 4]
            flip = mask & (rng.random(spins.shape) < p)
            spins[flip] *= -1


def rate(fn, n_sweeps: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return N_TEMPS * L * L * n_sweeps / best


def jit_times() -> tuple[float, float]:
    """First-call time in a fresh interpreter with an empty numba cache (compile) and with a warm one."""
    code = (
        "import time; from utils import ising; t = time.perf_counter();"
        "ising.sample(8, [2.0], n_samples=1, burnin=1); ising.sample(8, [2.0], n_samples=1, burnin=1, algorithm='wolff');"
        "ising.sample_observables(8, [2.0], n_samples=1, burnin=1); print(time.perf_counter() - t)"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_CACHE_DIR=str(Path("/tmp") / f"ptdl-numba-bench-{os.getpid()}"))
    shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
    runs = [float(subprocess.check_output([sys.executable, "-c", code], env=env, cwd=root)) for _ in range(2)]
    shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
    return runs[0], runs[1]


def main() -> None:
    from utils.ising import _Chain

    chain = _Chain(L, TEMPS, n_samples=1, burnin=0, thin=1, algorithm="metropolis", seed=0, start="random")
    chain.run(1)  # compile (or load from cache) before timing
    numba_rate = rate(lambda: chain.run(SWEEPS_NUMBA), SWEEPS_NUMBA)

    rng = np.random.default_rng(0)
    spins = (2 * rng.integers(0, 2, size=(N_TEMPS, L, L)) - 1).astype(np.int8)
    numpy_rate = rate(lambda: numpy_checkerboard(spins, TEMPS, SWEEPS_NUMPY, rng), SWEEPS_NUMPY)

    print(f"L = {L}, {N_TEMPS} temperatures, best of {REPEATS}")
    print(f"utils.ising (numba checkerboard):  {numba_rate / 1e6:8.1f} M spin-flip attempts / s")
    print(f"numpy checkerboard baseline:       {numpy_rate / 1e6:8.1f} M spin-flip attempts / s")
    print(f"ratio:                             {numba_rate / numpy_rate:8.1f} x")
    cold, warm = jit_times()
    print(
        f"first calls in a fresh process (Metropolis, Wolff, observables): {cold:.2f} s with an empty numba cache, {warm:.2f} s cached"
    )


if __name__ == "__main__":
    main()
