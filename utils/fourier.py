"""Fourier analysis over Z_p: the progress measures and the analytic solution of modular addition (chapter 6).

Conventions. For a real function ``x[n]`` on ``Z_p`` (``p`` odd) the DFT is
``X[k] = sum_n x[n] exp(-2 pi i k n / p)``. Frequencies ``k`` and ``p - k`` carry the same real
wave ``cos(2 pi k n / p + phase)``, so a real signal's energy is reported per frequency
``k = 0, 1, ..., (p - 1) / 2``: ``P[0] = |X[0]|^2 / p`` and ``P[k] = 2 |X[k]|^2 / p``. By Parseval
these add up to ``sum_n x[n]^2``.

The analytic solution (Gromov 2023, in the layout of :class:`utils.grokking.ModularMLP`): a
neuron with pre-activation ``cos(w a + phi_1) + cos(w b + phi_2)``, ``w = 2 pi k / p``, squared,
and read out with ``cos(w c + phi_1 + phi_2)``, contributes ``(1/2) cos(w (a + b - c))`` plus
terms whose sum over a grid of phases vanishes exactly. Their total peaks at ``c = a + b mod p``.

Numpy only (no torch): pass ``tensor.detach().numpy()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validate import as_rectangular, check_array, check_int, check_int_sequence, check_real

__all__ = [
    "PHASES_PER_OPERAND",
    "cross_entropy",
    "dominant_frequency",
    "embedding_power",
    "energy_fraction",
    "excluded_logits",
    "fourier_solution",
    "frequency_power",
    "key_frequencies",
    "restricted_logits",
]

#: Phases per operand in :func:`fourier_solution`: 3 x 3 phase pairs make every unwanted term cancel.
PHASES_PER_OPERAND = 3


def _check_p(p: int) -> int:
    p = check_int("p", p, minimum=3)
    if p % 2 == 0:
        raise ValueError(f"p must be odd, got {p}")
    return p


def _axis_length(x: np.ndarray, axis: int) -> int:
    """The length ``p`` (odd, >= 3) of ``x`` along ``axis``, or raise naming ``x`` or ``axis``."""
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the one of length p)")
    axis = check_int("axis", axis, minimum=-x.ndim, maximum=x.ndim - 1)
    p = x.shape[axis]
    if p < 3 or p % 2 == 0:
        raise ValueError(f"x must have an odd length p >= 3 along axis {axis}, got shape {x.shape}")
    return p


def frequency_power(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Energy of the real array ``x`` per frequency ``k = 0..(p-1)/2`` of its length-``p`` ``axis`` (sums to ``sum x**2``)."""
    x = check_array("x", x)
    p = _axis_length(x, axis)
    spec = np.abs(np.fft.rfft(x, axis=axis)) ** 2 / p  # k = 0 .. (p - 1) / 2 for odd p
    spec = np.moveaxis(spec, axis, 0)
    spec[1:] *= 2.0
    return np.moveaxis(spec, 0, axis)


def embedding_power(embed: np.ndarray) -> np.ndarray:
    """Energy per frequency of token embeddings ``[..., p, d]``, summed over the ``d`` features: ``[..., (p+1)/2]``."""
    embed = check_array("embed", embed)
    if embed.ndim < 2:
        raise ValueError(f"embed must be [..., p, d], got shape {embed.shape}")
    return frequency_power(embed, axis=-2).sum(-1)


def key_frequencies(power: np.ndarray, num_keys: int) -> np.ndarray:
    """The ``num_keys`` non-zero frequencies of largest energy in ``power`` (one spectrum, as from :func:`embedding_power`), sorted."""
    power = check_array("power", power)
    if power.ndim != 1 or power.size < 2:
        raise ValueError(f"power must be one spectrum of at least 2 frequencies, got shape {power.shape}")
    num_keys = check_int("num_keys", num_keys, minimum=1)
    if num_keys > power.size - 1:
        raise ValueError(f"num_keys must be <= {power.size - 1} (the non-zero frequencies), got {num_keys}")
    order = np.argsort(power[1:])[::-1] + 1
    return np.sort(order[:num_keys])


