"""Game specifications: the skeleton, the function to evolve, its seed and the data splits.

A specification is plain data so that it crosses process boundaries (the sandbox child looks
the game up by name). `scorer` is `"module:<g>"`, the prefix of the game's protocol functions
in that module (`scorers`): `<g>_prepare`, `<g>_decide` (in the sandbox child: the candidate's
decisions), `<g>_verify` (in the parent: checks them and returns `(score, scores)`, where
`score` is higher-is-better and `scores` maps each input (instance) to its own score: the
score signature that clusters programs in the database).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GameSpec:
    """What the search evolves for one game."""

    name: str
    function_name: str
    preamble: str  # module docstring + imports, shown in every prompt and run before candidates
    seed: str  # source of the seed version of `function_name`
    splits: dict[str, tuple[str, ...]]  # "train" | "validation" | "test" -> dataset names
    scorer: str  # "module:<g>": <g>_prepare/_decide (child)/_verify (parent), see `scorers`
    metric: str  # what the score means, for headers and logs
    timeout_s: float = 60.0  # per evaluation of one split
    agent_factory: str = ""  # "module:function" building an Agent from the evolved callable
    # Other formulations of the seed that play exactly the same moves (a test checks it): the
    # search spreads the seed and these over the islands, so that the LLM starts from
    # different code to vary, not from one line copied ten times.
    seed_variants: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    # The task in words and the seed's idea in one sentence, for chat-mode searches (EoH).
    task: str = ""
    seed_idea: str = ""
    # A valid program whose train score is within this much of the best so far is scored on
    # validation too, not only a new best on train: where the train score is noisy, the best on
    # train is often the luckiest rather than the best (tensor: 0.5, about its noise).
    validation_margin: float = 0.0

    def describe(self) -> str:
        """The task in words (the preamble's docstring when no `task` is written)."""
        if self.task:
            return self.task
        return self.preamble.split('"""')[1].strip() if '"""' in self.preamble else self.name

    def seeds(self) -> tuple[str, ...]:
        """The seed followed by its equivalent variants."""
        return (self.seed, *self.seed_variants)

    def datasets(self, split: str) -> tuple[str, ...]:
        """Dataset names of `split` (KeyError listing the known splits)."""
        if split not in self.splits:
            raise KeyError(f"unknown split {split!r} for {self.name}; known: {', '.join(self.splits)}")
        return self.splits[split]


BINPACKING_PREAMBLE = '''"""Finds good assignment for online 1d bin packing."""
import numpy as np
'''

BINPACKING_SEED = '''def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin.

    Args:
        item: Size of item to be added to the bin.
        bins: Array of capacities for each bin.

    Return:
        Array of same size as bins with priority score of each bin.
    """
    return -(bins - item)
'''

# Best fit written four more ways (the item goes to the feasible bin it fills most tightly).
BINPACKING_SEED_VARIANTS = tuple(
    BINPACKING_SEED.replace("    return -(bins - item)\n", body) for body in (
        "    return np.where(bins >= item, item - bins, -np.inf)\n",
        "    remaining = bins - item\n    return -remaining\n",
        "    return 1.0 / (1.0 + bins - item)\n",
        "    waste = bins - item\n    priorities = -waste\n    return priorities\n",
    ))

BINPACKING = GameSpec(
    name="binpacking",
    function_name="priority",
    preamble=BINPACKING_PREAMBLE,
    seed=BINPACKING_SEED,
    # FunSearch (SI, E.4): train and validation on generated Weibull 5 x 5000 sets with different
    # seeds; test on the published Weibull 5k and OR1-OR4.
    splits={
        "train": ("weibull-5k:seed=1",),
        "validation": ("weibull-5k:seed=2",),
        "test": ("weibull5k", "or1", "or2", "or3", "or4"),
    },
    scorer="discoverygym.agents.evolution.scorers:binpacking",
    metric="minus the excess bins over L1 in percent, averaged over the split's datasets",
    timeout_s=120.0,
    agent_factory="discoverygym.agents.evolution.scorers:binpacking_agent",
    seed_variants=BINPACKING_SEED_VARIANTS,
    task="I need a priority function for online one-dimensional bin packing. Items arrive one "
         "at a time and each must be packed at once; every bin has the same capacity. The item "
         "goes into the bin with the highest priority among the bins it fits in, empty bins "
         "included. The goal is to use as few bins as possible. `item` is the item's size (a "
         "float) and `bins` a numpy array of the remaining capacities of the bins the item "
         "fits in (an empty bin has the full capacity left); return a numpy array of the same shape with one priority per "
         "bin, and do not modify `bins`.",
    seed_idea="Best fit: put the item in the bin that it leaves with the least space.",
)

JOBSHOP_PREAMBLE = '''"""Finds a dispatching rule for job-shop scheduling: a score per job, the best job goes next."""
import numpy as np
'''

JOBSHOP_SEED = '''def priority(job_features: np.ndarray, machine_features: np.ndarray) -> np.ndarray:
    """Returns a score per job; the unfinished job with the highest score is dispatched next.

    Args:
        job_features: Array (num_jobs, 8), one row per job, times divided by the instance's
            total work: 0 next_duration, 1 next_machine, 2 remaining_work, 3 remaining_ops
            (fraction), 4 ready_time, 5 earliest_start, 6 machine_ready,
            7 machine_remaining_work. Finished jobs have remaining_ops == 0.
        machine_features: Array (num_machines, 4): 0 ready_time, 1 remaining_work,
            2 remaining_ops (fraction), 3 utilisation.

    Return:
        Array of shape (num_jobs,) with the priority of each job.
    """
    unfinished = job_features[:, 3] > 0
    earliest_start = job_features[:, 5]
    first = earliest_start[unfinished].min() if unfinished.any() else 0.0
    return np.where(unfinished & (earliest_start <= first), job_features[:, 2], -np.inf)
'''

JOBSHOP = GameSpec(
    name="jobshop",
    function_name="priority",
    preamble=JOBSHOP_PREAMBLE,
    seed=JOBSHOP_SEED,
    splits={
        # Generated Taillard-style training/validation instances (disjoint seeds), Taillard test.
        "train": ("random-10x10:seed=1000,n=10",),
        "validation": ("random-15x15:seed=2000,n=10",),
        "test": ("taillard-15x15", "taillard-20x15", "taillard-20x20"),
    },
    scorer="discoverygym.agents.evolution.scorers:jobshop",
    metric="minus the mean makespan gap in percent to the best known upper bound "
           "(generated instances: to the trivial lower bound)",
    timeout_s=120.0,
    agent_factory="discoverygym.agents.evolution.scorers:jobshop_agent",
    task="I need a dispatching rule for job-shop scheduling: whenever a machine can start an "
         "operation, the unfinished job with the highest priority goes next. The goal is the "
         "shortest makespan. `job_features` is a numpy array (num_jobs, 8) and "
         "`machine_features` a numpy array (num_machines, 4), described in the function's "
         "docstring; return a numpy array of shape (num_jobs,), one priority per job "
         "(finished jobs have remaining_ops == 0 and are never chosen).",
    seed_idea="Among the jobs that can start earliest, prefer the one with the most work left.",
)

TENSOR_PREAMBLE = '''"""Finds a proposal rule for flip-graph random walks (Kauers & Moosbauer) that lower the rank
of matrix multiplication schemes faster.

Provided (no import needed): `Flip(i, j, mode, lam)`: flip term `j` against term `i` over
their shared factor in `mode` (0=a, 1=b, 2=c), `lam` = +1 or -1. `state` (read only) has
`terms` (id -> [a, b, c]), `ids` (live term ids), `groups` (per mode: key -> set of ids whose
factor is equal up to sign), `keys` (id -> [key_a, key_b, key_c]), `rank`,
`flips_since_improvement` and `field`. Every call of `propose` is one attempt of the walk's
budget, whether it returns a legal flip, an illegal one or None.
"""
import random
'''

TENSOR_SEED = '''def propose(state, rng: random.Random):
    """Returns the next flip to try, or None to skip this candidate."""
    i = state.ids[rng.randrange(len(state.ids))]
    mode = rng.randrange(3)
    group = state.groups[mode][state.keys[i][mode]]
    if len(group) < 2:
        return None
    j = rng.choice(tuple(group))
    if j == i:
        return None
    return Flip(i, j, mode, 1 if rng.random() < 0.5 else -1)
'''

TENSOR = GameSpec(
    name="tensor",
    function_name="propose",
    preamble=TENSOR_PREAMBLE,
    seed=TENSOR_SEED,
    # "<n>x<m>x<p>:<field>:seed=<s>:attempts=<flip attempts>", one walk each; splits differ by
    # seed. A budget of flip attempts (not seconds) makes the fitness deterministic. Four walks
    # per size: one walk's rank is luck to within 1-2 (the seed rule's 3x3x3 walks over seeds
    # 0-7 score -23.8 to -26), and with one or two walks per size evolution kept rules that
    # only drew luckier random numbers.
    splits={
        "train": tuple(f"{size}:mod2:seed={seed}:attempts=200000" for size in ("3x3x3", "2x3x4")
                       for seed in (0, 1, 2, 3)),
        "validation": tuple(f"{size}:mod2:seed={seed}:attempts=200000" for size in ("3x3x3", "2x3x4")
                            for seed in (10, 11, 12, 13)),
        "test": ("3x3x4:mod2:seed=100:attempts=1000000", "2x4x4:mod2:seed=100:attempts=1000000",
                 "3x3x3:standard:seed=100:attempts=1000000"),
    },
    scorer="discoverygym.agents.evolution.scorers:tensor",
    metric="minus the mean over walks of (rank reached + fraction of the flip attempts used)",
    timeout_s=120.0,
    agent_factory="discoverygym.agents.evolution.scorers:tensor_agent",
    task="I need a proposal rule for flip-graph random walks that lower the rank of matrix "
         "multiplication schemes (Kauers and Moosbauer). Each step the rule proposes one flip "
         "`Flip(i, j, mode, lam)` of term j against term i over their shared factor in `mode`, "
         "or None to skip; every call, None included, uses one attempt of the walk's budget. The "
         "walk keeps the flips that are legal and reductions happen when "
         "terms cancel. The goal is to reach a lower rank in fewer attempts. `state` is read "
         "only (terms, ids, groups, keys, rank, flips_since_improvement, field) and `rng` a "
         "random.Random.",
    seed_idea="Pick a random term and mode, then a random partner sharing that factor, random sign.",
    # Measured: a rule second on train by 0.23 (redraw j until it differs from i) beat the seed
    # by 0.58 on 32 fresh walks and by 0.15 on validation, and without a margin it was never
    # validated (README, the 1.5B tensor runs).
    validation_margin=0.5,
)

CAPSET_PREAMBLE = '''"""Finds large cap sets (sets of vectors in F_3^n with no three distinct members on a line)."""
import itertools

import numpy as np
'''

# FunSearch's cap set skeleton (its notebook): the greedy construction adds, among the vectors
# not blocked, the one of highest priority; a constant priority gives 2^n for n = 3..8.
CAPSET_SEED = '''def priority(el: tuple[int, ...], n: int) -> float:
    """Returns the priority with which we want to add `el` to the cap set.

    Args:
        el: A vector of F_3^n, a tuple of n values in {0, 1, 2}.
        n: The dimension.

    Return:
        The priority of `el` (higher is added first; -inf: never).
    """
    return 0.0
'''

CAPSET = GameSpec(
    name="capset",
    function_name="priority",
    preamble=CAPSET_PREAMBLE,
    seed=CAPSET_SEED,
    # FunSearch evolved one n at a time; here: train on n = 5 and 6, validate on 7, test on 8
    # (where FunSearch found its 512).
    splits={"train": ("n5", "n6"), "validation": ("n7",), "test": ("n8",)},
    scorer="discoverygym.agents.evolution.scorers:capset",
    metric="minus the mean gap in percent of the cap set size to the best known size",
    timeout_s=120.0,
    agent_factory="discoverygym.agents.evolution.scorers:capset_agent",
    task="I need a priority function for building large cap sets: sets of vectors of F_3^n (tuples "
         "of n values in {0, 1, 2}) with no three distinct members a, b, c on a line "
         "(a + b + c = 0 mod 3 in every coordinate). A greedy construction repeatedly adds the "
         "vector of highest priority among those not yet blocked; adding a vector blocks every "
         "vector that would complete a line with it and a member. `priority(el, n)` gets one "
         "vector `el` (a tuple of ints) and the dimension `n`, and returns a float. The goal is "
         "the largest set.",
    seed_idea="Every vector has the same priority (the construction then adds them in order).",
)

GAMES: dict[str, GameSpec] = {spec.name: spec for spec in (BINPACKING, JOBSHOP, TENSOR, CAPSET)}


def get_game(name: str) -> GameSpec:
    """The specification of game `name` (KeyError listing the known games)."""
    if name not in GAMES:
        near = difflib.get_close_matches(name, GAMES, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise KeyError(f"unknown game {name!r}{hint}; known: {', '.join(GAMES)}")
    return GAMES[name]
