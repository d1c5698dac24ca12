"""The cap set suite: the size of the cap set each agent builds in F_3^n, next to the best known.

Datasets are dimensions ``"n3"`` ... ``"n9"`` (`envs.capset.datasets`). Default: n3 to n8 (a
few seconds in all); ``full`` adds n9.

Metric ``size``: the number of vectors in the cap set the agent built (the episode's return),
verified by the independent checker (`score_cap_set`, which must agree with the env's size and
the return). ``bound`` is the largest known size (optimal for n <= 6) and ``gap`` the shortfall
in percent, 100 (best known - size) / best known, so that 0 is best and lower is better, as the
other suites' gaps.

Agents, each playing `discoverygym/CapSet-v0`:
* ``greedy``: FunSearch's greedy construction with its seed program, the constant priority
  (2^n vectors; one episode);
* ``random``: random greedy (a uniformly random legal vector each step), mean size over
  `RANDOM_EPISODES` episodes, agent seeds 0, 1, ...;
* ``limit`` (family ``limit``): for n = 8 it replays FunSearch's 512-vector set through the env
  (verified like every other set); for the other n no set is shipped and, like the bin packing
  limit, it is no policy: it scores the best known size of the table;
* shipped RL models (``ppo_capset`` when one is shipped) and evolved programs: the same path,
  one greedy episode. A model trained on one n (an MLP over 3^n vectors) has no record on the
  other n.
"""

from __future__ import annotations

import time

import numpy as np

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.capset import CAPSET_AGENTS, KnownCapSetAgent, make_agent
from discoverygym.agents.records import Record
from discoverygym.envs.capset.bounds import best_known, gap_pct
from discoverygym.envs.capset.datasets import parse_dataset
from discoverygym.envs.capset.env import CapSetEnv
from discoverygym.envs.capset.known import KNOWN_FILES
from discoverygym.envs.capset.score import METRIC, score_cap_set
from discoverygym.experiments.suites import (
    Suite,
    evaluate_shipped_rl,
    evolved_player,
    shipped_agents,
)

RANDOM_EPISODES = 5


class CapSetSuite(Suite):
    """See the module docstring."""

    game = "capset"

    def agent_names(self) -> list[str]:
        return [*CAPSET_AGENTS, "limit", *shipped_agents(self.game)]

    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        from discoverygym.agents.rl.evaluate import SizeMismatch

        if agent not in self.agent_names() and not agent.endswith((".py", ".zip")):
            raise KeyError(
                f"unknown cap set agent {agent!r}; known: {', '.join(self.agent_names())}"
                " (or a model .zip / an evolved program .py)"
            )
        n = parse_dataset(dataset)  # KeyError lists the known names
        try:
            rl = evaluate_shipped_rl(self.game, agent, dataset)
        except SizeMismatch:  # a model trained on another n
            return []
        if rl is not None:
            return rl
        start = time.perf_counter()
        if agent == "limit" and n not in KNOWN_FILES:
            value, family = float(best_known(n)), "limit"
            compute: dict[str, float] = {}
        else:
            if agent == "limit":
                players = [KnownCapSetAgent(n)]
            elif agent == "random":
                players = [make_agent("random", seed=s) for s in range(RANDOM_EPISODES)]
            else:
                players = [evolved_player(self.game, agent) or make_agent(agent)]
            env = CapSetEnv(n=n)
            sizes = [self._play(env, player, n, agent, dataset) for player in players]
            value, family = float(np.mean(sizes)), players[0].family
            compute = getattr(players[0], "compute", {})
        return [
            Record(
                game=self.game,
                dataset=dataset,
                agent=agent,
                family=family,
                metric=METRIC,
                value=value,
                bound=float(best_known(n)),
                gap=gap_pct(value, n),
                seconds=time.perf_counter() - start,
                compute=compute,
            )
        ]

    @staticmethod
    def _play(env: CapSetEnv, player, n: int, agent: str, dataset: str) -> int:
        """One episode; the size of its cap set, verified by the checker."""
        result = run_episode(env, player, seed=0)
        info = result.final_info
        size = score_cap_set(n, info["cap_set"]).size
        if size != info["size"] or result.total_reward != size or info["illegal_action"]:
            raise AssertionError(
                f"{agent} on {dataset}: env ({info['size']}), return ({result.total_reward}) and "
                f"checker ({size}) disagree, or the last action was illegal"
            )
        return size


SUITE = CapSetSuite()
