"""Tensor agents: naive, random, known scheme, flip-graph search (+ lifting), evolvable hook."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discoverygym.agents.base import Agent, run_episode
from discoverygym.agents.heuristics.tensor import (
    FlipGraphAgent,
    KnownSchemeAgent,
    NaiveTensorAgent,
    RandomTensorAgent,
)
from discoverygym.agents.heuristics.tensor_lift import lift_mod2
from discoverygym.agents.heuristics.tensor_search import (
    DRAW_LIMIT,
    Flip,
    FlipGraphWalk,
    ProposalOverdrawn,
    flip_graph_search,
    naive_decomposition,
    uniform_flip,
)
from discoverygym.envs.tensor.env import TensorDecompositionEnv
from discoverygym.envs.tensor.known import known_decomposition
from discoverygym.envs.tensor.tensors import matmul_tensor, verify_matmul_decomposition


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_search_finds_strassen_rank_through_the_env(field) -> None:
    """<2,2,2> rank 7 within a 20 s budget (it takes milliseconds), verified by the env and
    by the independent checker."""
    env = TensorDecompositionEnv(2, 2, 2, field=field)
    agent = FlipGraphAgent(2, 2, 2, field, time_budget=20.0, seed=1)
    assert isinstance(agent, Agent)
    result = run_episode(env, agent, seed=0)
    assert result.steps == 7 and result.total_reward == -7.0
    assert (
        verify_matmul_decomposition(2, 2, 2, *result.final_info["decomposition"], field=field) == 7
    )
    assert agent.result.rank == 7 and agent.result.candidates > 0
    if field == "standard":
        assert set(np.unique(np.concatenate(result.final_info["decomposition"]))) <= {-1, 0, 1}
    again = run_episode(env, agent, seed=1)  # the cached scheme is replayed
    assert again.steps == 7 and "decomposition" in again.final_info


def test_search_reaches_2x2x3_rank_11_in_both_fields() -> None:
    for field in ("mod2", "standard"):
        result = flip_graph_search(2, 2, 3, field, time_budget=30.0, target_rank=11, seed=0)
        assert result.rank == 11
        assert verify_matmul_decomposition(2, 2, 3, *result.decomposition, field=field) == 11
        assert sorted(result.time_to_rank, reverse=True)[0] == 12


def test_search_without_target_uses_the_budget_and_returns_verified_best() -> None:
    result = flip_graph_search(2, 2, 2, "mod2", time_budget=0.2, seed=3)
    assert result.seconds >= 0.2 and result.rank == 7  # 7 is optimal, the search keeps looking


def test_direct_integer_walk_keeps_coefficients_in_range() -> None:
    result = flip_graph_search(
        2, 2, 2, "standard", lift=False, time_budget=20.0, target_rank=7, seed=0
    )
    assert result.rank == 7
    assert np.abs(np.concatenate(result.decomposition)).max() <= 1


@given(st.integers(0, 2**32 - 1), st.sampled_from(["standard", "mod2"]), st.integers(0, 3000))
@settings(max_examples=20, deadline=None)
def test_walk_invariant_every_state_is_a_scheme(seed, field, steps) -> None:
    """Flips, reductions and plus transitions never change the tensor the scheme sums to."""
    walk = FlipGraphWalk(2, 3, 2, field, seed=seed)
    for k in range(steps):
        walk.step()
        if k % 1000 == 999:
            walk.plus_transition()
    rank = verify_matmul_decomposition(2, 3, 2, *walk.decomposition(), field=field)
    assert rank == walk.rank <= 12 + steps // 1000


def test_lift_alphatensor_mod2_schemes_to_integers() -> None:
    for size in [(2, 2, 2), (2, 2, 3), (2, 3, 3), (3, 3, 3)]:
        lifted = lift_mod2(
            matmul_tensor(*size), *known_decomposition(*size, field="mod2"), rng=random.Random(0)
        )
        assert lifted is not None
        assert (
            verify_matmul_decomposition(*size, *lifted)
            == known_decomposition(*size, field="mod2")[0].shape[1]
        )
        assert np.abs(np.concatenate(lifted)).max() == 1
    with pytest.raises(ValueError, match="modulo 2"):
        lift_mod2(matmul_tensor(2, 2, 2), *(f[:, :7] for f in naive_decomposition(2, 2, 2)))


def test_evolvable_proposal_is_called() -> None:
    """The search calls the `propose` routine once per candidate; None means no flip."""
    calls = []

    def counting(state, rng):
        calls.append(state.rank)
        return uniform_flip(state, rng)

    result = flip_graph_search(2, 2, 2, "mod2", time_budget=10.0, target_rank=7, propose=counting)
    assert result.rank == 7 and len(calls) == result.candidates

    def never(state, rng):
        return None

    stuck = flip_graph_search(2, 2, 2, "mod2", time_budget=0.1, propose=never, plateau=10**9)
    assert stuck.rank == 8 and stuck.flips == 0
    assert Flip(0, 1, 2, -1).lam == -1


@pytest.mark.parametrize("field", ["standard", "mod2"])
def test_naive_random_and_limit_agents(field) -> None:
    for size in [(2, 2, 2), (2, 3, 2)]:
        naive_rank = int(np.prod(size))
        env = TensorDecompositionEnv(*size, field=field)
        result = run_episode(env, NaiveTensorAgent(*size, field), seed=0)
        assert result.steps == naive_rank and "decomposition" in result.final_info
        verify_matmul_decomposition(*size, *result.final_info["decomposition"], field=field)
        limit = run_episode(env, KnownSchemeAgent(*size, field), seed=0)
        assert limit.steps == {(2, 2, 2): 7, (2, 3, 2): 11}[size]
        rand = run_episode(env, RandomTensorAgent(*size, field, seed=0), seed=0)
        assert rand.steps == naive_rank and rand.total_reward <= -naive_rank


def test_naive_agent_on_a_synthetic_target() -> None:
    """One move per nonzero entry of a +-1 target (at most 64 for <2,2,2>)."""
    env = TensorDecompositionEnv(2, 2, 2, coefficients=(-1, 0, 1), max_steps=64)
    _, info = env.reset(seed=0, options={"target": "synthetic", "rank": 1})
    entries = int(np.count_nonzero(env.residual))
    result = run_episode(
        env,
        NaiveTensorAgent(2, 2, 2, coefficients=(-1, 0, 1)),
        seed=0,
        options={"target": "synthetic", "rank": 1},
    )
    assert "decomposition" in result.final_info and result.steps == entries > 1
    with pytest.raises(ValueError, match="matmul target"):
        run_episode(
            env, KnownSchemeAgent(2, 2, 2), seed=0, options={"target": "synthetic", "rank": 2}
        )


def test_score_proposal_prefers_lower_rank() -> None:
    from discoverygym.agents.heuristics.tensor_search import score_proposal

    good = score_proposal(uniform_flip, 2, 2, 2, time_budget=2.0, seeds=(0, 1))
    bad = score_proposal(lambda state, rng: None, 2, 2, 2, time_budget=0.05, seeds=(0,))
    assert -8.0 < good <= -7.0 and bad <= -8.0


def test_a_draw_limit_keeps_the_random_stream_and_cuts_a_rule_that_never_returns() -> None:
    """`draw_limit` changes nothing for a rule within it (same scheme, same counts), and a rule
    that redraws forever
    returns after the limit on a rank-7 <2,2,2> scheme, the attempt counted as no flip."""
    for field in ("mod2", "standard"):
        free = flip_graph_search(2, 3, 3, field, time_budget=None, attempt_budget=30_000, seed=5)
        limited = flip_graph_search(2, 3, 3, field, time_budget=None, attempt_budget=30_000,
                                    seed=5, draw_limit=DRAW_LIMIT)
        assert (free.rank, free.candidates, free.flips) == (limited.rank, limited.candidates,
                                                           limited.flips)
        assert all(np.array_equal(a, b) for a, b in zip(free.decomposition, limited.decomposition))

    draws = []

    def redraw_forever(state, rng):
        while True:
            draws.append(rng.randrange(len(state.ids)))
            try:  # a rule's own `except Exception` does not swallow the cut
                rng.choice(state.ids)
            except Exception:
                pass

    strassen = known_decomposition(2, 2, 2, "mod2")
    walk = FlipGraphWalk(2, 2, 2, "mod2", seed=0, propose=redraw_forever, draw_limit=50,
                         start=strassen)
    assert [walk.step() for _ in range(3)] == [False] * 3
    assert walk.candidates == 3 and walk.flips == 0 and walk.rank == 7
    assert 3 <= len(draws) <= 3 * 50  # every call stopped within its 50 draws
    walk.plus_transition()  # the walk's own draws are not limited between calls
    with pytest.raises(ValueError, match="draw_limit must be >= 1"):
        FlipGraphWalk(2, 2, 2, "mod2", draw_limit=0)
    assert issubclass(ProposalOverdrawn, BaseException) and not issubclass(ProposalOverdrawn, Exception)
