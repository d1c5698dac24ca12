"""Behaviour cloning on tensor-game demonstrations: canonical order, data, and a tiny run of
the `pretrain` stage of `train` that decomposes the matmul tensor <2,2,2> greedily."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from discoverygym.agents.heuristics.tensor import NaiveTensorAgent
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.evaluate import evaluate_model, sampled_summary
from discoverygym.agents.rl.imitation import (
    canonical_terms,
    collect_demonstrations,
    pretrain_settings,
)
from discoverygym.agents.rl.train import sidecars, train
from discoverygym.envs.tensor.instances import encode_action, random_factors
from discoverygym.envs.tensor.tensors import matmul_tensor, rank_upper_bound
from hypothesis import given, settings
from hypothesis import strategies as st

TS = "discoverygym/TensorDecomposition-v0"


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    rank=st.integers(1, 8),
    coefficients=st.sampled_from([(0, 1), (-1, 0, 1)]),
)
def test_canonical_order_depends_on_the_terms_not_their_order(
    seed: int, rank: int, coefficients: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(seed)
    u, v, w = random_factors(rng, 2, 2, 2, rank, coefficients, "standard")
    target = np.einsum("ar,br,cr->abc", u, v, w)
    ordered = canonical_terms(u, v, w)
    perm = rng.permutation(rank)
    assert [np.concatenate(t).tolist() for t in ordered] == [
        np.concatenate(t).tolist() for t in canonical_terms(u[:, perm], v[:, perm], w[:, perm])
    ]
    # the ordered terms still sum to the target, and each is nonzero where the residual
    # first is (so the label is tied to the residual)
    residual = target.copy()
    for term in ordered:
        part = np.einsum("a,b,c->abc", *term)
        first = np.flatnonzero(residual)[0]
        assert part.ravel()[first] != 0
        residual -= part
    assert not residual.any()


def test_the_matmul_demonstration_is_the_naive_agent() -> None:
    """On the matmul target the canonical naive decomposition is what `NaiveTensorAgent` plays."""
    target = matmul_tensor(2, 2, 2)
    cells = np.argwhere(target)
    u, v, w = (np.zeros((4, 8), dtype=np.int64) for _ in range(3))
    for r, (a, b, c) in enumerate(cells[::-1]):  # any column order
        u[a, r] = v[b, r] = w[c, r] = 1
    env = gym.make(TS, coefficients=(0, 1))
    agent = NaiveTensorAgent(2, 2, 2, coefficients=(0, 1))
    obs, info = env.reset(seed=0)
    for term in canonical_terms(u, v, w):
        action = agent.act(obs, info)
        assert np.array_equal(action, encode_action(*term, (0, 1)))
        obs, _, terminated, _, info = env.step(action)
    assert terminated and info["steps"] == 8


def test_demonstrations_replay_in_the_training_env() -> None:
    config = resolve_config(
        "ppo_tensor", pretrain={"episodes": 60, "sources": {"synthetic": 1, "elementary": 1}}
    )
    data = collect_demonstrations(config, pretrain_settings(config["pretrain"]), seed=0)
    assert data["episodes"] == 60 and sum(data["by_source"].values()) == 60
    assert set(data["by_source"]) == {"synthetic", "elementary"}
    assert data["actions"].shape == (data["steps"], 12)
    assert data["obs"]["residual"].shape == (data["steps"], 4, 4, 4)
    # gamma = 1 with residual shaping (potential rank bound + nnz / 4, zero at the end): the
    # return-to-go at a demonstration's start is its potential minus its length
    starts = np.flatnonzero(data["obs"]["steps_left"][:, 0] == 8)
    assert len(starts) == 60
    lengths = np.diff(np.append(starts, data["steps"]))
    for start, length in zip(starts, lengths):
        target = data["obs"]["residual"][start].astype(np.int64)
        potential = rank_upper_bound(target, "standard") + 0.25 * np.count_nonzero(target)
        assert data["returns"][start] == pytest.approx(potential - length)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"epoch": 3}, "unknown pretrain key 'epoch'"),
        ({"sources": {"matmull": 1}}, "unknown demonstration source 'matmull'"),
        ({"episodes": 0}, "pretrain.episodes must be a positive integer"),
        ({"sources": {"matmul": 0}}, "non-negative weights, not all 0"),
    ],
)
def test_bad_pretrain_sections_are_named(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_config("ppo_tensor", pretrain=spec)


def test_pretraining_decomposes_the_matmul_tensor(tmp_path: Path) -> None:
    """A tiny behaviour-cloning run (no RL to speak of) finds a rank-8 decomposition of <2,2,2>,
    verified by the independent checker inside the evaluation record."""
    config = {
        **resolve_config("ppo_tensor"),
        "n_envs": 1,
        "policy_kwargs": {"net_arch": [128, 128]},
        "algo_kwargs": {
            "n_steps": 32,
            "batch_size": 32,
            "n_epochs": 1,
            "gamma": 1.0,
            "learning_rate": 1e-5,
        },
        "pretrain": {
            "episodes": 1500,
            "epochs": 15,
            "sources": {"matmul": 0.1, "elementary": 0.6, "synthetic": 0.3},
        },
        "eval": {"dataset": "2x2x2", "freq": 10_000},
        "wandb": {"mode": "disabled"},
    }
    zip_path = train(config=config, total_steps=32, run_dir=tmp_path, progress_bar=False)
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["pretrain"]["episodes"] == 1500
    assert meta["compute"]["env_steps"] == meta["compute"]["pretrain_env_steps"] + 32
    assert meta["validation"][0]["env_steps"] == 0  # the cloned policy is validated first
    (record,) = evaluate_model(zip_path, "2x2x2")
    assert (record.value, record.bound) == (8.0, 7.0)
    sampled = sampled_summary(zip_path, "2x2x2", repeats=20)
    assert 0.0 <= sampled["success_rate"] <= 1.0 and sampled["rank"] >= 8.0