def energy_fraction(power: np.ndarray, freqs: Sequence[int]) -> np.ndarray:
    """Fraction of the non-constant energy (``k >= 1``) that lies in ``freqs``; ``power`` is ``[..., (p+1)/2]``."""
    power = check_array("power", power)
    if power.ndim == 0 or power.shape[-1] < 2:
        raise ValueError(f"power must be spectra [..., (p+1)/2] of at least 2 frequencies, got shape {power.shape}")
    freqs = np.asarray(check_int_sequence("freqs", freqs))
    if freqs.min() < 1 or freqs.max() >= power.shape[-1]:
        raise ValueError(f"freqs must be non-zero frequencies below {power.shape[-1]}, got {freqs.tolist()}")
    return power[..., freqs].sum(-1) / power[..., 1:].sum(-1)


def dominant_frequency(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each 1-D slice of ``x`` along ``axis`` (length ``p``): its strongest frequency ``k >= 1``, the phase
    ``phi`` in ``(-pi, pi]`` of ``cos(2 pi k n / p + phi)`` at that frequency, and that frequency's share of the
    slice's energy."""
    x = check_array("x", x)
    p = _axis_length(x, axis)
    x = np.moveaxis(x, axis, -1)
    coef = np.fft.rfft(x, axis=-1)
    power = np.abs(coef) ** 2
    k = np.argmax(power[..., 1:], axis=-1) + 1
    top = np.take_along_axis(coef, k[..., None], -1)[..., 0]
    share = 2 * np.abs(top) ** 2 / p / np.maximum((x**2).sum(-1), np.finfo(float).tiny)
    return k, np.angle(top), share


def fourier_solution(
    p: int, frequencies: Sequence[int], *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights ``(embed, w_a, w_b, w_out)`` of a quadratic :class:`~utils.grokking.ModularMLP` that computes
    ``logits(a, b)[c] = scale * (9/2) * sum_k cos(2 pi k (a + b - c) / p)`` exactly.

    ``embed[n] = (cos w_1 n, sin w_1 n, cos w_2 n, ...)`` (``embed_dim = 2 K``). Each frequency gets
    9 neurons, one per phase pair ``(phi_1, phi_2)`` in ``{0, 2pi/3, 4pi/3}^2``: pre-activation
    ``cos(w a + phi_1) + cos(w b + phi_2)`` and read-out ``scale * cos(w c + phi_1 + phi_2)``.
    """
    p = _check_p(p)
    scale = check_real("scale", scale)
    freqs = np.asarray(check_int_sequence("frequencies", frequencies))
    folded = np.minimum(freqs % p, (-freqs) % p)
    if np.any(folded == 0) or np.unique(folded).size != folded.size:
        raise ValueError(
            f"frequencies must be distinct and non-zero mod p (k and p - k count as one), got {freqs.tolist()}"
        )
    n = np.arange(p)
    phases = 2 * np.pi * np.arange(PHASES_PER_OPERAND) / PHASES_PER_OPERAND
    phi1, phi2 = (g.ravel() for g in np.meshgrid(phases, phases, indexing="ij"))
    per = phi1.size
    K = folded.size
    embed = np.zeros((p, 2 * K))
    w_a = np.zeros((2 * K, per * K))
    w_b = np.zeros((2 * K, per * K))
    w_out = np.zeros((per * K, p))
    for i, k in enumerate(folded):
        w = 2 * np.pi * k / p
        embed[:, 2 * i], embed[:, 2 * i + 1] = np.cos(w * n), np.sin(w * n)
        cols = slice(per * i, per * (i + 1))
        # cos(w a + phi) = cos(phi) cos(w a) - sin(phi) sin(w a)
        w_a[2 * i, cols], w_a[2 * i + 1, cols] = np.cos(phi1), -np.sin(phi1)
        w_b[2 * i, cols], w_b[2 * i + 1, cols] = np.cos(phi2), -np.sin(phi2)
        w_out[cols] = scale * np.cos(w * n[None, :] + (phi1 + phi2)[:, None])
    return embed, w_a, w_b, w_out


def _sum_frequency_basis(p: int, frequencies: Sequence[int]) -> np.ndarray:
    """Orthonormal functions ``cos(w (a + b))``, ``sin(w (a + b))`` on the ``p x p`` pairs, ``[2 K, p * p]`` (row ``a * p + b``)."""
    p = _check_p(p)
    freqs = np.asarray(check_int_sequence("frequencies", frequencies))
    if np.any(freqs % p == 0):
        raise ValueError(f"frequencies must be a non-empty list of non-zero frequencies, got {frequencies!r}")
    s = (np.arange(p)[:, None] + np.arange(p)[None, :]).ravel()
    rows = []
    for k in freqs:
        w = 2 * np.pi * k / p
        rows += [np.cos(w * s), np.sin(w * s)]
    basis = np.array(rows) / np.sqrt(p * p / 2)
    return basis


def _check_logits(logits: np.ndarray) -> np.ndarray:
    logits = check_array("logits", logits)
    if logits.ndim < 2 or logits.shape[-2] != logits.shape[-1] ** 2:
        raise ValueError(f"logits must be [..., p * p, p] (every pair, every answer), got shape {logits.shape}")
    return logits


def restricted_logits(logits: np.ndarray, frequencies: Sequence[int]) -> np.ndarray:
    """Keep only the part of ``logits [..., p*p, p]`` that, as a function of the pair, is a constant or
    ``cos/sin(w (a + b))`` at the key ``frequencies`` (Nanda et al. 2023's "restricted" logits)."""
    logits = _check_logits(logits)
    basis = _sum_frequency_basis(logits.shape[-1], frequencies)
    mean = logits.mean(-2, keepdims=True)
    return mean + basis.T @ (basis @ logits)


def excluded_logits(logits: np.ndarray, frequencies: Sequence[int]) -> np.ndarray:
    """Remove the ``cos/sin(w (a + b))`` parts at the key ``frequencies`` from ``logits [..., p*p, p]``
    (Nanda et al. 2023's "excluded" logits)."""
    logits = _check_logits(logits)
    basis = _sum_frequency_basis(logits.shape[-1], frequencies)
    return logits - basis.T @ (basis @ logits)


def cross_entropy(logits: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean cross-entropy (nats) of ``logits [..., n, c]`` against integer ``labels [..., n]``, over the rows where ``mask``.

    Labels in ``[0, c)`` are needed only in the rows that ``mask`` (booleans, broadcast to
    ``[..., n]``) selects.
    """
    logits = check_array("logits", logits)
    if logits.ndim < 2:
        raise ValueError(f"logits must be [..., n, c] (one row of c logits per example), got shape {logits.shape}")
    labels = as_rectangular("labels", labels, "an array of integer class labels")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must hold integer class labels, got dtype {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have shape {logits.shape[:-1]}, got {labels.shape}")
    if mask is None:
        mask = np.ones(labels.shape, dtype=bool)
    else:
        mask = as_rectangular("mask", mask, "an array of booleans")
        if mask.dtype.kind != "b":
            raise TypeError(f"mask must be an array of booleans (True where a row counts), got dtype {mask.dtype}")
        try:
            mask = np.broadcast_to(mask, labels.shape)
        except ValueError:
            raise ValueError(f"mask must broadcast to the rows {labels.shape}, got shape {mask.shape}") from None
    if not np.all(mask.any(-1)):
        raise ValueError("mask must select at least one row in each batch (a mean over no rows is undefined)")
    c = logits.shape[-1]
    used = labels[mask]
    if used.size and (used.min() < 0 or used.max() >= c):
        raise ValueError(f"labels must lie in [0, {c}) (the columns of logits), got {used.min()} to {used.max()}")
    top = logits.max(-1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]
    safe = np.where(mask, labels, 0)
    nll = log_z - np.take_along_axis(logits, safe[..., None], -1)[..., 0]
    return np.where(mask, nll, 0.0).sum(-1) / mask.sum(-1)
