"""One evaluation suite per game: which datasets, which agents, and how to score them.

`compare` and `evaluate` are loops over suites; every game of `discoverygym.envs.GAMES` has a
module here, named after it, that defines ``SUITE`` (an instance of `Suite`). A suite takes its
env id and dataset lists from the game's one definition (`Suite.definition`).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path

from discoverygym.agents.records import Record
from discoverygym.agents.shipped import models_dir
from discoverygym.envs import GAMES as _GAMES

# One suite module per game of `discoverygym.envs.GAMES`, named after the game.
GAMES: tuple[str, ...] = tuple(game.name for game in _GAMES)


class Suite(ABC):
    """How one game is evaluated."""

    game: str

    @property
    def definition(self):
        """The game's one definition (`discoverygym.envs.game.Game`)."""
        from discoverygym.envs import get_game

        return get_game(self.game)

    @property
    def env_id(self) -> str:
        return self.definition.env_id

    @property
    def default_datasets(self) -> tuple[str, ...]:
        return self.definition.default_datasets

    @property
    def full_datasets(self) -> tuple[str, ...]:
        return self.definition.full_datasets

    def datasets(self, full: bool = False) -> list[str]:
        """Dataset names `compare` runs: a documented default subset, or every set."""
        return list(self.full_datasets if full else self.default_datasets)

    @abstractmethod
    def agent_names(self) -> list[str]:
        """Names of the agents this suite can build (heuristics, the limit, shipped agents)."""

    @abstractmethod
    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        """Score `agent` on `dataset`; raise `KeyError` with the known names if either is unknown."""

    def figures(self, records: list[Record], out_dir: Path) -> list[Path]:
        """Game-specific figures for the report (a Gantt chart, a fill profile); none by default."""
        return []


def shipped_agents(game: str) -> dict[str, Path]:
    """The trained RL models and evolved programs shipped for `game`, by agent name.

    RL models are named by their zip's stem (``ppo_binpacking``); evolved programs
    ``evolved:<stem>``, the name `load_agent` gives them.
    """
    from discoverygym.agents.evolution.export import read_metadata
    from discoverygym.agents.rl.evaluate import shipped_models

    agents: dict[str, Path] = dict(shipped_models(game))
    for path in sorted(models_dir().glob("*.py")):
        if read_metadata(path).get("game") == game:
            agents[f"evolved:{path.stem}"] = path
    return agents


def split_samples(agent: str) -> tuple[str, int]:
    """``"ppo_jobshop@128"`` -> ``("ppo_jobshop", 128)``: an RL agent decoded by the best of 128
    sampled rollouts per instance; any other name -> ``(agent, 0)`` (greedy)."""
    base, sep, count = agent.rpartition("@")
    if sep and base and count.isdigit() and int(count) > 0:
        return base, int(count)
    return agent, 0


def evaluate_shipped_rl(game: str, agent: str, dataset: str) -> list[Record] | None:
    """The records of a shipped RL model or a model zip named `agent` (``<name>@K``: the best
    of K sampled rollouts per instance, see `split_samples`); None for other agents."""
    from discoverygym.agents.rl.evaluate import evaluate_model

    base, samples = split_samples(agent)
    path = shipped_agents(game).get(base) if not base.endswith(".zip") else Path(base)
    if path is None or path.suffix != ".zip":
        return None
    name = base if not base.endswith(".zip") else None
    return evaluate_model(path, dataset, name=name, samples=samples)


def evolved_path(game: str, agent: str) -> Path | None:
    """The program file of `agent` when it is an evolved program: a shipped ``evolved:<stem>``
    or a ``.py`` path; None for any other agent."""
    path = Path(agent) if agent.endswith(".py") else shipped_agents(game).get(agent)
    return path if path is not None and path.suffix == ".py" else None


def evolved_compute(path: Path) -> dict[str, float]:
    """The compute that produced an evolved program (LLM samples and seconds, ...), from its
    metadata line ({} when it has none)."""
    from discoverygym.agents.evolution.export import read_metadata

    return {k: float(v) for k, v in read_metadata(path).get("compute", {}).items()}


def evolved_player(game: str, agent: str):
    """The `Agent` of a shipped evolved program or a program file named `agent`; None otherwise.

    Its ``compute`` attribute holds the LLM samples and CPU seconds that produced it.
    """
    from discoverygym.agents.evolution.export import load_agent

    path = evolved_path(game, agent)
    if path is None:
        return None
    if not path.exists():
        raise KeyError(f"no evolved program at {path}")
    player = load_agent(path, game)
    player.compute = evolved_compute(path)
    return player


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
