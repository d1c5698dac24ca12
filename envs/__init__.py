"""The games. Importing this package registers every environment id with Gymnasium.

`GAMES` is the one list of games: each game folder defines its `Game` in ``game.py`` (ids,
datasets, metric, checker; see `discoverygym.envs.game`) and every registry derives from here.

Gymnasium 1.x has no plugin auto-loading, so ids are registered here, on import. The module
prefix form works with no prior import::

    import gymnasium as gym
    env = gym.make("discoverygym.envs:discoverygym/OnlineBinPacking-v0")

Each game also has a native batched implementation (numpy over the batch), registered as the
vector entry point::

    envs = gym.make_vec("discoverygym/JobShop-v0", num_envs=512, vectorization_mode="vector_entry_point")

Every id follows one env contract (actions, options, errors, the final ``info["metric"]``,
memory limits), written in `discoverygym.envs.contract` and checked for every registered
``discoverygym/`` id by ``tests/envs/test_contract.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from discoverygym.envs.game import Game

__all__ = ["ENV_SPECS", "GAMES", "EnvSpecSummary", "Game", "get_game", "register_envs"]


@dataclass(frozen=True)
class EnvSpecSummary:
    """What `discoverygym envs` prints for one registered id."""

    id: str
    entry_point: str
    description: str
    vector_entry_point: str | None = None


def _games() -> tuple[Game, ...]:
    from discoverygym.envs.binpacking.game import GAME as BINPACKING
    from discoverygym.envs.capset.game import GAME as CAPSET
    from discoverygym.envs.jobshop.game import GAME as JOBSHOP
    from discoverygym.envs.tensor.game import GAME as TENSOR

    return (BINPACKING, JOBSHOP, TENSOR, CAPSET)


# The one list of games (`discoverygym.envs.game.Game`); every registry is derived from it.
GAMES: tuple[Game, ...] = _games()

ENV_SPECS: tuple[EnvSpecSummary, ...] = tuple(
    EnvSpecSummary(id=game.env_id, entry_point=game.entry_point, description=game.description,
                   vector_entry_point=game.vector_entry_point)
    for game in GAMES
)


def get_game(name: str) -> Game:
    """The game called `name` or registered as env id `name` (KeyError listing the known)."""
    for game in GAMES:
        if name in (game.name, game.env_id):
            return game
    raise KeyError(f"unknown game {name!r}; known: {', '.join(game.name for game in GAMES)}")


def register_envs() -> None:
    """Register every id in `ENV_SPECS` (idempotent)."""
    for spec in ENV_SPECS:
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
        )


register_envs()
