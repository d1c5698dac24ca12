"""The one list of games: every registry derives from `discoverygym.envs.GAMES`."""

from __future__ import annotations

import importlib

import gymnasium as gym
import pytest

from discoverygym.envs import ENV_SPECS, GAMES, get_game

NAMES = [game.name for game in GAMES]


def test_names_and_ids_are_unique_and_registered():
    assert len(set(NAMES)) == len(NAMES) == len({game.env_id for game in GAMES})
    registered = {spec.id for spec in gym.registry.values() if spec.id.startswith("discoverygym/")}
    assert registered == {game.env_id for game in GAMES} == {spec.id for spec in ENV_SPECS}
    for game in GAMES:
        spec = gym.spec(game.env_id)
        assert spec.entry_point == game.entry_point
        assert spec.vector_entry_point == game.vector_entry_point


@pytest.mark.parametrize("game", GAMES, ids=NAMES)
def test_each_definition_resolves(game):
    assert game.default_datasets and game.full_datasets
    assert callable(game.load("resolve")) and callable(game.load("verify"))
    assert callable(game.load("entry_point"))
    game.load("resolve")(game.default_datasets[0])  # the default sets load
    with pytest.raises(KeyError):
        game.load("resolve")("no-such-dataset")
    assert get_game(game.name) is game and get_game(game.env_id) is game


def test_every_family_derives_its_registry_from_the_list():
    from discoverygym.agents.evolution.games import GAMES as EVOLUTION_SPECS
    from discoverygym.agents.rl.envs import GAMES_BY_ENV
    from discoverygym.agents.rl.games import ADAPTERS
    from discoverygym.envs.vector_sb3 import VECTOR_ENTRY_POINTS
    from discoverygym.experiments.bench import BENCHMARKS
    from discoverygym.experiments.suites import GAMES as SUITES
    from discoverygym.experiments.suites import get_suite

    assert list(SUITES) == NAMES
    assert GAMES_BY_ENV == {game.env_id: game.name for game in GAMES}
    assert set(VECTOR_ENTRY_POINTS) == {g.env_id for g in GAMES if g.vector_entry_point}
    assert set(NAMES) <= set(BENCHMARKS)
    # The per-family modules are keyed by the game's name, and only by known games.
    assert set(EVOLUTION_SPECS) <= set(NAMES) and set(ADAPTERS) <= set(NAMES)
    for game in GAMES:
        suite = get_suite(game.name)
        assert suite.env_id == game.env_id
        assert tuple(suite.datasets()) == game.default_datasets
        assert tuple(suite.datasets(full=True)) == game.full_datasets
        importlib.import_module(f"discoverygym.experiments.bench.{game.name}")


def test_unknown_game_lists_the_known():
    with pytest.raises(KeyError, match="binpacking"):
        get_game("chess")
