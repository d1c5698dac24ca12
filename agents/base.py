"""The agent interface shared by every family (heuristic, RL, evolved, limit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import gymnasium as gym

Family = Literal["heuristic", "rl", "evolved", "limit"]


@runtime_checkable
class Agent(Protocol):
    """Anything that picks an action from an observation and the env's `info`.

    `info` is the dict returned by the last `reset` or `step`; masked games put the legal
    actions in `info["action_mask"]`.
    """

    name: str
    family: Family

    def reset(self) -> None:
        """Forget per-episode state (called after every `env.reset`)."""

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        """Return the action to play."""


@dataclass
class EpisodeResult:
    """The outcome of one episode: total reward, steps and the final `info`."""

    total_reward: float
    steps: int
    final_info: dict[str, Any] = field(default_factory=dict)


def run_episode(
    env: gym.Env,
    agent: Agent,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
) -> EpisodeResult:
    """Play one episode of `env` with `agent` and return its result."""
    obs, info = env.reset(seed=seed, options=options)
    agent.reset()
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
        total += float(reward)
        steps += 1
        if terminated or truncated:
            return EpisodeResult(total_reward=total, steps=steps, final_info=info)
