"""Evolved tensor proposal rules, played in the sandbox: the rule proposes, this process checks.

The tensor game's evolved part is the proposal routine of the flip-graph search
(`heuristics.tensor_search`), called once per attempt with the walk's whole state, so it is not
served call by call as the other games' functions are (`served.SandboxedFunction`).
`SandboxedFlipGraphAgent` runs the whole search in the sandbox instead, through the game's
scorer (`scorers.tensor_decide`, then `tensor_verify` in this process): one search from the
naive scheme with a budget of `attempts` candidate flips (work, not seconds: the same scheme on
any machine), stopping at the best-known rank. The scheme the child returns is verified exactly
here and then replayed move by move through the env, as every `SchemeAgent` is.

A rule that redraws until it finds a flip would never return on a scheme with no shared factor;
the walk cuts such a call after `DRAW_LIMIT` random draws (the attempt counts as no flip). A
rule that loops without drawing is stopped by the sandbox's wall-clock limit (`timeout_s`), and
the agent fails with a ValueError naming the program and the size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discoverygym.agents.evolution import code
from discoverygym.agents.evolution.sandbox import SandboxLimits, evaluate_program
from discoverygym.agents.evolution.scorers import tensor_dataset_name
from discoverygym.agents.heuristics.tensor import SchemeAgent
from discoverygym.envs.tensor.tensors import Field

TIMEOUT_S = 900.0
"""Wall-clock seconds one sandboxed search may take (`compare`'s nine searches of the shipped
rule took 0.3 to 12 s each on this repository's 2-core machine)."""


@dataclass(frozen=True)
class SandboxedSearch:
    """What one sandboxed search reached and what it used."""

    rank: int
    attempts: int  # candidate flips used: the whole budget unless the target rank was reached
    seconds: float  # wall clock of the sandboxed evaluation, start-up included
    sandbox: str  # the isolation mode that ran it ("bwrap" or "direct")


class SandboxedFlipGraphAgent(SchemeAgent):
    """Plays the scheme found by a flip-graph search driven by an evolved `propose` (its
    source: one function definition), searched in the sandbox; family "evolved"."""

    family = "evolved"

    def __init__(
        self,
        source: str,
        n: int,
        m: int,
        p: int,
        field: Field = "standard",
        *,
        attempts: int,
        seed: int = 0,
        name: str = "evolved",
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        super().__init__(n, m, p, field)
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1 candidate flip, got {attempts}")
        self.source = source
        self.attempts = int(attempts)
        self.seed = int(seed)
        self.name = name
        self.timeout_s = float(timeout_s)
        self.result: SandboxedSearch | None = None

    @classmethod
    def from_program(cls, path: Path, n: int, m: int, p: int, field: Field = "standard",
                     **kwargs) -> SandboxedFlipGraphAgent:
        """The agent of an exported program file (`export.write_program`) or any file that
        defines `propose`; ValueError naming the file when it has no such function."""
        path = Path(path)
        try:
            source = code.function_source(path.read_text(), "propose")
        except code.ProgramError as error:
            raise ValueError(f"{path}: {error}") from None
        kwargs.setdefault("name", f"evolved:{path.stem}")
        return cls(source, n, m, p, field, **kwargs)

    def scheme(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dataset = tensor_dataset_name(self.n, self.m, self.p, self.field, self.seed, self.attempts)
        outcome = evaluate_program(self.source, "tensor", "play", datasets=(dataset,),
                                   limits=SandboxLimits(timeout_s=self.timeout_s),
                                   keep_decisions=True)
        if not outcome.ok:
            raise ValueError(f"{self.name} on <{self.n},{self.m},{self.p}> ({self.field}): "
                             f"{outcome.error}")
        entry = outcome.decisions[dataset]  # verified by tensor_verify: shapes, scheme, attempts
        u, v, w = (np.asarray(entry[key], dtype=np.int64) for key in ("u", "v", "w"))
        self.result = SandboxedSearch(rank=int(u.shape[1]), attempts=int(entry["attempts"]),
                                      seconds=outcome.seconds,
                                      sandbox=str(outcome.sandbox.get("mode", "")))
        return u, v, w
