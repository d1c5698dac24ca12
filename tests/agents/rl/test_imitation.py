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

#: The job-shop cloning attempt's config (docs/results/rl_attempts: no model shipped from it).
BC_JOBSHOP = str(Path(__file__).parents[3] / "docs" / "results" / "rl_attempts" / "bc_jobshop.yaml")

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
        ({"expert_rule": "spt"}, "unknown pretrain.expert_rule 'spt'; known: mwkr, evolved"),
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


def test_rollout_demonstrations_are_the_experts_moves_in_the_policys_view() -> None:
    from discoverygym.agents.heuristics.binpacking_rollout import RolloutBestFit
    from discoverygym.agents.rl.envs import make_env

    config = resolve_config(
        "bc_binpacking_or",
        env_kwargs={"dataset": "uniform-120:seed=3,count=4", "observation": "histogram"},
        pretrain={"episodes": 3, "sources": {"rollout": 1}, "expert_samples": 4, "expert_horizon": 8},
    )
    data = collect_demonstrations(config, pretrain_settings(config["pretrain"]), seed=5)
    labelled = data["steps"] - data["unlabelled"]
    assert data["steps"] == 3 * 120 and data["actions"].shape == (labelled,)
    assert data["masks"].shape == (labelled, 13) and data["obs"]["candidates"].shape[0] == labelled
    assert data["masks"][np.arange(labelled), data["actions"]].all()  # every label is legal
    if data["unlabelled"]:
        return  # a move beyond the 12 tightest levels: the replay below would not line up
    # Replayed through the policy's own env (the top-k view), the labels pack as the expert.
    view = make_env(config["env_id"], config["env_kwargs"], config["reward"], monitor=False,
                    wrapper=config["wrapper"])
    raw = make_env(config["env_id"], config["env_kwargs"], monitor=False)
    expert, moves = RolloutBestFit(4, 8, seed=5), iter(data["actions"])
    view.reset(seed=5)
    raw.reset(seed=5)
    for _ in range(3):
        _, info = view.reset()
        obs, raw_info = raw.reset(options={"instance": info["instance"]})
        done = False
        while not done:
            _, _, terminated, truncated, info = view.step(int(next(moves)))
            obs, _, _, _, raw_info = raw.step(expert.act(obs, raw_info))
            done = terminated or truncated
        assert np.array_equal(info["assignment"], raw_info["assignment"])


def test_job_shop_demonstrations_are_the_rollouts_jobs() -> None:
    from discoverygym.agents.heuristics.jobshop_rollout import RolloutDispatcher
    from discoverygym.agents.rl.envs import make_env

    config = resolve_config(
        BC_JOBSHOP, env_kwargs={"dataset": "random-5x4", "normalize_reward": True},
        pretrain={"episodes": 3, "sources": {"rollout": 1}, "expert_rule": "mwkr"},
    )
    data = collect_demonstrations(config, pretrain_settings(config["pretrain"]), seed=5)
    assert data["steps"] == len(data["actions"]) == 3 * 20 and data["unlabelled"] == 0
    assert data["masks"].shape == (60, 5) and data["obs"]["jobs"].shape == (60, 5, 8)
    assert data["masks"][np.arange(60), data["actions"]].all()  # every label is legal
    # the same episodes replayed: each label is the expert's job, and the returns add up
    env = make_env(config["env_id"], config["env_kwargs"], monitor=False)
    expert, moves = RolloutDispatcher("mwkr"), iter(data["actions"])
    env.reset(seed=5)
    for episode in range(3):
        obs, info = env.reset()
        done, total = False, 0.0
        while not done:
            job = expert.act(obs, info)
            assert job == next(moves)
            obs, reward, done, _, info = env.step(job)
            total += reward
        assert data["returns"][episode * 20] == pytest.approx(total, rel=1e-5)  # gamma 1


