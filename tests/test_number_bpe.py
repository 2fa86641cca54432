"""utils.number_bpe: the vectorised BPE learner against the textbook loop of Sennrich et al. (2016)."""

from __future__ import annotations

import numpy as np
import pytest

from utils.number_bpe import PAD, learn_number_bpe


def _textbook_bpe(numbers: list[int], num_merges: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Sennrich et al.'s loop on a word-frequency dictionary, with the module's tie-break (smallest token ids)."""
    tokens = [""] + [str(d) for d in range(10)]
    words: dict[tuple[str, ...], int] = {}
    for n in numbers:
        key = tuple(str(n))
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(num_merges):
        counts: dict[tuple[str, str], int] = {}
        for word, freq in words.items():
            for pair in zip(word[:-1], word[1:], strict=True):
                counts[pair] = counts.get(pair, 0) + freq
        if not counts:
            break
        best = max(counts.values())
        pair = min((p for p, c in counts.items() if c == best), key=lambda p: (tokens.index(p[0]), tokens.index(p[1])))
        merges.append(pair)
        if pair[0] + pair[1] not in tokens:
            tokens.append(pair[0] + pair[1])
        merged: dict[tuple[str, ...], int] = {}
        for word, freq in words.items():
            out = tuple(_merge(list(word), pair))
            merged[out] = merged.get(out, 0) + freq
        words = merged
    return tokens, merges


def _merge(word: list[str], pair: tuple[str, str]) -> list[str]:
    """Replace each occurrence of ``pair`` in ``word``, left to right, by the joined token."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _textbook_split(number: int, merges: list[tuple[str, str]]) -> list[str]:
    word = list(str(number))
    for pair in merges:
        word = _merge(word, pair)
    return word


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_merges_and_splits_match_the_textbook_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a skewed corpus (many small numbers, repeats), so the counts are far from uniform
    corpus = np.concatenate([rng.integers(0, 10**5, 300), rng.integers(0, 200, 200), [7, 7, 7, 1111, 0]])
    bpe = learn_number_bpe(corpus, 40)
    tokens, merges = _textbook_bpe(corpus.tolist(), 40)
    assert list(bpe.tokens) == tokens
    assert [(bpe.tokens[a], bpe.tokens[b]) for a, b in bpe.merges] == merges
    held_out = rng.integers(0, 10**6, 200).tolist() + [0, 10, 100, 1000, 99999, 111111]
    for n in held_out:
        assert bpe.split(n) == _textbook_split(n, merges), n


def test_hand_worked_corpus() -> None:
    # pairs in 1212, 12, 123: (1,2) x 4, (2,1) x 1, (2,3) x 1 -> "12" first; then (12,12) and (12,3)
    # once each: the tie goes to the smaller ids, (11, 4) = ("12", "3") before (11, 11)
    bpe = learn_number_bpe(np.array([1212, 12, 123]), 2)
    assert bpe.tokens[11:] == ("12", "123")
    assert bpe.split(1212) == ["12", "12"] and bpe.split(123) == ["123"] and bpe.split(312) == ["3", "12"]


def test_overlapping_pairs_merge_leftmost_first() -> None:
    bpe = learn_number_bpe(np.array([111, 111, 5]), 1)
    assert bpe.tokens[-1] == "11"
    assert bpe.split(111) == ["11", "1"] and bpe.split(1111) == ["11", "11"] and bpe.split(11111) == ["11", "11", "1"]


def test_encode_pads_on_the_left_and_decode_inverts_it() -> None:
    rng = np.random.default_rng(3)
    bpe = learn_number_bpe(rng.integers(0, 10**6, 2000), 60)
    values = np.concatenate([rng.integers(0, 10**7, 500), [0, 1, 10, 10**6]])
    ids = bpe.encode(values, 7)
    assert ids.shape == (len(values), 7)
    assert np.array_equal(bpe.decode(ids).astype(np.int64), values)
    # row by row: the tokens of split(), right-aligned, PAD before them
    for v, row in zip(values[:50], ids[:50], strict=True):
        parts = bpe.split(int(v))
        assert [bpe.tokens[t] for t in row[7 - len(parts) :]] == parts
        assert np.all(row[: 7 - len(parts)] == PAD)
    assert bpe.vocab_size == len(bpe.tokens) == 11 + 60
    # PAD anywhere is skipped when decoding, and an all-PAD row spells 0
    assert bpe.decode(np.array([[PAD, 2, PAD, 3], [PAD] * 4])).tolist() == [12, 0]


def test_bad_input_names_the_argument() -> None:
    bpe = learn_number_bpe(np.array([12, 34]), 1)
    with pytest.raises(ValueError, match="values must be non-negative"):
        learn_number_bpe(np.array([3, -1]), 2)
    with pytest.raises(TypeError, match="values must be a 1-D array of integers"):
        learn_number_bpe(np.array([1.5, 2.0]), 2)
    with pytest.raises(ValueError, match="num_merges must be >= 0"):
        learn_number_bpe(np.array([1, 2]), -1)
    with pytest.raises(ValueError, match="length must be >= 3"):
        bpe.encode(np.array([345]), 2)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 12\)"):
        bpe.decode(np.array([[12]]))
