"""The bin packing suite: every heuristic and the limit on the OR-Library and Weibull sets.

Metric ``excess_pct``: (mean bins - mean L1) / mean L1 in percent over a set, FunSearch's
Table 1 number. Each record has ``value`` = the excess, ``bound`` = the mean L1 bound in bins
(the reference of the excess) and ``gap`` = the same excess (the relative distance of the mean
bins to that bound, in percent).

Agents play the gym env (histogram observations when the heuristic supports them, else bins),
one episode per instance, and every packing is verified by `check_packing`. The ``limit``
agent (family ``limit``) is no policy: it scores the best lower bound of each instance, the
proven optimum where BPPLib knows it, else L2; no online algorithm can beat it.

Default sets: or1, or2, or3, or4, weibull5k (FunSearch's Table 1). ``full`` adds t60 and the
generated weibull-5k/10k/100k:seed=0 and uniform-120/250:seed=0 sets.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.binpacking import BINPACKING_AGENTS, make_agent
from discoverygym.agents.records import Record
from discoverygym.envs.binpacking.bounds import excess_pct, instance_bounds
from discoverygym.envs.binpacking.checker import check_packing
from discoverygym.envs.binpacking.env import OnlineBinPackingEnv
from discoverygym.envs.binpacking.instances import load_dataset
from discoverygym.experiments.suites import (
    Suite,
    evaluate_shipped_rl,
    evolved_player,
    shipped_agents,
)

METRIC = "excess_pct"


class BinPackingSuite(Suite):
    """See the module docstring."""

    game = "binpacking"

    def agent_names(self) -> list[str]:
        return [*BINPACKING_AGENTS, "limit", *shipped_agents(self.game)]

    def _player(self, agent: str):
        return evolved_player(self.game, agent) or make_agent(agent)

    @staticmethod
    def _mode(player) -> str:
        return "histogram" if "histogram" in getattr(player, "modes", ()) else "bins"

    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        rl = evaluate_shipped_rl(self.game, agent, dataset)
        if rl is not None:
            return rl
        if agent not in self.agent_names() and not agent.endswith((".py", ".zip")):
            raise KeyError(
                f"unknown bin packing agent {agent!r}; known: {', '.join(self.agent_names())}"
                " (or a model .zip / an evolved program .py)"
            )
        data = load_dataset(dataset)  # KeyError lists the known sets
        start = time.perf_counter()
        l1 = np.array([instance_bounds(inst).l1 for inst in data])
        compute: dict[str, float] = {}
        if agent == "limit":
            bins = np.array([instance_bounds(inst).best_lower for inst in data])
            family = "limit"
        else:
            player = self._player(agent)
            family, compute = player.family, getattr(player, "compute", {})
            env = OnlineBinPackingEnv(dataset=data, observation=self._mode(player))
            bins = []
            for inst in data:
                result = run_episode(env, player, options={"instance": inst.name})
                report = check_packing(inst.items, inst.capacity, result.final_info["assignment"])
                if (
                    report.num_bins != result.final_info["bins_used"]
                    or result.total_reward != -report.num_bins
                ):
                    raise AssertionError(
                        f"{agent} on {inst.name}: env and checker disagree on the bins used"
                    )
                bins.append(report.num_bins)
            bins = np.array(bins)
        excess = excess_pct(bins, l1)
        return [
            Record(
                game=self.game,
                dataset=dataset,
                agent=agent,
                family=family,
                metric=METRIC,
                value=excess,
                bound=float(np.mean(l1)),
                gap=excess,
                seconds=time.perf_counter() - start,
                compute=compute,
            )
        ]

    def figures(self, records: list[Record], out_dir: Path) -> list[Path]:
        """The bin fill profile of best fit against the best other agent on one Weibull instance."""
        from discoverygym.experiments.plots import fill_profile

        weibull = [r for r in records if r.dataset == "weibull5k" and r.family not in ("limit", "rl")]
        rivals = sorted((r for r in weibull if r.agent != "best_fit"), key=lambda r: r.value)
        if not rivals:
            return []
        instance = load_dataset("weibull5k")[0]
        profiles = {}
        for agent in ("best_fit", rivals[0].agent):
            player = self._player(agent)
            env = OnlineBinPackingEnv(instance=instance, observation=self._mode(player))
            info = run_episode(env, player).final_info
            loads = np.bincount(info["assignment"], weights=instance.items, minlength=info["bins_used"])
            profiles[agent] = loads / instance.capacity
        return [fill_profile(profiles, f"bin fill levels on {instance.name} (Weibull 5k)", out_dir / "binpacking_fill.png")]


SUITE = BinPackingSuite()
