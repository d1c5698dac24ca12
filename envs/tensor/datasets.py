"""The tensor game's dataset names: ``"NxMxP"`` (standard arithmetic) or ``"NxMxP-mod2"`` (GF(2)).

`parse_dataset` is the one parser of these names (the suite and the RL evaluation both use it).
"""

from __future__ import annotations

from discoverygym.envs.tensor.known import parse_size

__all__ = ["DEFAULT_DATASETS", "FULL_DATASETS", "parse_dataset"]

DEFAULT_DATASETS: list[str] = ["2x2x2", "2x2x3"]
FULL_DATASETS: list[str] = DEFAULT_DATASETS + [
    "2x2x4",
    "2x3x3",
    "2x3x4",
    "3x3x3",
    "2x2x3-mod2",
    "2x3x3-mod2",
    "3x3x3-mod2",
]


def parse_dataset(name: str) -> tuple[int, int, int, str]:
    """ "2x2x3" -> (2, 2, 3, "standard"); "2x2x3-mod2" -> (2, 2, 3, "mod2")."""
    if not isinstance(name, str):
        raise TypeError(f"a tensor dataset name is a string, got {name!r}")
    size, _, suffix = name.partition("-")
    hint = f"use 'NxMxP' or 'NxMxP-mod2', e.g. {', '.join(FULL_DATASETS)}"
    if suffix not in ("", "mod2"):
        raise KeyError(f"unknown tensor dataset {name!r}; {hint}")
    try:
        n, m, p = parse_size(size)
    except ValueError:
        raise KeyError(f"unknown tensor dataset {name!r}; {hint}") from None
    return n, m, p, "mod2" if suffix else "standard"
