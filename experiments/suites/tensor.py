"""The tensor game suite: rank found per tensor size and agent, next to the best-known rank.

Datasets are tensor sizes "NxMxP" (standard arithmetic, coefficients -2..2) or "NxMxP-mod2"
(GF(2), coefficients 0..1). Default: 2x2x2 and 2x2x3 (the whole default tensor comparison
takes a few seconds). ``full`` adds 2x2x4, 2x3x3, 2x3x4, 3x3x3 and the mod-2 versions of
2x2x3, 2x3x3 and 3x3x3.

Metric ``rank``: minus the episode return, i.e. the number of moves when the agent decomposes
the tensor (the rank of the scheme it played) and moves + the residual's rank bound otherwise
(AlphaTensor's score). ``bound`` is the best-known rank, ``gap`` the relative excess in percent.

Agents, one episode each (seed 0) in `discoverygym/TensorDecomposition-v0`:
* ``naive``: the n*m*p schoolbook products;
* ``random``: uniformly random moves (mean over 5 episodes, seeds 0..4);
* ``search``: the flip-graph search (`flip_graph_search`, seed 0) for at most
  `SEARCH_ATTEMPTS` candidate flips (a budget of work: the same scheme on any machine),
  stopping at the best-known rank; the scheme is replayed through the env. ``compute`` holds
  its candidates, flips and search seconds;
* ``limit``: replays the best shipped decomposition (AlphaTensor; family ``limit``);
* ``guided_tensor_<size>``: a shipped factor policy (`experiments/models/guided_tensor_*.pt`,
  trained on synthetic demonstrations by ``discoverygym tensor-policy train``) guiding a beam
  search in random bases (`search_in_bases`: width `GUIDED_WIDTH`, seed 0, at most
  `GUIDED_BASES` bases: a budget of work, not seconds, so the result does not depend on the
  machine), on its own size only (family ``rl``); the scheme is replayed through the env.
  ``compute`` holds the bases searched, states expanded, search seconds and the policy's
  training CPU seconds;
* ``evolved:<stem>`` or a program's ``.py``: an evolved proposal rule (shipped as
  `experiments/models/evolved_tensor_*.py`) driving the same flip-graph search with the same
  budget, seed and target as ``search``, in the sandbox (`SandboxedFlipGraphAgent`: shipped
  or not, the rule is untrusted there, and a rule that never returns is cut); family
  ``evolved``. ``compute`` holds the candidates used and the sandboxed search's seconds, plus
  the LLM samples and seconds that produced the rule.
Every decomposition an episode returns is checked again with `verify_matmul_decomposition`.

Figure: the flip attempts of ``search`` and the evolved rules per size, on a log axis
(``tensor_attempts.png``): their ranks mostly tie at the best-known rank, their work does not.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from discoverygym.agents.base import run_episode
from discoverygym.agents.heuristics.tensor import (
    FlipGraphAgent,
    KnownSchemeAgent,
    NaiveTensorAgent,
    RandomTensorAgent,
)
from discoverygym.agents.records import Record, relative_gap_pct
from discoverygym.agents.shipped import models_dir
from discoverygym.envs.tensor.datasets import parse_dataset
from discoverygym.envs.tensor.env import TensorDecompositionEnv
from discoverygym.envs.tensor.known import best_known_rank
from discoverygym.envs.tensor.tensors import verify_matmul_decomposition
from discoverygym.experiments.suites import (
    Suite,
    evaluate_shipped_rl,
    evolved_compute,
    evolved_path,
    shipped_agents,
)

AGENTS = ["naive", "random", "search", "limit"]
SEARCH_ATTEMPTS = 20_000_000
GUIDED_WIDTH = 1024
GUIDED_DENSITY = 0.1
GUIDED_BASES = 100
RANDOM_EPISODES = 5
METRIC = "rank"


class TensorSuite(Suite):
    """See the module docstring."""

    game = "tensor"

    def agent_names(self) -> list[str]:
        return [*AGENTS, *shipped_factor_policies(), *shipped_agents(self.game)]

    def evaluate(self, agent: str, dataset: str) -> list[Record]:
        from discoverygym.agents.rl.evaluate import SizeMismatch

        try:
            rl = evaluate_shipped_rl(self.game, agent, dataset)
        except SizeMismatch:  # a model trained on one size (an MLP) has no record on the others
            return []
        if rl is not None:
            return rl
        evolved = evolved_path(self.game, agent)
        policy_path = shipped_factor_policies().get(agent)
        if agent not in AGENTS and evolved is None and policy_path is None:
            raise KeyError(f"unknown tensor agent {agent!r}; known: {', '.join(self.agent_names())}")
        n, m, p, field = parse_dataset(dataset)
        if policy_path is not None:
            if field != "standard":  # the factor policies play standard arithmetic
                return []
            import torch as th

            from discoverygym.agents.rl.tensor_factors import load_factor_policy

            th.set_num_threads(1)  # as `load_model` does for the RL models: small nets
            policy, payload = load_factor_policy(policy_path)
            if (policy.config.n, policy.config.m, policy.config.p) != (n, m, p):
                return []  # trained for one size, like ppo_tensor: no record on the others
        bound = float(best_known_rank(n, m, p, field))
        env = TensorDecompositionEnv(n, m, p, field=field, rank_bound_every_step=False)
        start = time.perf_counter()
        compute: dict[str, float] = {}
        if agent == "random":
            player = RandomTensorAgent(n, m, p, field, seed=0)
            values = [
                -run_episode(env, player, seed=s).total_reward for s in range(RANDOM_EPISODES)
            ]
            value, family = float(np.mean(values)), player.family
        else:
            if agent == "naive":
                player = NaiveTensorAgent(n, m, p, field)
            elif agent == "limit":
                player = KnownSchemeAgent(n, m, p, field)
            elif evolved is not None:
                from discoverygym.agents.evolution.proposals import SandboxedFlipGraphAgent

                player = SandboxedFlipGraphAgent.from_program(
                    evolved, n, m, p, field, attempts=SEARCH_ATTEMPTS, seed=0, name=agent)
                compute = evolved_compute(evolved)
            elif policy_path is not None:
                from discoverygym.agents.rl.tensor_guided import GuidedSearchAgent

                player = GuidedSearchAgent(
                    policy, width=GUIDED_WIDTH, bases=GUIDED_BASES, seed=0, density=GUIDED_DENSITY
                )
                compute = {"train_cpu_seconds": float(payload.get("compute", {}).get("cpu_seconds", 0.0))}
            else:
                player = FlipGraphAgent(n, m, p, field, time_budget=None,
                                        attempt_budget=SEARCH_ATTEMPTS, seed=0)
            result = run_episode(env, player, seed=0)
            info = result.final_info
            if "decomposition" not in info:
                raise AssertionError(
                    f"{agent} on {dataset}: the episode ended without decomposing the tensor"
                )
            rank = verify_matmul_decomposition(n, m, p, *info["decomposition"], field=field)
            if rank != result.steps or -result.total_reward != rank:
                raise AssertionError(f"{agent} on {dataset}: env and checker disagree on the rank")
            value, family = float(rank), player.family
            if agent == "search":
                r = player.result
                compute |= {
                    "candidates": float(r.candidates),
                    "flips": float(r.flips),
                    "search_seconds": r.seconds,
                }
            elif evolved is not None:
                searched = player.result
                compute |= {"candidates": float(searched.attempts),
                            "search_seconds": searched.seconds}
            elif policy_path is not None:
                found = player.result
                compute |= {
                    "bases": float(found.bases),
                    "states": float(found.states),
                    "search_seconds": found.seconds,
                }
        return [
            Record(
                game=self.game,
                dataset=dataset,
                agent=agent,
                family=family,
                metric=METRIC,
                value=value,
                bound=bound,
                gap=relative_gap_pct(value, bound),
                seconds=time.perf_counter() - start,
                compute=compute,
            )
        ]

    def figures(self, records: list[Record], out_dir: Path) -> list[Path]:
        """The flip attempts each search used (log scale): where the ranks tie at the
        best-known rank, the seed's uniform proposal and an evolved rule differ in the work."""
        from discoverygym.experiments.plots import bar_chart

        searched = attempts_records(records)
        if not searched:
            return []
        title = "tensor: flip attempts used, log scale\n(each search stops at the best-known rank)"
        return [bar_chart(searched, title, out_dir / "tensor_attempts.png", log=True)]


def attempts_records(records: list[Record]) -> list[Record]:
    """The tensor records of the flip-graph searches (``search`` and the evolved rules), with
    the candidate flips they used as the value: the work behind the rank they reached."""
    return [replace(r, metric="flip attempts", value=r.compute["candidates"], bound=None, gap=None)
            for r in records if r.game == "tensor" and "candidates" in r.compute]


def shipped_factor_policies() -> dict[str, Path]:
    """The shipped factor policies (``experiments/models/*.pt``) by agent name, the file's stem."""
    return {path.stem: path for path in sorted(models_dir().glob("*.pt"))}


SUITE = TensorSuite()