@pytest.mark.parametrize(
    ("base", "overrides", "message"),
    [
        ("bc_binpacking_or", {"pretrain": {"sources": {"synthetic": 1}}},
         "no demonstration source 'synthetic' for discoverygym/OnlineBinPacking-v0; its sources: rollout"),
        ("ppo_tensor", {"pretrain": {"sources": {"rollout": 1}}},
         "no demonstration source 'rollout' for discoverygym/TensorDecomposition-v0"),
        ("bc_binpacking_or", {"env_kwargs": {"dataset": "or1", "observation": "bins"}, "wrapper": None,
                               "pretrain": {"sources": {"rollout": 1}}},
         "rollout demonstrations need env_kwargs.observation: histogram"),
        (BC_JOBSHOP, {"vec_env": "dummy", "wrapper": {"name": "binpacking_topk"}},
         "job-shop rollout demonstrations label the raw observation"),
    ],
)
def test_demonstrations_of_another_game_are_refused(base: str, overrides: dict, message: str) -> None:
    config = resolve_config(base, **overrides)
    with pytest.raises(ValueError, match=message):
        collect_demonstrations(config, pretrain_settings(config["pretrain"]), seed=0)


def test_a_cloned_policy_alone_is_a_model(tmp_path: Path) -> None:
    """``total_steps: 0`` with a pretrain section: the behaviour-cloned policy, validated and
    saved with its compute, plays any OR set through `evaluate` (the checker inside)."""
    config = resolve_config(
        "bc_binpacking_or",
        total_steps=0,
        pretrain={"episodes": 12, "epochs": 3, "sources": {"rollout": 1}, "expert_samples": 4},
        eval={"dataset": "uniform-120:seed=100,count=2", "episodes": 2},
        wandb={"mode": "disabled"},
    )
    zip_path = train(config=config, run_dir=tmp_path, progress_bar=False)
    meta = json.loads(sidecars(zip_path)[1].read_text())
    assert meta["compute"]["env_steps"] == meta["compute"]["pretrain_env_steps"] == 12 * 120
    assert [v["env_steps"] for v in meta["validation"]] == [0]  # validated once
    (record,) = evaluate_model(tmp_path / "best.zip", "or1")
    assert record.family == "rl" and record.value > 0
    with pytest.raises(ValueError, match=r"total_steps must be a positive integer \(0 only with a pretrain section\), got 0"):
        resolve_config("ppo_binpacking", total_steps=0)


def test_dagger_labels_the_states_the_cloned_policy_visits(tmp_path: Path) -> None:
    """A DAgger round plays the cloned policy and the expert labels every state it visits: its
    moves are counted apart, and the model is the one cloned on both sets."""
    from discoverygym.agents.rl import imitation
    from sb3_contrib import MaskablePPO

    config = resolve_config(
        BC_JOBSHOP, env_kwargs={"dataset": "random-5x4", "normalize_reward": True},
        pretrain={"episodes": 2, "epochs": 2, "sources": {"rollout": 1}, "dagger_rounds": 2, "dagger_episodes": 3},
        eval={"dataset": "random-5x4:seed=100,n=2"}, wandb={"mode": "disabled"},
    )
    zip_path = train(config=config, total_steps=0, run_dir=tmp_path, progress_bar=False)
    stats = json.loads(sidecars(zip_path)[1].read_text())["pretrain"]
    assert stats["dagger_steps"] == 2 * 3 * 20 and stats["env_steps"] == 2 * 20 + 2 * 3 * 20
    policy = MaskablePPO.load(zip_path).policy
    data = imitation._dagger_demonstrations(config, imitation.pretrain_settings(config["pretrain"]), policy, seed=4)
    assert len(data["actions"]) == 3 * 20 and data["masks"][np.arange(60), data["actions"]].all()
    with pytest.raises(ValueError, match="pretrain.dagger_rounds is for the job-shop rollout expert"):
        imitation.pretrain_from_demonstrations(
            resolve_config("bc_binpacking_or", pretrain={"dagger_rounds": 1, "sources": {"rollout": 1}}), policy
        )
