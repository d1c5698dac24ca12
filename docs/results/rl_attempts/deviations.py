"""How often the job-shop rollout expert leaves its base rule, and how often a cloned policy follows.

    python docs/results/rl_attempts/deviations.py MODEL.zip [EPISODES]

Collects the demonstrations of `bc_jobshop.yaml` (EPISODES, default its 200; seed 0, as `train`),
then prints the share of moves where the expert's job differs from the evolved rule's, and the
policy's greedy agreement with the expert on those moves and on the others.
"""

import sys
from pathlib import Path

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO

from discoverygym.agents.heuristics.jobshop_rollout import linear_rule, rule_weights
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.imitation import collect_demonstrations, pretrain_settings

config = resolve_config(str(Path(__file__).with_name("bc_jobshop.yaml")))
settings = pretrain_settings(config["pretrain"])
if len(sys.argv) > 2:
    settings["episodes"] = int(sys.argv[2])
data = collect_demonstrations(config, settings, seed=int(config["seed"]), progress=True)
expert = data["actions"]
rule = linear_rule(data["obs"]["jobs"].astype(np.float64), rule_weights(config["pretrain"]["expert_rule"]))
leaves = rule != expert
policy = MaskablePPO.load(sys.argv[1]).policy
with th.no_grad():
    obs = {k: th.as_tensor(v) for k, v in data["obs"].items()}
    greedy = np.concatenate([
        policy.get_distribution({k: v[lo:lo + 5000] for k, v in obs.items()},
                                action_masks=data["masks"][lo:lo + 5000]).mode().numpy()
        for lo in range(0, len(expert), 5000)
    ])
print(f"moves {len(expert)}; the expert leaves the rule on {leaves.sum()} ({100 * leaves.mean():.1f} %)")
print(f"policy = expert: {100 * (greedy == expert).mean():.1f} % of all moves, "
      f"{100 * (greedy == expert)[leaves].mean():.1f} % where the expert leaves the rule, "
      f"{100 * (greedy == expert)[~leaves].mean():.1f} % where it follows it")
