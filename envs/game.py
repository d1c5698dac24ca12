"""`Game`: the one definition of a game that every layer reads.

Each game folder has a ``game.py`` defining ``GAME``; `discoverygym.envs.GAMES` lists them, and
every registry is derived from that list: the Gymnasium ids and vector entry points
(`envs/__init__.py`, `envs/vector_sb3.py`), the RL side's env-to-game map (`agents/rl/envs.py`),
the evaluation suites (`experiments/suites`) and the benchmarks (`experiments/bench`). A new
game touches its own folder, the list, and its per-family modules, configs, models and tests.

Callables are named ``"module:function"`` and loaded on first use (`Game.load`), so that
importing `discoverygym.envs` stays light.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Game"]


@dataclass(frozen=True)
class Game:
    """What every layer needs to know about one game.

    - `name`: the short name used by suites, evolution specs, CLI options (``binpacking``).
    - `env_id`, `entry_point`, `vector_entry_point`: the Gymnasium registration (single env and
      the native batched env, None where there is none).
    - `description`: one line for ``discoverygym envs``.
    - `metric`: the name of the metric the final ``info["metric"]`` carries (env contract).
    - `default_datasets`, `full_datasets`: what ``compare`` and ``compare --full`` play.
    - `resolve`: ``"module:function"`` turning a dataset name into its instances (KeyError listing
      the known names for an unknown one).
    - `verify`: ``"module:function"`` of the game's independent checker, which verifies a
      finished solution (a packing, a schedule, a decomposition, a cap set) and computes what the
      metric is made of; every family's numbers come from it.
    """

    name: str
    env_id: str
    entry_point: str
    description: str
    metric: str
    default_datasets: tuple[str, ...]
    full_datasets: tuple[str, ...]
    resolve: str
    verify: str
    vector_entry_point: str | None = None

    def load(self, attribute: str) -> Any:
        """The callable named by `attribute` (``"resolve"``, ``"verify"``, ``"entry_point"``...)."""
        target = getattr(self, attribute)
        if not isinstance(target, str) or ":" not in target:
            raise AttributeError(f"{self.name}: {attribute} is not a 'module:function' name")
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)
