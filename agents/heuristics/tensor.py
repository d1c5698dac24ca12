"""Agents for the tensor game: naive, random, flip-graph search, and the known scheme (limit).

All play `discoverygym/TensorDecomposition-v0` through `act(obs, info)`; the scheme-playing
agents (search, known) replay a precomputed decomposition term by term, so the env itself
verifies it (the episode terminates with a zero residual after `rank` moves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from discoverygym.agents.heuristics.tensor_search import (
    ProposeFn,
    SearchResult,
    flip_graph_search,
    uniform_flip,
)
from discoverygym.envs.tensor.instances import check_coefficients, encode_action, factor_sizes
from discoverygym.envs.tensor.known import best_known_rank, known_decomposition
from discoverygym.envs.tensor.tensors import Field, check_field, check_size, matmul_tensor


class _TensorAgent:
    """Common configuration: the size, field and coefficient set of the env to be played."""

    family = "heuristic"

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        field: Field = "standard",
        coefficients: Sequence[int] | None = None,
    ):
        self.n, self.m, self.p = check_size(n, m, p)
        self.field: Field = check_field(field)
        self.coefficients = check_coefficients(coefficients, self.field)

    def reset(self) -> None:
        pass


class NaiveTensorAgent(_TensorAgent):
    """Removes the first nonzero residual entry T[a,b,c] = t with e_a (x) e_b (x) (t' e_c),
    t' the coefficient closest to t (t' = t for the matmul tensor). On <n,m,p> this plays the
    n*m*p elementary products A[i,j] B[j,k] -> C[i,k] of the schoolbook algorithm."""

    name = "naive"

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        residual = np.asarray(obs["residual"])
        nonzero = np.flatnonzero(residual)
        a, b, c = factor_sizes(self.n, self.m, self.p)
        zero = self.coefficients.index(0) if 0 in self.coefficients else None
        if zero is None:
            raise ValueError(
                f"the naive agent needs 0 in the coefficient set, got {self.coefficients}"
            )
        action = np.full(a + b + c, zero, dtype=np.int64)
        one = self.coefficients.index(1)
        if len(nonzero) == 0:
            return action
        x, y, z = np.unravel_index(nonzero[0], residual.shape)
        t = int(residual[x, y, z]) % 2 if self.field == "mod2" else int(residual[x, y, z])
        values = np.asarray(self.coefficients)
        candidates = values % 2 if self.field == "mod2" else values
        best = int(np.argmin(np.abs(candidates - t) + 0.5 * (candidates == 0)))
        action[x] = one
        action[a + y] = one
        action[a + b + z] = best
        return action


class RandomTensorAgent(_TensorAgent):
    """Uniformly random actions (every action is legal in this game)."""

    name = "random"

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        field: Field = "standard",
        coefficients: Sequence[int] | None = None,
        seed: int | None = None,
    ):
        super().__init__(n, m, p, field, coefficients)
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        return self.rng.integers(
            len(self.coefficients), size=sum(factor_sizes(self.n, self.m, self.p))
        )


class SchemeAgent(_TensorAgent):
    """Plays the columns of a decomposition of the matmul tensor, one per move; a subclass
    says which in `scheme` (also the base of the RL family's `GuidedSearchAgent`)."""

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        field: Field = "standard",
        coefficients: Sequence[int] | None = None,
    ):
        super().__init__(n, m, p, field, coefficients)
        self._actions: list[np.ndarray] | None = None
        self._next = 0

    def scheme(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def reset(self) -> None:
        self._next = 0

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> np.ndarray:
        if self._next == 0:
            target = matmul_tensor(self.n, self.m, self.p)
            residual = np.asarray(obs["residual"])
            if self.field == "mod2":
                target, residual = target % 2, residual % 2
            if not np.array_equal(residual, target):
                raise ValueError(
                    f"{self.name} plays schemes for the matmul target <{self.n},{self.m},{self.p}> only"
                )
            if self._actions is None:
                u, v, w = self.scheme()
                self._actions = [
                    encode_action(u[:, r], v[:, r], w[:, r], self.coefficients)
                    for r in range(u.shape[1])
                ]
        action = self._actions[min(self._next, len(self._actions) - 1)]
        self._next += 1
        return action


class KnownSchemeAgent(SchemeAgent):
    """The limit: replays the lowest-rank shipped decomposition (AlphaTensor / AlphaEvolve)
    whose entries lie in the coefficient set; for the suites' sizes its rank is the
    best-known rank."""

    name = "limit"
    family = "limit"

    def scheme(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return known_decomposition(
            self.n, self.m, self.p, self.field, coefficients=self.coefficients
        )


class FlipGraphAgent(SchemeAgent):
    """Flip-graph search (Kauers & Moosbauer 2022; `flip_graph_search`) for `time_budget`
    seconds, `attempt_budget` candidate flips (with `time_budget=None`: the same scheme on any
    machine) or until `target_rank` (default: the best-known rank), then replays the scheme.

    The search runs on the first `act` of the first episode; later episodes replay the cached
    scheme (`result` holds the search's statistics). `propose` is the evolvable proposal
    routine (default `uniform_flip`).
    """

    name = "search"

    def __init__(
        self,
        n: int,
        m: int,
        p: int,
        field: Field = "standard",
        coefficients: Sequence[int] | None = None,
        *,
        time_budget: float | None = 20.0,
        target_rank: int | None = None,
        seed: int = 0,
        propose: ProposeFn = uniform_flip,
        attempt_budget: int | None = None,
    ) -> None:
        super().__init__(n, m, p, field, coefficients)
        self.time_budget = time_budget
        self.attempt_budget = attempt_budget
        self.target_rank = target_rank
        self.seed = seed
        self.propose = propose
        self.result: SearchResult | None = None

    def scheme(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target = self.target_rank
        if target is None:
            try:
                target = best_known_rank(self.n, self.m, self.p, self.field)
            except KeyError:
                target = None
        self.result = flip_graph_search(
            self.n,
            self.m,
            self.p,
            self.field,
            time_budget=self.time_budget,
            target_rank=target,
            seed=self.seed,
            propose=self.propose,
            attempt_budget=self.attempt_budget,
        )
        return self.result.decomposition
