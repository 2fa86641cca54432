"""utils.fourier (chapter 6): spectra against explicit DFT sums, the analytic solution against its closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.fourier import (
    _sum_frequency_basis,
    cross_entropy,
    dominant_frequency,
    embedding_power,
    energy_fraction,
    excluded_logits,
    fourier_solution,
    frequency_power,
    key_frequencies,
    restricted_logits,
)
from utils.grokking import ModularMLP


def _dft(x: np.ndarray) -> np.ndarray:
    """X[k] = sum_n x[n] exp(-2 pi i k n / p), by the definition (no FFT)."""
    p = len(x)
    n = np.arange(p)
    return np.array([np.sum(x * np.exp(-2j * np.pi * k * n / p)) for k in range(p)])


def test_frequency_power_is_the_dft_folded_and_obeys_parseval() -> None:
    rng = np.random.default_rng(0)
    p = 13
    x = rng.normal(size=p)
    X = _dft(x)
    want = np.array([abs(X[0]) ** 2 / p] + [(abs(X[k]) ** 2 + abs(X[p - k]) ** 2) / p for k in range(1, (p + 1) // 2)])
    np.testing.assert_allclose(frequency_power(x), want, rtol=1e-10)
    np.testing.assert_allclose(frequency_power(x).sum(), (x**2).sum(), rtol=1e-12)
    # along another axis, and summed over features by embedding_power
    e = rng.normal(size=(2, p, 4))
    np.testing.assert_allclose(frequency_power(e, axis=1)[1, :, 2], frequency_power(e[1, :, 2]))
    np.testing.assert_allclose(embedding_power(e).sum(-1), (e**2).sum((1, 2)), rtol=1e-12)


def test_a_pure_wave_has_all_its_energy_at_its_frequency() -> None:
    p, k, amp, phase = 17, 5, 2.0, 0.7
    n = np.arange(p)
    x = amp * np.cos(2 * np.pi * k * n / p + phase)
    power = frequency_power(x)
    assert power[k] == pytest.approx(amp**2 * p / 2)  # sum_n cos^2 = p / 2
    assert np.delete(power, k).max() < 1e-20
    kk, ph, share = dominant_frequency(np.stack([x, -x], axis=1), axis=0)
    assert kk.tolist() == [k, k]
    np.testing.assert_allclose(ph, [phase, phase - np.pi], atol=1e-12)
    np.testing.assert_allclose(share, 1.0)
    # frequency p - k is the same real wave
    y = np.cos(2 * np.pi * (p - k) * n / p)
    assert dominant_frequency(y)[0] == k


def test_key_frequencies_and_energy_fraction() -> None:
    power = np.array([9.0, 1.0, 5.0, 0.5, 3.0, 0.5])
    assert key_frequencies(power, 2).tolist() == [2, 4]  # k = 0 (the constant) never counts
    assert energy_fraction(power, [2, 4]) == pytest.approx(8.0 / 10.0)
    np.testing.assert_allclose(energy_fraction(np.stack([power, power]), [1]), [0.1, 0.1])
    with pytest.raises(ValueError, match=r"^num_keys must be <= 5"):
        key_frequencies(power, 6)
    with pytest.raises(ValueError, match=r"^freqs must be non-zero"):
        energy_fraction(power, [0, 2])


@pytest.mark.parametrize("freqs", [[1], [4], [2, 9, 11], list(range(1, 16))])
def test_hand_built_fourier_solution_scores_100_percent_and_is_the_closed_form(freqs: list[int]) -> None:
    p = 31
    model = ModularMLP.from_weights(*fourier_solution(p, freqs))
    with torch.no_grad():
        logits = model.all_logits()[0].double().numpy()
    a, b = np.divmod(np.arange(p * p), p)
    c = np.arange(p)
    closed = 4.5 * sum(np.cos(2 * np.pi * k * ((a + b)[:, None] - c[None, :]) / p) for k in freqs)
    np.testing.assert_allclose(logits, closed, atol=1e-4)
    assert np.array_equal(logits.argmax(-1), (a + b) % p)  # 100 % accuracy on all p^2 pairs


def test_fourier_solution_layout_and_bad_input() -> None:
    embed, w_a, w_b, w_out = fourier_solution(11, [3, 16])  # 16 = 5 mod 11
    assert embed.shape == (11, 4) and w_a.shape == w_b.shape == (4, 18) and w_out.shape == (18, 11)
    assert key_frequencies(embedding_power(embed), 2).tolist() == [3, 5]
    np.testing.assert_allclose(energy_fraction(embedding_power(embed), [3, 5]), 1.0)
    with pytest.raises(ValueError, match=r"^frequencies must be distinct and non-zero"):
        fourier_solution(11, [3, 19])  # 19 = 8 = -3 mod 11: the same real wave as 3
    with pytest.raises(ValueError, match=r"^frequencies must be distinct and non-zero"):
        fourier_solution(11, [0])
    with pytest.raises(ValueError, match=r"^frequencies must be distinct and non-zero"):
        fourier_solution(11, [2, 9])  # 9 = -2 mod 11: the same real wave
    with pytest.raises(ValueError, match=r"^p must be odd"):
        fourier_solution(12, [1])


def test_sum_frequency_basis_is_orthonormal() -> None:
    basis = _sum_frequency_basis(13, [1, 4, 6])
    np.testing.assert_allclose(basis @ basis.T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(basis.sum(1), 0.0, atol=1e-10)  # orthogonal to the constant


def test_restricted_and_excluded_logits_split_the_logits() -> None:
    p = 13
    rng = np.random.default_rng(1)
    a, b = np.divmod(np.arange(p * p), p)
    key = 2 * np.pi * 3 / p * (a + b)
    circuit = np.cos(key)[:, None] * rng.normal(size=p) + np.sin(key)[:, None] * rng.normal(size=p)
    const = rng.normal(size=p)
    noise = rng.normal(size=(p, p, p))
    noise -= noise.mean(axis=(0, 1), keepdims=True)  # no constant part
    noise = noise.reshape(p * p, p)
    basis = _sum_frequency_basis(p, [3])
    noise -= basis.T @ (basis @ noise)  # nothing at the key frequency
    logits = const + circuit + noise
    np.testing.assert_allclose(restricted_logits(logits, [3]), const + circuit, atol=1e-10)
    np.testing.assert_allclose(excluded_logits(logits, [3]), const + noise, atol=1e-10)
    both = np.stack([logits, 2 * logits])  # a leading model axis
    np.testing.assert_allclose(restricted_logits(both, [3])[1], 2 * (const + circuit), atol=1e-10)
    with pytest.raises(ValueError, match=r"^logits must be \[\.\.\., p \* p, p\]"):
        restricted_logits(np.zeros((10, 3)), [1])


def test_cross_entropy_matches_torch() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(3, 20, 7)) * 1000  # exp would overflow: the max-shift must keep it finite
    labels = rng.integers(0, 7, size=(3, 20))
    mask = rng.random((3, 20)) < 0.5
    want = torch.nn.functional.cross_entropy(
        torch.tensor(logits).transpose(1, 2), torch.tensor(labels), reduction="none"
    )
    want = want.numpy()
    np.testing.assert_allclose(cross_entropy(logits, labels), want.mean(1), rtol=1e-10)
    np.testing.assert_allclose(cross_entropy(logits, labels, mask), (want * mask).sum(1) / mask.sum(1), rtol=1e-10)
    with pytest.raises(ValueError, match=r"^labels must have shape"):
        cross_entropy(logits, labels[:, :5])
