"""Agents for the cap set game: FunSearch's priority greedy, random greedy, and the limit.

All play `discoverygym/CapSet-v0` through ``act(obs, info)`` and read the legal vectors from
``info["action_mask"]`` and the dimension from ``info["n"]``.

- `PriorityAgent(priority)`: FunSearch's greedy construction as an agent: the legal vector of
  highest ``priority(el, n)``, ties to the lowest index. With a priority that never returns
  -inf it adds exactly the vectors of `construction.greedy_cap_set`, in the same order (the
  construction never adds a vector of priority -inf; the agent adds those last, since the game
  goes on while any vector is legal). ``PriorityAgent()`` (constant priority, FunSearch's seed
  program) gives 2^n vectors for n = 3..8.
- `RandomGreedy(seed)`: a uniformly random legal vector each step (a random maximal cap set;
  the same distribution as the construction with i.i.d. random priorities).
- `KnownCapSetAgent(n)`: replays the largest shipped cap set (FunSearch's 512 vectors for
  n = 8; family ``limit``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from discoverygym.agents.base import Family
from discoverygym.envs.capset.construction import Priority, constant_priority, priorities_of
from discoverygym.envs.capset.geometry import index_of
from discoverygym.envs.capset.known import KNOWN_FILES, known_cap_set

__all__ = ["CAPSET_AGENTS", "KnownCapSetAgent", "PriorityAgent", "RandomGreedy", "make_agent"]


def _legal(info: dict[str, Any]) -> np.ndarray:
    legal = np.flatnonzero(np.asarray(info["action_mask"]))
    if legal.size == 0:
        raise RuntimeError("no legal vector: the episode is over")
    return legal


class PriorityAgent:
    """The legal vector with the highest ``priority(el, n)`` (ties: lowest index)."""

    def __init__(
        self,
        priority: Priority = constant_priority,
        name: str = "greedy",
        family: Family = "heuristic",
    ) -> None:
        self.priority = priority
        self.name = name
        self.family: Family = family
        self._cache: dict[int, np.ndarray] = {}
        self._ranking: dict[int, np.ndarray] = {}

    def priorities(self, n: int) -> np.ndarray:
        """Every vector's priority in dimension n (computed once per n)."""
        if n not in self._cache:
            self._cache[n] = priorities_of(n, self.priority)
        return self._cache[n]

    def ranking(self, n: int) -> np.ndarray:
        """The vector indices by decreasing priority, ties by increasing index."""
        if n not in self._ranking:
            scores = self.priorities(n)
            self._ranking[n] = np.lexsort((np.arange(scores.size), -scores))
        return self._ranking[n]

    def reset(self) -> None:
        """The priorities depend on the vector only: nothing to forget."""

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        ranking = self.ranking(int(info["n"]))
        legal = np.asarray(info["action_mask"])[ranking]
        first = int(np.argmax(legal))
        if not legal[first]:
            raise RuntimeError("no legal vector: the episode is over")
        return int(ranking[first])


class RandomGreedy:
    """A uniformly random legal vector each step, from its own seeded generator."""

    name = "random"
    family: Family = "heuristic"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """The generator runs on across episodes (reseed by building a new agent)."""

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        legal = _legal(info)
        return int(legal[self.rng.integers(legal.size)])


class KnownCapSetAgent:
    """Replays the shipped cap set of F_3^n, vector by vector (family ``limit``)."""

    name = "limit"
    family: Family = "limit"

    def __init__(self, n: int) -> None:
        vectors = known_cap_set(n)
        if vectors is None:
            raise KeyError(f"no cap set is shipped for n = {n}; shipped: n = {sorted(KNOWN_FILES)}")
        self.n = n
        self.actions = index_of(vectors, n)
        self._next = 0

    def reset(self) -> None:
        self._next = 0

    def act(self, obs: Any, info: dict[str, Any]) -> int:
        if int(info["n"]) != self.n:
            raise ValueError(f"this agent plays n = {self.n}, the env has n = {info['n']}")
        if self._next >= len(self.actions):
            raise RuntimeError(
                f"the shipped set's {len(self.actions)} vectors are played and the episode goes on"
            )
        action = int(self.actions[self._next])
        self._next += 1
        return action


CAPSET_AGENTS: tuple[str, ...] = ("greedy", "random")


def make_agent(name: str, seed: int | None = 0) -> PriorityAgent | RandomGreedy:
    """A heuristic by name: ``greedy`` (constant priority) or ``random`` (seeded)."""
    if name == "greedy":
        return PriorityAgent()
    if name == "random":
        return RandomGreedy(seed)
    raise KeyError(f"unknown cap set heuristic {name!r}; known: {', '.join(CAPSET_AGENTS)}")
