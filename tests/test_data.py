"""utils.data: the addition task's encodings are exact and seeded."""

import numpy as np
import pytest

from utils.data import addition_split, decode_numbers, encode_numbers, num_tokens, tokens_to_digits


def test_encode_by_hand() -> None:
    assert encode_numbers(np.array([7, 123]), 3).tolist() == [[0, 0, 7], [1, 2, 3]]
    # chunks of 2 digits, left-padded: 12345 -> 01|23|45
    assert encode_numbers(np.array([12345]), 5, chunk=2).tolist() == [[1, 23, 45]]
    assert num_tokens(5, 2) == 3 and num_tokens(6, 3) == 2


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_targets_are_the_sums(chunk: int) -> None:
    train, test = addition_split(500, 100, 4, chunk=chunk, seed=3)
    for split in (train, test):
        assert np.array_equal(decode_numbers(split.y, chunk), split.a + split.b)
        assert np.array_equal(decode_numbers(split.x[:, : split.x.shape[1] // 2], chunk), split.a)
        assert int(split.x.max()) < split.vocab_size
        digits = tokens_to_digits(split.y, chunk, 5)
        assert np.array_equal(decode_numbers(digits, 1), split.a + split.b)


def test_same_problems_for_every_tokenisation_and_disjoint_splits() -> None:
    tr1, te1 = addition_split(300, 200, 3, chunk=1, seed=0)
    tr3, te3 = addition_split(300, 200, 3, chunk=3, seed=0)
    assert np.array_equal(tr1.a, tr3.a) and np.array_equal(te1.b, te3.b)
    train_codes = set((tr1.a * 1000 + tr1.b).tolist())
    test_codes = set((te1.a * 1000 + te1.b).tolist())
    assert not train_codes & test_codes
    assert len(train_codes) == 300


def test_seeded() -> None:
    a, _ = addition_split(50, 10, 5, seed=1)
    b, _ = addition_split(50, 10, 5, seed=1)
    c, _ = addition_split(50, 10, 5, seed=2)
    assert np.array_equal(a.a, b.a) and not np.array_equal(a.a, c.a)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        addition_split(90, 20, 1)
    with pytest.raises(TypeError, match="num_digits"):
        addition_split(10, 10, 2.5)
    with pytest.raises(ValueError, match="chunk"):
        addition_split(10, 10, 2, chunk=0)
    with pytest.raises(ValueError, match="values must lie"):
        encode_numbers(np.array([1000]), 3)
