"""utils.metrics against hand-worked cases."""

import numpy as np
import pytest
import torch

from utils.metrics import edit_distances, exact_match, per_token_accuracy, token_edit_distance


def test_hand_worked_example() -> None:
    target = [[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 0, 1]]
    pred = [[1, 2, 3, 4], [5, 6, 0, 8], [9, 9, 0, 1]]
    assert exact_match(pred, target) == pytest.approx(1 / 3)
    assert per_token_accuracy(pred, target) == pytest.approx(9 / 12)
    assert list(edit_distances(pred, target)) == [0, 1, 2]
    assert token_edit_distance(pred, target) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "a, b, d",
    [
        ("kitten", "sitting", None),  # different lengths are not allowed, see below
        ("12345", "23451", 2),  # one deletion + one insertion (a shift)
        ("00000", "00000", 0),
        ("12345", "54321", 4),
        ("flaw", "lawn", 2),
    ],
)
def test_levenshtein_classics(a: str, b: str, d: int | None) -> None:
    if d is None:
        with pytest.raises(ValueError, match=r"^pred and target must have the same shape"):
            edit_distances([list(a)], [list(b)])
        return
    assert edit_distances([[ord(c) for c in a]], [[ord(c) for c in b]])[0] == d


def test_edit_distance_matches_reference_dp() -> None:
    def ref(s: list[int], t: list[int]) -> int:
        dp = list(range(len(t) + 1))
        for i, si in enumerate(s, 1):
            prev, dp[0] = dp[0], i
            for j, tj in enumerate(t, 1):
                prev, dp[j] = dp[j], min(dp[j] + 1, dp[j - 1] + 1, prev + (si != tj))
        return dp[-1]

    rng = np.random.default_rng(0)
    p, t = rng.integers(0, 3, (200, 7)), rng.integers(0, 3, (200, 7))
    assert list(edit_distances(p, t)) == [ref(list(a), list(b)) for a, b in zip(p, t, strict=True)]


def test_accepts_tensors() -> None:
    t = torch.tensor([[1, 2], [3, 4]])
    assert exact_match(t, t) == 1.0


def test_edit_distance_at_most_hamming() -> None:
    rng = np.random.default_rng(1)
    p, t = rng.integers(0, 10, (500, 6)), rng.integers(0, 10, (500, 6))
    assert np.all(edit_distances(p, t) <= np.sum(p != t, axis=1))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^pred must be 2-D \[n, length\]"):
        exact_match([1, 2, 3], [[1, 2, 3]])
    with pytest.raises(ValueError, match=r"^target must be 2-D \[n, length\]"):
        exact_match([[1, 2, 3]], [1, 2, 3])
    with pytest.raises(ValueError, match=r"^pred and target must have the same shape"):
        per_token_accuracy([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match=r"^pred and target must contain at least one example"):
        exact_match(np.zeros((0, 3)), np.zeros((0, 3)))
