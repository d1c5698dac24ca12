"""Shipped data and the bounds table: FunSearch's set parses; bad files name file and line."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from discoverygym.envs.capset.bounds import BOUNDS, best_known, bound, gap_pct
from discoverygym.envs.capset.known import (
    DATA_DIR,
    MAX_FILE_BYTES,
    VectorFormatError,
    known_cap_set,
    load_vectors,
    parse_vectors,
)


def test_funsearch_file_is_the_vendored_bytes() -> None:
    data = (DATA_DIR / "funsearch_n8_size512.txt").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "8d6df45c3039b6a7ee1aae7216b100c3f4c075179dc6471f4f51b968a26d8905"
    )  # the sha256 stated in data/PROVENANCE.md
    vectors = known_cap_set(8)
    assert vectors.shape == (512, 8) and vectors.dtype == np.int8
    assert len({tuple(v) for v in vectors.tolist()}) == 512
    assert vectors[0].tolist() == [1] * 8


def test_only_n8_is_shipped() -> None:
    assert all(known_cap_set(n) is None for n in (1, 2, 3, 4, 5, 6, 7, 9))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[0, 1]\n[0, 1, 2]\n", "line 2: 3 entries; expected n = 2"),
        ("[0, 1]\n\n[0, 3]\n", "line 3: entry 3 is not 0, 1 or 2"),
        ("[0, -1]\n", "line 1: '\\[0, -1\\]' is not a vector"),
        ("(0, 1)\n", "line 1"),
        ("[0 1]\n", "line 1"),
        ("[0, 1]; import os\n", "line 1"),
        ("__import__('os')\n", "line 1"),
        ("[]\n", "line 1: 0 entries"),
        ("[0, 99999999999999999999999]\n", "line 1: entry 99999999999999999999999 is not 0, 1 or 2"),
        ("[0, " + "9" * 5000 + "]\n", "line 1: entry 9{30}\\.\\.\\. is not 0, 1 or 2"),
        ("[0, 01]\n", "line 1: entry 01 is not"),
    ],
)
def test_bad_lines_are_named(text, message) -> None:
    with pytest.raises(VectorFormatError, match=f"my.txt, {message}"):
        parse_vectors(text, 2, source="my.txt")


def test_good_text_variants() -> None:
    assert parse_vectors(" [0,1]\n\n[2 , 2 ,]\n", 2).tolist() == [[0, 1], [2, 2]]
    assert parse_vectors("", 3).shape == (0, 3)


def test_files_too_large_or_not_text_are_refused(tmp_path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"[0, 1]\n" * (MAX_FILE_BYTES // 7 + 1))
    with pytest.raises(VectorFormatError, match=f"big.txt: .* over the limit of {MAX_FILE_BYTES}"):
        load_vectors(big, 2)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"[0, 1]\n\xff\xfe\n")
    with pytest.raises(VectorFormatError, match="bin.txt: not UTF-8"):
        load_vectors(binary, 2)


def test_bounds_table() -> None:
    sizes = {n: best_known(n) for n in range(1, 10)}
    assert sizes == {1: 2, 2: 4, 3: 9, 4: 20, 5: 45, 6: 112, 7: 236, 8: 512, 9: 1082}
    assert [n for n, b in BOUNDS.items() if b.optimal] == [1, 2, 3, 4, 5, 6]
    assert bound(8).source.startswith("FunSearch")
    assert gap_pct(256, 8) == 50.0 and gap_pct(512, 8) == 0.0 and gap_pct(0, 3) == 100.0


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (10, ValueError), (2.5, TypeError), (True, TypeError), ("8", TypeError)])
def test_bad_n_is_named(n, error) -> None:
    with pytest.raises(error, match=f"n must be an integer from 1 to 9, got {n!r}"):
        best_known(n)
