"""Self-labeling (train on the best of K sampled solutions, or on all K weighted against their
instance's mean): labels, weights, the loss step, smoke runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.envs import make_vec_env
from discoverygym.agents.rl.self_labeling import (
    fit_labels,
    label_loss,
    relative_weights,
    round_seeds,
    sample_labels,
    sample_rollouts,
)
from discoverygym.agents.rl.train import build_model, sidecars, train

JS = "discoverygym/JobShop-v0"
TINY = {
    "env_id": JS,
    "env_kwargs": {"dataset": "random-5x4", "normalize_reward": True},
    "policy": "jobshop",
    "policy_kwargs": {"scorer_kwargs": {"hidden": 16}},
    "n_envs": 2,
    "vec_env": "dummy",
    "algo_kwargs": {"n_steps": 16, "batch_size": 32, "n_epochs": 1},
    "wandb": {"mode": "disabled"},
}


@pytest.fixture(scope="module")
def model_and_config():
    config = resolve_config({**TINY, "self_labeling": {"samples": 6, "instances": 3}})
    env = make_vec_env(config)
    yield build_model(config, env), config
    env.close()


def test_labels_are_the_best_rollouts_of_the_same_instances(model_and_config) -> None:
    model, config = model_and_config
    seeds = round_seeds(0, 0, 3)
    assert len(set(seeds)) == 3 and round_seeds(0, 0, 3) == seeds != round_seeds(0, 1, 3)
    labels, finals, best, steps = sample_labels(model, config, seeds, samples=6, sample_seed=1)
    assert steps == 3 * 6 * 20  # 5 jobs x 4 machines: 20 decisions per rollout
    for label, rollouts, k in zip(labels, finals, best):
        assert len({f["instance"] for f in rollouts}) == 1  # one instance per seed
        spans = [f["makespan"] for f in rollouts]
        assert spans[k] == min(spans)
        assert len(label.actions) == len(label.observations) == len(label.masks) == 20
        # the label's actions were legal and each job is dispatched once per machine
        assert all(m[a] for m, a in zip(label.masks, label.actions))
        assert np.bincount(np.array(label.actions), minlength=5).tolist() == [4] * 5


def test_a_step_on_the_labels_raises_their_likelihood(model_and_config) -> None:
    model, config = model_and_config
    labels, *_ = sample_labels(model, config, round_seeds(3, 0, 2), samples=4, sample_seed=0)
    steps = [
        (o, a, t.masks[i])
        for t in labels
        for i, (o, a) in enumerate(zip(t.observations, t.actions))
    ]
    before = float(label_loss(model, steps).item())
    settings = {"epochs": 3, "batch_size": 64, "learning_rate": 3e-3}
    fit_labels(model, labels, settings, np.random.default_rng(0))
    after = float(label_loss(model, steps).item())
    assert after < before


def test_relative_weights_favour_the_better_rollouts() -> None:
    weights = relative_weights([[10.0, 12.0, 14.0], [5.0, 5.0], [3.0, 4.0]])
    np.testing.assert_allclose(weights[0], [np.sqrt(1.5), 0.0, -np.sqrt(1.5)])  # std sqrt(8/3)
    assert weights[1] == [0.0, 0.0]  # ties teach nothing
    assert weights[2][0] > 0 > weights[2][1] and sum(weights[2]) == pytest.approx(0.0)


def test_a_relative_step_moves_likelihood_from_the_worse_to_the_better(model_and_config) -> None:
    """Weights +1 and -1 on two rollouts of one instance: a step raises the first's likelihood
    and lowers the second's."""
    model, config = model_and_config
    trajectories, finals = sample_rollouts(model, config, round_seeds(5, 0, 1), 6, sample_seed=2)
    spans = [f["makespan"] for f in finals[0]]
    good, bad = trajectories[int(np.argmin(spans))], trajectories[int(np.argmax(spans))]
    assert min(spans) < max(spans)

    def nll(t):
        steps = [(o, a, t.masks[i]) for i, (o, a) in enumerate(zip(t.observations, t.actions))]
        return float(label_loss(model, steps).item())

    before = nll(good), nll(bad)
    settings = {"epochs": 2, "batch_size": 64, "learning_rate": 3e-3}
    fit_labels(model, [good, bad], settings, np.random.default_rng(0), weights=[1.0, -1.0])
    assert nll(good) < before[0] and nll(bad) > before[1]


def test_bad_self_labeling_settings_are_named() -> None:
    with pytest.raises(ValueError, match="unknown self_labeling key 'sample'"):
        resolve_config({**TINY, "self_labeling": {"sample": 4}})
    with pytest.raises(ValueError, match="self_labeling.samples must be a positive integer, got 0"):
        resolve_config({**TINY, "self_labeling": {"samples": 0}})
    with pytest.raises(ValueError, match="objective must be one of best, relative, got 'pomo'"):
        resolve_config({**TINY, "self_labeling": {"objective": "pomo"}})
    with pytest.raises(ValueError, match="samples must be >= 2, got 1"):
        resolve_config({**TINY, "self_labeling": {"objective": "relative", "samples": 1}})


@pytest.mark.parametrize("objective", ["best", "relative"])
def test_train_with_self_labeling_smoke(tmp_path: Path, objective: str) -> None:
    config = {
        **TINY,
        "self_labeling": {"samples": 4, "instances": 2, "batch_size": 32, "objective": objective},
        "eval": {"dataset": "random-5x4:seed=9,n=2", "freq": 100},
    }
    zip_path = train(config=config, total_steps=300, run_dir=tmp_path, progress_bar=False)
    meta = json.loads(sidecars(zip_path)[1].read_text())
    # rounds of 2 instances x 4 rollouts x 20 steps = 160 env steps, until >= 300
    assert meta["self_labeling"]["rounds"] == 2 and meta["compute"]["env_steps"] == 320
    assert len(meta["validation"]) >= 2 and np.isfinite(meta["validation"][-1]["gap_pct"])
    assert (tmp_path / "progress.csv").read_text().count("self_labeling/loss") == 1
