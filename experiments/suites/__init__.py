"""One evaluation suite per game: which datasets, which agents, and how to score them.

`compare` and `evaluate` are loops over suites; a game joins them by adding a module here
that defines ``SUITE`` (an instance of `Suite`) and listing it in `GAMES`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path

from discoverygym.experiments.records import Record

GAMES: tuple[str, ...] = ("binpacking", "jobshop", "tensor")


class Suite(ABC):
    """How one game is evaluated."""

    game: str
    env_id: str

    @abstractmethod
    def datasets(self, full: bool = False) -> list[str]:
        """Dataset names `compare` runs: a documented default subset, or every set."""

    @abstractmethod
    def agent_names(self) -> list[str]:
        """Names of the agents this suite can build (heuristics, the limit, shipped agents)."""

    @abstractmethod
    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        """Score `agent` on `dataset`; raise `KeyError` with the known names if either is unknown."""

    def figures(self, records: list[Record], out_dir: Path) -> list[Path]:
        """Game-specific figures for the report (a Gantt chart, a fill profile); none by default."""
        return []


def get_suite(game: str) -> Suite:
    """The suite of `game` (one of `GAMES`)."""
    if game not in GAMES:
        raise KeyError(f"unknown game {game!r}; known games: {', '.join(GAMES)}")
    module = importlib.import_module(f"discoverygym.experiments.suites.{game}")
    return module.SUITE


def available_suites() -> list[Suite]:
    """Every game's suite whose module imports (a game may not have landed yet)."""
    suites = []
    for game in GAMES:
        try:
            suites.append(get_suite(game))
        except ModuleNotFoundError as error:
            if error.name != f"discoverygym.experiments.suites.{game}":
                raise
    return suites
