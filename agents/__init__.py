"""Everything that plays a game: heuristics, RL agents, evolved programs and exact solvers."""

from discoverygym.agents.base import Agent, EpisodeResult, run_episode

__all__ = ["Agent", "EpisodeResult", "run_episode"]
