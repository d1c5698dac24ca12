"""The cap set game's dataset names: ``"n3"`` is the game in F_3^3, and so on (n = 1..9).

A cap set "dataset" is one dimension: the game has no instances beyond n. `parse_dataset` is
the one parser of these names (the suite and the RL evaluation both use it).
"""

from __future__ import annotations

from discoverygym.envs.capset.geometry import MAX_N, MIN_N

__all__ = ["DATASETS", "DEFAULT_DATASETS", "FULL_DATASETS", "dataset_name", "parse_dataset"]

DATASETS: tuple[str, ...] = tuple(f"n{n}" for n in range(MIN_N, MAX_N + 1))
DEFAULT_DATASETS: tuple[str, ...] = tuple(f"n{n}" for n in range(3, 9))  # n3 .. n8
FULL_DATASETS: tuple[str, ...] = (*DEFAULT_DATASETS, "n9")


def parse_dataset(name: str) -> int:
    """``"n8"`` -> 8; KeyError listing the known names for anything else."""
    if not isinstance(name, str) or name not in DATASETS:
        raise KeyError(f"unknown cap set dataset {name!r}; known: {', '.join(DATASETS)}")
    return int(name[1:])


def dataset_name(n: int) -> str:
    """8 -> ``"n8"``."""
    name = f"n{n}"
    parse_dataset(name)
    return name
