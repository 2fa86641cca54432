"""The splitmix64 random stream shared by the compiled Ising kernels (numba, cached; private).

Steele, Lea & Flood (2014): a 64-bit state advanced by the odd constant :data:`GAMMA` and
scrambled by :func:`mix64`. Every kernel of :mod:`utils._ising_kernels` and
:mod:`utils._ising_multispin` draws its random numbers here: :func:`next_u64` for a raw word,
:func:`next_u53` for a uniform integer in ``[0, 2**53)`` that a kernel compares with an
acceptance threshold ``probability * 2**53``. :func:`seed_states` turns one integer seed into
independent-looking starting states, one per stream (one stream per temperature or run).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: The increment of the state (the odd integer closest to ``2**64`` over the golden ratio).
GAMMA = np.uint64(0x9E3779B97F4A7C15)
#: Acceptance thresholds are probabilities times ``2**53`` (the uniform draws have 53 bits).
TWO53 = float(2**53)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


@njit(cache=True)
def mix64(z):  # pragma: no cover - compiled
    """splitmix64's output function: a bijective scramble of the 64-bit word ``z``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def next_u64(s):  # pragma: no cover - compiled
    """Advance the state ``s``; return ``(new state, a uniform 64-bit word)``."""
    s += GAMMA
    return s, mix64(s)


@njit(cache=True)
def next_u53(s):  # pragma: no cover - compiled
    """Advance the state ``s``; return ``(new state, a uniform int64 in [0, 2**53))``."""
    s += GAMMA
    return s, np.int64(mix64(s) >> _S11)


def seed_states(seed: int, num_streams: int) -> np.ndarray:
    """Independent-looking splitmix64 starting states for ``num_streams`` streams from one integer seed."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    base = mix((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & mask)
    states = [mix(base ^ mix((k + 1) * 0xD1B54A32D192ED03 & mask)) for k in range(num_streams)]
    return np.array(states, dtype=np.uint64)
