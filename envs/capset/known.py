"""Shipped cap sets: FunSearch's 512-vector set in F_3^8 (``data/funsearch_n8_size512.txt``).

The file format is FunSearch's: one vector per line in Python list syntax, ``[1, 1, 2, ...]``.
`parse_vectors` reads it without executing anything (a regular expression per line) and names
the file and line of any fault; files over `MAX_FILE_BYTES` are refused before reading.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from discoverygym.envs.capset.geometry import check_n

__all__ = [
    "DATA_DIR",
    "KNOWN_FILES",
    "MAX_FILE_BYTES",
    "VectorFormatError",
    "known_cap_set",
    "load_vectors",
    "parse_vectors",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
KNOWN_FILES: dict[int, str] = {8: "funsearch_n8_size512.txt"}
MAX_FILE_BYTES = 1 << 20
_LINE = re.compile(r"\s*\[\s*([0-9]+(?:\s*,\s*[0-9]+)*)?\s*,?\s*\]\s*")


class VectorFormatError(ValueError):
    """A vector file that does not parse; the message names the file and line."""


def parse_vectors(text: str, n: int, source: str = "<text>") -> np.ndarray:
    """The vectors of `text` (one ``[d, d, ...]`` per line, blank lines skipped) as an int8
    array of shape (k, n); `VectorFormatError` naming `source` and the line otherwise.

    Only the format is checked here (n entries, each 0, 1 or 2), not the cap set property:
    that is `checker.verify`'s job."""
    n = check_n(n)
    rows: list[list[int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise VectorFormatError(
                f"{source}, line {number}: {line[:60]!r} is not a vector like [0, 1, 2]"
            )
        tokens = re.split(r"\s*,\s*", match.group(1)) if match.group(1) else []
        if len(tokens) != n:
            raise VectorFormatError(
                f"{source}, line {number}: {len(tokens)} entries; expected n = {n}"
            )
        bad = [x for x in tokens if x not in ("0", "1", "2")]
        if bad:
            shown = bad[0] if len(bad[0]) <= 30 else bad[0][:30] + "..."
            raise VectorFormatError(f"{source}, line {number}: entry {shown} is not 0, 1 or 2")
        rows.append([int(x) for x in tokens])
    return np.array(rows, dtype=np.int8).reshape(len(rows), n)


def load_vectors(path: str | Path, n: int) -> np.ndarray:
    """`parse_vectors` of a file (refused above `MAX_FILE_BYTES`)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise VectorFormatError(f"{path}: {size} bytes is over the limit of {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise VectorFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse_vectors(text, n, source=str(path))


def known_cap_set(n: int) -> np.ndarray | None:
    """The largest shipped cap set of F_3^n (int8, shape (k, n)), or None if none is shipped."""
    name = KNOWN_FILES.get(check_n(n))
    return None if name is None else load_vectors(DATA_DIR / name, n)
