"""The job-shop suite: the dispatching rules and the CP-SAT limit on the classic benchmark sets.

Metric ``gap_pct``: the mean over a set of 100 (makespan - best upper bound) / best upper bound,
the usual number of the learning-to-dispatch literature. Each record has ``value`` = that mean
gap, ``bound`` = the mean best known upper bound of the set (makespan units, `bounds.csv`) and
``gap`` = the same mean gap.

Every agent plays `JobShopEnv` (left-shift insertion), one episode per instance, and every
schedule is verified by the independent `check_schedule`, which must agree with the env's
makespan. Agents: the non-delay rules ``spt lpt mwkr lwkr mopnr fifo``, ``random`` (seed 0) and
``cpsat`` (family ``limit``): OR-Tools CP-SAT with `CPSAT_TIME_LIMIT_S` seconds per instance on
`CPSAT_WORKERS` threads, warm-started with MWKR, whose schedule is replayed in the env (the env's
makespan is then at most CP-SAT's). With a short budget the limit is an upper estimate of what is
reachable, not a proof; ``discoverygym.envs.jobshop.solve_cpsat`` gives longer runs. On request
only (`ON_REQUEST`, not in `compare`'s list): ``rollout_<rule>`` for each rule of
`jobshop_rollout.LINEAR_RULES` (MWKR and the LLM-evolved rules), rollout over that rule.

Default sets (a few minutes in all, CP-SAT dominating: about 16 instances x <= 5 s): ``ft06``,
``ft10``, ``la-10x10`` (la16-la20) and ``taillard-15x15`` (ta01-ta10). ``full``: ``ft``, ``la`` and
every Taillard size ``taillard-15x15`` ... ``taillard-100x20`` (123 instances; about 10 min of
CP-SAT).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.jobshop import RULES, CpSatAgent, rule_agent
from discoverygym.agents.heuristics.jobshop_rollout import LINEAR_RULES, RolloutDispatcher
from discoverygym.agents.records import Record
from discoverygym.envs.jobshop.checker import check_schedule, verified_gap_pct
from discoverygym.envs.jobshop.env import JobShopEnv
from discoverygym.envs.jobshop.instances import load_instance, resolve_dataset
from discoverygym.experiments.suites import (
    Suite,
    evaluate_shipped_rl,
    evolved_player,
    shipped_agents,
)

METRIC = "gap_pct"
#: Agents `evaluate` plays when named, outside `compare`'s default list: the rollouts over a rule
#: (`jobshop_rollout`), whose cost is quadratic in the instance size (seconds on 15x15, hours
#: on 100x20).
ON_REQUEST = tuple(f"rollout_{rule}" for rule in LINEAR_RULES)
CPSAT_TIME_LIMIT_S = 5.0
CPSAT_WORKERS = 2


class JobShopSuite(Suite):
    """See the module docstring."""

    game = "jobshop"

    def agent_names(self) -> list[str]:
        return [*RULES, "random", "cpsat", *shipped_agents(self.game)]

    def make_agent(self, agent: str):
        """A rule, the CP-SAT limit, a rollout on request (`ON_REQUEST`) or an evolved program
        (RL models are scored by `evaluate`)."""
        evolved = evolved_player(self.game, agent)
        if evolved is not None:
            return evolved
        if agent in ON_REQUEST:
            return RolloutDispatcher(agent.removeprefix("rollout_"))
        if agent not in self.agent_names():
            raise KeyError(f"unknown job-shop agent {agent!r}; known: {', '.join([*self.agent_names(), *ON_REQUEST])}"
                           " (or a model .zip / an evolved program .py)")
        if agent == "cpsat":
            return CpSatAgent(time_limit_s=CPSAT_TIME_LIMIT_S, workers=CPSAT_WORKERS)
        return rule_agent(agent)

    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        rl = evaluate_shipped_rl(self.game, agent, dataset)
        if rl is not None:
            return rl
        player = self.make_agent(agent)
        names = resolve_dataset(dataset)  # KeyError lists the known sets and near names
        if isinstance(names, tuple):
            raise KeyError(f"dataset {dataset!r} is an endless generator; use 'random-JxM:seed=S,n=N'")
        start = time.perf_counter()
        gaps, uppers = [], []
        for name in names:
            instance = load_instance(name)
            env = JobShopEnv(instance=instance)
            result = run_episode(env, player, seed=0)
            gap, upper = verified_gap_pct(instance, result.final_info["starts"], result.final_info["makespan"])
            gaps.append(gap)
            uppers.append(upper)
        gap = float(np.mean(gaps))
        return [
            Record(
                game=self.game,
                dataset=dataset,
                agent=agent,
                family=player.family,
                metric=METRIC,
                value=gap,
                bound=float(np.mean(uppers)),
                gap=gap,
                seconds=time.perf_counter() - start,
                compute=getattr(player, "compute", {}),
            )
        ]

    def figures(self, records: list[Record], out_dir: Path) -> list[Path]:
        """A Gantt chart of the best schedule that this run's agents find on ta01."""
        from discoverygym.envs.jobshop.render import save_gantt

        agents = list(dict.fromkeys(r.agent for r in records if r.game == self.game and r.family != "rl"))
        if not agents:
            return []
        instance = load_instance("ta01")
        env = JobShopEnv(instance=instance)
        best = None
        for agent in agents:
            info = run_episode(env, self.make_agent(agent), seed=0).final_info
            makespan = check_schedule(instance, info["starts"])
            if best is None or makespan < best[0]:
                best = (makespan, agent, info["starts"])
        makespan, agent, starts = best
        title = f"ta01: best schedule of this run ({agent}), makespan {makespan}, best known {instance.upper_bound}"
        return [save_gantt(instance, starts, out_dir / "jobshop_gantt_ta01.png", title=title)]


SUITE = JobShopSuite()
