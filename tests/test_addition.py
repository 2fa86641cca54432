"""utils.addition: the addition task's encodings are exact and seeded."""

import numpy as np
import pytest
import torch

from utils.addition import addition_split, decode_numbers, encode_numbers


def test_encode_by_hand() -> None:
    assert encode_numbers(np.array([7, 123]), 3).tolist() == [[0, 0, 7], [1, 2, 3]]
    # chunks of 2 digits, left-padded: 12345 -> 01|23|45
    assert encode_numbers(np.array([12345]), 5, chunk=2).tolist() == [[1, 23, 45]]
    assert encode_numbers(np.array([0]), 5, chunk=2).shape == (1, 3)  # ceil(5 / 2) tokens
    assert encode_numbers(np.array([0]), 6, chunk=3).shape == (1, 2)


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_targets_are_the_sums(chunk: int) -> None:
    train, test = addition_split(500, 100, 4, chunk=chunk, seed=3)
    for split in (train, test):
        assert np.array_equal(decode_numbers(split.y, chunk), split.a + split.b)
        assert np.array_equal(decode_numbers(split.x[:, : split.x.shape[1] // 2], chunk), split.a)
        assert int(split.x.max()) < split.vocab_size
        digits = encode_numbers(decode_numbers(split.y, chunk), 5)  # re-tokenised digit by digit
        assert np.array_equal(decode_numbers(digits, 1), split.a + split.b)


def test_same_problems_for_every_tokenisation_and_disjoint_splits() -> None:
    tr1, te1 = addition_split(300, 200, 3, chunk=1, seed=0)
    tr3, te3 = addition_split(300, 200, 3, chunk=3, seed=0)
    assert np.array_equal(tr1.a, tr3.a) and np.array_equal(te1.b, te3.b)
    train_codes = set((tr1.a * 1000 + tr1.b).tolist())
    test_codes = set((te1.a * 1000 + te1.b).tolist())
    assert not train_codes & test_codes
    assert len(train_codes) == 300


def test_dense_request_uses_every_problem_once() -> None:
    # 1-digit numbers: 100 problems; asking for more than a quarter of them takes the
    # permutation branch. Asking for all 100 must return each problem exactly once.
    train, test = addition_split(70, 30, 1, seed=4)
    codes = np.concatenate([train.a * 10 + train.b, test.a * 10 + test.b])
    assert sorted(codes.tolist()) == list(range(100))
    tr, te = addition_split(30, 10, 1, seed=4)  # 40 > 100 // 4: permutation branch, disjoint
    assert not set((tr.a * 10 + tr.b).tolist()) & set((te.a * 10 + te.b).tolist())
    assert len(set((tr.a * 10 + tr.b).tolist())) == 30


def test_seeded() -> None:
    a, _ = addition_split(50, 10, 5, seed=1)
    b, _ = addition_split(50, 10, 5, seed=1)
    c, _ = addition_split(50, 10, 5, seed=2)
    assert np.array_equal(a.a, b.a) and not np.array_equal(a.a, c.a)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: addition_split(90, 20, 1),
            ValueError,
            r"^num_train \+ num_test = 110 exceeds the 100 distinct problems",
        ),
        (lambda: addition_split(10, 10, 2.5), TypeError, r"^num_digits must be an integer"),
        (lambda: addition_split(0, 10, 2), ValueError, r"^num_train must be >= 1"),
        (lambda: addition_split(10, 10, 2, chunk=0), ValueError, r"^chunk must be >= 1"),
        (lambda: addition_split(10, 10, 10), ValueError, r"^num_digits must be <= 9"),
        (lambda: addition_split(10, 10, 2, seed=-1), ValueError, r"^seed must be >= 0"),
        (lambda: encode_numbers(np.array([1000]), 3), ValueError, r"^values must lie in \[0, 10\*\*num_digits\)"),
        (lambda: encode_numbers(np.array([-1]), 3), ValueError, r"^values must lie in"),
        (lambda: encode_numbers([1.7], 2), ValueError, r"^values must be whole numbers, got \[1.7\]"),
        (lambda: encode_numbers(["12"], 2), TypeError, r"^values must be a real number"),
        (lambda: encode_numbers([[1, 2]], 2), ValueError, r"^values must be a 1-D sequence"),
        (lambda: decode_numbers([1, 2]), ValueError, r"^tokens must be 2-D \[n, length\]"),
        (lambda: decode_numbers([[1, 12]], chunk=1), ValueError, r"^tokens must lie in \[0, 10\*\*chunk\)"),
        (lambda: encode_numbers(np.array([1]), 0), ValueError, r"^num_digits must be >= 1"),
    ],
)
def test_bad_input(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_whole_floats_and_tensors_are_accepted() -> None:
    assert encode_numbers([7.0, 12.0], 2).tolist() == [[0, 7], [1, 2]]
    assert decode_numbers(torch.tensor([[1, 23, 45]]), chunk=2).tolist() == [12345]
