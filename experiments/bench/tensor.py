"""Tensor game throughput: env steps/s and the flip-graph search's candidates/s.

References, measured in the same run:
* env steps: a plain numpy loop, ``residual -= np.einsum("a,b,c->abc", u, v, w)`` then
  ``residual.any()`` per move on the same actions (no decoding, observation or info);
* search: `reference_flip_walk`, the same mod-2 flip-graph walk written directly with numpy
  factor matrices (partners found by comparing columns, reductions by scanning all pairs);
* search with the draw limit that evolved proposal rules run under (`DRAW_LIMIT` random draws
  per call, counted by `DrawLimitedRandom`): the same walk without the limit, so the ratio is
  what the counting costs.

Env figures are for random actions (dense factors) and for replaying AlphaTensor's scheme
(sparse factors; the env only touches the support of u (x) v (x) w), with the rank bound in
every info (default) and only at the episode's end (``rank_bound_every_step=False``).
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from discoverygym.agents.heuristics.tensor_search import (
    DRAW_LIMIT,
    FlipGraphWalk,
    naive_decomposition,
)
from discoverygym.envs.tensor.env import TensorDecompositionEnv
from discoverygym.envs.tensor.known import known_decomposition
from discoverygym.experiments.bench import rate

SIZES = ((2, 2, 2), (3, 3, 3), (4, 4, 4))


def reference_flip_walk(n: int, m: int, p: int, candidates: int, rng: np.random.Generator) -> int:
    """A straightforward numpy mod-2 flip walk from the naive scheme; returns the final rank."""
    factors = [f.copy() for f in naive_decomposition(n, m, p)]
    for _ in range(candidates):
        rank = factors[0].shape[1]
        i, mode = int(rng.integers(rank)), int(rng.integers(3))
        same = np.flatnonzero(np.all(factors[mode] == factors[mode][:, i : i + 1], axis=0))
        same = same[same != i]
        if len(same) == 0:
            continue
        j = int(rng.choice(same))
        y, z = (mode + 1) % 3, (mode + 2) % 3
        factors[y][:, i] ^= factors[y][:, j]
        factors[z][:, j] ^= factors[z][:, i]
        keep = np.all([f.any(axis=0) for f in factors], axis=0)
        factors = [f[:, keep] for f in factors]
        for a in range(3):  # merge a pair sharing two factors
            b, c = (a + 1) % 3, (a + 2) % 3
            eq = np.all(factors[a][:, :, None] == factors[a][:, None, :], axis=0)
            eq &= np.all(factors[b][:, :, None] == factors[b][:, None, :], axis=0)
            np.fill_diagonal(eq, False)
            pairs = np.argwhere(np.triu(eq))
            if len(pairs):
                s, t = pairs[0]
                factors[c][:, s] ^= factors[c][:, t]
                factors = [np.delete(f, t, axis=1) for f in factors]
                keep = np.all([f.any(axis=0) for f in factors], axis=0)
                factors = [f[:, keep] for f in factors]
                break
    return factors[0].shape[1]


def _env_rate(
    size: tuple[int, int, int],
    actions: list[np.ndarray],
    every_step: bool,
    min_s: float,
    repeats: int,
) -> float:
    env = TensorDecompositionEnv(*size, rank_bound_every_step=every_step, max_steps=len(actions))
    env.reset(seed=0)

    def work() -> int:
        env.reset()  # seeded once above; reseeding every episode would time the RNG setup
        for a in actions:
            env.step(a)
        return len(actions)

    return rate(work, min_s, repeats)


def _reference_rate(
    env: TensorDecompositionEnv, actions: list[np.ndarray], min_s: float, repeats: int
) -> float:
    decoded = [env.decode_action(a) for a in actions]
    target = np.asarray(env.reset(seed=0)[0]["residual"], dtype=np.int64)

    def work() -> int:
        residual = target.copy()
        for u, v, w in decoded:
            residual -= np.einsum("a,b,c->abc", u, v, w)
            residual.any()
        return len(decoded)

    return rate(work, min_s, repeats)


def run(quick: bool = False) -> None:
    """Print the throughput table (quick: short timings for smoke tests)."""
    min_s, repeats = (0.05, 1) if quick else (1.0, 3)
    rng = np.random.default_rng(0)
    table = Table(title="tensor game throughput (standard field, coefficients -2..2)")
    for column in (
        "measure",
        "tensor",
        "actions",
        "info rank bound",
        "per second",
        "reference/s",
        "ratio",
    ):
        table.add_column(
            column,
            justify="left"
            if column in ("measure", "tensor", "actions", "info rank bound")
            else "right",
        )
    for size in SIZES:
        env = TensorDecompositionEnv(*size)
        label = "x".join(map(str, size))
        steps = int(np.prod(size))
        random_actions = [env.action_space.sample() for _ in range(steps)]
        u, v, w = known_decomposition(*size, coefficients=env.coefficients)
        scheme_actions = [env.encode_action(u[:, r], v[:, r], w[:, r]) for r in range(u.shape[1])]
        for name, actions in (("random", random_actions), ("AlphaTensor", scheme_actions)):
            ref = _reference_rate(env, actions, min_s, repeats)
            for every in (True, False):
                value = _env_rate(size, actions, every, min_s, repeats)
                info = "every step" if every else "at the end"
                table.add_row(
                    "env steps/s",
                    label,
                    name,
                    info,
                    f"{value:,.0f}",
                    f"{ref:,.0f}",
                    f"{value / ref:.2f}",
                )
    for size in ((3, 3, 3), (4, 4, 4)):
        label = "x".join(map(str, size))
        chunk = 2000 if quick else 20000

        def ours(draw_limit: int | None = None) -> int:
            walk = FlipGraphWalk(*size, "mod2", seed=int(rng.integers(2**31)), draw_limit=draw_limit)
            for _ in range(chunk):
                walk.step()
            return chunk

        def reference() -> int:
            reference_flip_walk(*size, chunk // 10, rng)
            return chunk // 10

        mine, ref = rate(ours, min_s, repeats), rate(reference, min_s, repeats)
        table.add_row(
            "search candidates/s",
            label,
            "mod-2 flips",
            "",
            f"{mine:,.0f}",
            f"{ref:,.0f}",
            f"{mine / ref:.2f}",
        )
        limited = rate(lambda: ours(DRAW_LIMIT), min_s, repeats)
        table.add_row(
            "search candidates/s",
            label,
            "under the draw limit (reference: without)",
            "",
            f"{limited:,.0f}",
            f"{mine:,.0f}",
            f"{limited / mine:.2f}",
        )
    Console(width=max(120, Console().width)).print(table)
