"""Self-labeling: train a policy on the best of the K solutions it samples itself.

The Self-Labeling SPN (Corsini et al., NeurIPS 2024, "Self-Labeling the Job Shop Scheduling
Problem") trains without rewards: for each training instance the current policy samples K
solutions, the best one (shortest makespan) becomes the pseudo-label, and the policy takes a
gradient step on the cross-entropy of that solution's actions. Here, each round:

1. draws ``instances`` training instances from the config's env (``env_kwargs`` and view
   wrapper as in training; reset seeds from `round_seeds`, the same seed for an instance's K
   rollouts, so that they play the same instance);
2. samples ``samples`` rollouts of each (`evaluate.gumbel_chooser`: the policy's distribution,
   one generator per rollout) and keeps the best by the game's episode score
   (`games.Adapter.episode_score`: the makespan, the bins used, the rank; first on ties);
3. takes ``epochs`` passes over the best rollouts' steps in minibatches of ``batch_size``,
   minimising the negative log-likelihood of their actions (masked where the env has masks)
   with the policy's optimizer at ``learning_rate``. Neither the reward nor the critic is used.

``objective: relative`` replaces step 3's label by every rollout, weighted by how it compares
with the other rollouts of its instance: ``(mean score - score) / std`` over the K, so better
than the instance's mean pushes its actions up and worse pushes them down (POMO's shared
baseline, Kwon et al. 2020, normalised per instance as in GRPO). Rollouts that tie with the mean
carry no weight and are skipped; an instance whose K rollouts all tie teaches nothing.

Config section (``self_labeling``; with it, `train` runs this instead of the algorithm's
``learn``, for ``total_steps`` env steps counting every sampled rollout's steps, validating
every ``eval.freq`` steps; the model is saved, loaded and evaluated as any other)::

    self_labeling:
      samples: 16          # K rollouts per instance
      instances: 8         # instances per round
      epochs: 1
      batch_size: 256
      learning_rate: 0.0001
      objective: best      # or relative

The training distribution is the env's own (e.g. job shop ``random-10x10``: a fresh instance
per reset seed); curricula (`envs.TensorCurriculum`) and reward wrappers play no part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from discoverygym.agents.rl import games
from discoverygym.agents.rl.envs import game_of
from discoverygym.agents.rl.evaluate import (
    Chooser,
    gumbel_chooser,
    play_episodes,
    rollout_rng,
    stack_observations,
)
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.utils import obs_as_tensor

SELF_LABELING_DEFAULTS: dict[str, Any] = {
    "samples": 16,
    "instances": 8,
    "epochs": 1,
    "batch_size": 256,
    "learning_rate": 1e-4,
    "objective": "best",
}
OBJECTIVES = ("best", "relative")


def self_labeling_settings(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The ``self_labeling`` section resolved against `SELF_LABELING_DEFAULTS`; errors name the
    bad key or value."""
    if not isinstance(spec, dict):
        raise TypeError(f"self_labeling must be a mapping such as {{samples: 16}}, got {spec!r}")
    unknown = sorted(set(spec) - set(SELF_LABELING_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown self_labeling key {unknown[0]!r}; known: {', '.join(SELF_LABELING_DEFAULTS)}"
        )
    out = {**SELF_LABELING_DEFAULTS, **spec}
    for key in ("samples", "instances", "epochs", "batch_size"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"self_labeling.{key} must be a positive integer, got {value!r}")
    rate = out["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise ValueError(f"self_labeling.learning_rate must be a positive number, got {rate!r}")
    if out["objective"] not in OBJECTIVES:
        raise ValueError(f"self_labeling.objective must be one of {', '.join(OBJECTIVES)}, "
                         f"got {out['objective']!r}")
    if out["objective"] == "relative" and out["samples"] < 2:
        raise ValueError("self_labeling.objective relative compares an instance's rollouts: "
                         f"samples must be >= 2, got {out['samples']}")
    return out


@dataclass
class Trajectory:
    """What the policy saw and did in one rollout (masks empty for a game without masks)."""

    observations: list[Any] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)


def recording(choose: Chooser, trajectories: list[Trajectory]) -> Chooser:
    """`choose`, also appending each step's observation, mask and action to ``trajectories``."""

    def wrapped(ids: list[int], observations: list[Any], masks: np.ndarray | None) -> np.ndarray:
        actions = choose(ids, observations, masks)
        for j, i in enumerate(ids):
            obs = observations[j]
            copy = {k: np.array(v) for k, v in obs.items()} if isinstance(obs, dict) else obs
            trajectories[i].observations.append(copy)
            trajectories[i].actions.append(np.array(actions[j]))
            if masks is not None:
                trajectories[i].masks.append(np.array(masks[j]))
        return actions

    return wrapped


def round_seeds(seed: int, round_index: int, instances: int) -> list[int]:
    """Reset seeds of the training instances of one round (independent of other rounds)."""
    state = np.random.SeedSequence([seed, round_index]).generate_state(instances)
    return [int(s) for s in state]


def sample_rollouts(
    model: BaseAlgorithm,
    config: dict[str, Any],
    seeds: list[int],
    samples: int,
    sample_seed: int,
) -> tuple[list[Trajectory], list[list[dict[str, Any]]]]:
    """`samples` sampled rollouts of each instance (env reset seed ``seeds[b]``): every
    rollout's trajectory (instance-major: rollout k of instance b at ``b * samples + k``) and
    every rollout's final info per instance."""
    jobs = [(b, k) for b in range(len(seeds)) for k in range(samples)]
    trajectories = [Trajectory() for _ in jobs]
    rngs = [rollout_rng(sample_seed, b, k) for b, k in jobs]
    episode = (dict(config["env_kwargs"]), None)
    finals = play_episodes(
        model,
        config["env_id"],
        [episode] * len(jobs),
        [seeds[b] for b, _ in jobs],
        config.get("wrapper"),
        recording(gumbel_chooser(model, rngs), trajectories),
    )
    per_instance = [finals[b * samples : (b + 1) * samples] for b in range(len(seeds))]
    return trajectories, per_instance


def sample_labels(
    model: BaseAlgorithm,
    config: dict[str, Any],
    seeds: list[int],
    samples: int,
    sample_seed: int,
) -> tuple[list[Trajectory], list[list[dict[str, Any]]], list[int], int]:
    """`samples` sampled rollouts of each instance (env reset seed ``seeds[b]``): (the best
    rollout's trajectory per instance, every rollout's final info per instance, the index of
    the best rollout per instance, the env steps of all the rollouts)."""
    adapter = games.adapter(game_of(config["env_id"]))
    trajectories, per_instance = sample_rollouts(model, config, seeds, samples, sample_seed)
    labels, best = best_rollouts(trajectories, episode_scores(adapter, per_instance))
    return labels, per_instance, best, sum(len(t.actions) for t in trajectories)


def best_rollouts(
    trajectories: list[Trajectory], scores: list[list[float]]
) -> tuple[list[Trajectory], list[int]]:
    """The best (lowest-score, first on ties) rollout's trajectory of each instance, and its
    index, from `sample_rollouts`' instance-major trajectories and their `episode_scores`."""
    best = [int(np.argmin(row)) for row in scores]
    return [trajectories[b * len(row) + k] for b, (k, row) in enumerate(zip(best, scores))], best


def episode_scores(adapter: Any, finals: list[list[dict[str, Any]]]) -> list[list[float]]:
    """The game's episode score (lower is better) of every rollout, per instance."""
    return [[adapter.episode_score(f) for f in rollouts] for rollouts in finals]


def relative_weights(scores: list[list[float]]) -> list[list[float]]:
    """Per instance, each rollout's ``(mean - score) / std`` over the instance's rollouts
    (lower scores are better); all zeros where the rollouts tie."""
    out = []
    for row in scores:
        values = np.asarray(row, dtype=np.float64)
        spread = values.std()
        out.append([0.0] * len(row) if spread == 0 else list((values.mean() - values) / spread))
    return out


def label_loss(
    model: BaseAlgorithm,
    steps: list[tuple[Any, Any, np.ndarray | None]],
    weights: np.ndarray | None = None,
) -> th.Tensor:
    """Mean negative log-likelihood of the labelled actions of ``(observation, action, mask)``
    steps under the model's policy (with gradients), each step's term times its weight when
    `weights` are given (a policy-gradient loss with those advantages)."""
    policy = model.policy
    obs = obs_as_tensor(stack_observations([o for o, _, _ in steps]), policy.device)
    actions = th.as_tensor(np.stack([a for _, a, _ in steps]), device=policy.device)
    if isinstance(policy, MaskableActorCriticPolicy):
        masks = None if steps[0][2] is None else np.stack([m for _, _, m in steps])
        _, log_prob, _ = policy.evaluate_actions(obs, actions, action_masks=masks)
    else:
        _, log_prob, _ = policy.evaluate_actions(obs, actions)
    if weights is not None:
        log_prob = log_prob * th.as_tensor(weights, dtype=log_prob.dtype, device=log_prob.device)
    return -log_prob.mean()


def fit_labels(
    model: BaseAlgorithm,
    labels: list[Trajectory],
    settings: dict[str, Any],
    rng: np.random.Generator,
    weights: list[float] | None = None,
) -> float:
    """`settings['epochs']` passes of minibatch gradient steps on the labels' NLL (each
    trajectory's steps times its weight when `weights` are given); the mean loss of the last
    pass."""
    steps = [
        (o, a, t.masks[i] if t.masks else None)
        for t in labels
        for i, (o, a) in enumerate(zip(t.observations, t.actions))
    ]
    step_weights = (
        None
        if weights is None
        else np.asarray([w for t, w in zip(labels, weights) for _ in t.actions], dtype=np.float32)
    )
    policy = model.policy
    policy.set_training_mode(True)
    for group in policy.optimizer.param_groups:
        group["lr"] = float(settings["learning_rate"])
    size = int(settings["batch_size"])
    losses: list[float] = []
    for _ in range(int(settings["epochs"])):
        losses = []
        order = rng.permutation(len(steps))
        for start in range(0, len(steps), size):
            chosen = order[start : start + size]
            batch = [steps[i] for i in chosen]
            loss = label_loss(model, batch, None if step_weights is None else step_weights[chosen])
            policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            policy.optimizer.step()
            losses.append(float(loss.item()))
    policy.set_training_mode(False)
    return float(np.mean(losses))


def self_label(
    model: BaseAlgorithm,
    config: dict[str, Any],
    validation: Any = None,
    verbose: int = 0,
) -> dict[str, float]:
    """Train `model` by self-labeling for ``config['total_steps']`` env steps (see the module
    docstring); logs under ``self_labeling/`` and validates through `validation` (a
    `callbacks.ValidationCallback`). Returns the run's statistics."""
    settings = self_labeling_settings(config["self_labeling"])
    adapter = games.adapter(game_of(config["env_id"]))
    rng = np.random.default_rng(config["seed"])
    steps, rounds, start = 0, 0, time.perf_counter()
    best_scores: list[float] = []
    while steps < config["total_steps"]:
        seeds = round_seeds(config["seed"], rounds, settings["instances"])
        trajectories, finals = sample_rollouts(
            model, config, seeds, settings["samples"], sample_seed=config["seed"] * 7919 + rounds
        )
        played = sum(len(t.actions) for t in trajectories)
        scores = episode_scores(adapter, finals)
        if settings["objective"] == "best":
            loss = fit_labels(model, best_rollouts(trajectories, scores)[0], settings, rng)
        else:
            weights = [w for row in relative_weights(scores) for w in row]
            kept = [i for i, w in enumerate(weights) if w != 0]
            loss = 0.0
            if kept:
                loss = fit_labels(model, [trajectories[i] for i in kept], settings, rng,
                                  weights=[weights[i] for i in kept])
        steps += played
        best_scores.append(float(np.mean([min(s) for s in scores])))
        model.num_timesteps = steps
        model.logger.record("self_labeling/loss", loss)
        model.logger.record("self_labeling/best_score", best_scores[-1])
        model.logger.record("self_labeling/mean_score", float(np.mean(scores)))
        model.logger.dump(steps)
        if verbose:
            print(f"self-labeling round {rounds}: {steps} steps, loss {loss:.4f}")
        if validation is not None:
            validation.validate_if_due(model)
        rounds += 1
    return {
        "rounds": float(rounds),
        "env_steps": float(steps),
        "seconds": round(time.perf_counter() - start, 2),
        "first_best_score": best_scores[0],
        "last_best_score": best_scores[-1],
    }
