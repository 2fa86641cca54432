"""utils.slt: exact learning coefficients vs hand-worked and published cases."""

import itertools

import pytest

from utils.slt import (
    learning_coefficient_dln,
    learning_coefficient_normal_crossing,
    learning_coefficient_rrr,
)


@pytest.mark.parametrize("m,n", [(1, 1), (3, 2), (4, 5), (7, 3)])
@pytest.mark.parametrize("full_rank", [True, False])
def test_one_layer_is_regular(m, n, full_rank):
    # One linear layer is a regular model: lambda = d / 2 = m n / 2 whatever the true rank.
    r = min(m, n) if full_rank else 0
    assert learning_coefficient_dln([m, n], r) == m * n / 2


def test_two_layer_dln_equals_rrr_everywhere():
    for m, h, n in itertools.product(range(1, 7), repeat=3):
        for r in range(min(m, h, n) + 1):
            assert learning_coefficient_dln([m, h, n], r) == pytest.approx(learning_coefficient_rrr(m, h, n, r))


def test_rrr_hand_worked_cases():
    # Case 1 (M+H+N+r even): (2(H+r)(M+N) - (M-N)^2 - (H+r)^2) / 8.
    assert learning_coefficient_rrr(3, 3, 3, 1) == (2 * 4 * 6 - 0 - 16) / 8  # = 4
    assert learning_coefficient_rrr(2, 2, 2, 0) == 1.5
    # Case 1, odd: the same plus 1/8.
    assert learning_coefficient_rrr(2, 1, 2, 0) == (2 * 1 * 4 - 0 - 1 + 1) / 8  # = 1
    # Case 2 (M + H < N + r): (HM - Hr + Nr) / 2; y = b a x with 1-d input: lambda = 1/2.
    assert learning_coefficient_rrr(1, 1, 5, 0) == 0.5
    # Case 3 (N + H < M + r): (HN - Hr + Mr) / 2.
    assert learning_coefficient_rrr(6, 1, 1, 1) == (1 - 1 + 6) / 2
    # Case 4 (M + N < H + r): the regular count M N / 2 of the product matrix.
    assert learning_coefficient_rrr(1, 5, 1, 1) == 0.5
    # Full rank with H = min(M, N): the product is a generic M x N matrix of rank H ... regular
    # dimension of rank-H matrices: H (M + N - H) / 2.
    assert learning_coefficient_rrr(4, 2, 3, 2) == 2 * (4 + 3 - 2) / 2


def test_dln_depth_examples():
    # Rank-r truth with all widths equal to r: every layer invertible, regular count r^2 per layer... the
    # product manifold has dimension r^2, so lambda = r (H_1 + H_out) / 2 - r^2 / 2 = r^2 / 2.
    assert learning_coefficient_dln([3, 3, 3, 3], 3) == 4.5
    # Deep zero truth, 1-d in/out: K = (prod w)^2 -> lambda = 1/2 for any depth.
    assert learning_coefficient_dln([1, 1, 1, 1, 1], 0) == 0.5
    # Lambda is positive and at most half the parameter count (the regular bound).
    for widths in ([5, 4, 3, 6], [2, 7, 7, 2], [3, 3, 3, 3, 3]):
        d = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        for r in range(min(widths) + 1):
            assert 0 < learning_coefficient_dln(widths, r) <= d / 2


def test_normal_crossing():
    assert learning_coefficient_normal_crossing([1, 1]) == 0.5
    assert learning_coefficient_normal_crossing([3]) == pytest.approx(1 / 6)
    assert learning_coefficient_normal_crossing([1, 2, 0]) == 0.25


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: learning_coefficient_dln([3, 2, 3], 3), ValueError, r"^rank must be <= min\(widths\) = 2"),
        (lambda: learning_coefficient_dln([3], 1), ValueError, r"^widths must hold at least 2 integers"),
        (lambda: learning_coefficient_dln([3, 2.5], 1), TypeError, r"^widths\[1\] must be an integer"),
        (lambda: learning_coefficient_dln(5, 1), TypeError, r"^widths must be a sequence of integers"),
        (lambda: learning_coefficient_dln([3, 0], 0), ValueError, r"^widths\[1\] must be >= 1"),
        (lambda: learning_coefficient_dln([3, 3], -1), ValueError, r"^rank must be >= 0"),
        (lambda: learning_coefficient_rrr(2, 2, 2, 3), ValueError, r"^r must be <= min\(m, h, n\)"),
        (lambda: learning_coefficient_rrr(0, 2, 2, 0), ValueError, r"^m must be >= 1"),
        (
            lambda: learning_coefficient_normal_crossing([0, 0]),
            ValueError,
            r"^powers must contain at least one positive",
        ),
        (lambda: learning_coefficient_normal_crossing(2), TypeError, r"^powers must be a sequence of integers"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
