"""Deterministic evaluation of trained models, as `Agent`s and as `Record`s.

- `load_model(path)`: the SB3 model of a zip written by `train` plus its config and meta.
- `RLAgent`: the `Agent` protocol (family ``"rl"``) around a model; greedy, masked by
  ``info["action_mask"]`` when the env gives one, so suites and `run_episode` can play it.
- `play_greedy(model, config, episodes)`: plays several episodes in lockstep with one batched
  network call per step (the masks come from the maskable helper `get_action_masks`), and
  returns their final infos; used by validation during training and by `evaluate_model`.
- `play_best_of(model, config, episodes, samples)`: decoding by sampling (SPN's and POMO's
  protocol): K sampled rollouts per episode, each with its own generator, the best kept.
- `evaluate_model(path, dataset, samples=0)`: the game's metric on a benchmark set as
  `Record`s, computed by the same code as the heuristics' (see
  `discoverygym.agents.rl.games`); greedy, or with ``samples=K`` the best of K (``<name>@K``).

The network is called directly, not through SB3's ``predict``, so a size-agnostic policy
(see `policies`) runs on observation shapes other than those it was trained on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from discoverygym.agents.rl.config import load_config
from discoverygym.agents.rl.envs import agent_view, game_of, make_env, view_wrapper
from discoverygym.agents.rl.policies import scorer_of
from discoverygym.agents.records import Record
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import obs_as_tensor


def load_model(path: str | Path) -> tuple[BaseAlgorithm, dict[str, Any], dict[str, Any]]:
    """(model, resolved config, meta) of a model zip and its sidecar files."""
    from discoverygym.agents.rl.train import algo_class, sidecars

    zip_path = Path(path)
    if not zip_path.exists():
        raise FileNotFoundError(f"no model at {zip_path}")
    config_path, meta_path = sidecars(zip_path)
    if not config_path.exists():
        raise FileNotFoundError(f"{zip_path}: its config {config_path.name} is missing beside it")
    config = load_config(config_path)
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    th.set_num_threads(int(config.get("torch_threads", 1)))  # small nets: 1 thread is fastest
    model = algo_class(config["algo"]).load(zip_path, device="cpu")
    return model, config, meta


def stack_observations(observations: list[Any]) -> Any:
    if isinstance(observations[0], dict):
        return {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    return np.stack(observations)


def greedy_actions(
    model: BaseAlgorithm, observations: list[Any], masks: np.ndarray | None
) -> np.ndarray:
    """The greedy action of each observation (masked where `masks` is given), one batched call."""
    policy = model.policy
    policy.set_training_mode(False)
    obs = obs_as_tensor(stack_observations(observations), policy.device)
    with th.no_grad():
        if (scorer := scorer_of(policy)) is not None:
            # size-agnostic: the logits' length follows the observation, not the training space
            scores = scorer.forward_actor(policy.extract_features(obs))
        elif isinstance(policy, MaskableActorCriticPolicy):
            return policy.get_distribution(obs, action_masks=masks).mode().cpu().numpy()
        elif isinstance(policy, ActorCriticPolicy):
            dist = policy.get_distribution(obs)
            logits = getattr(dist.distribution, "logits", None)
            if masks is None or logits is None:  # e.g. MultiDiscrete: the per-entry modes
                return dist.mode().cpu().numpy()
            scores = logits
        else:  # DQN
            scores = policy.q_net(obs)
        if masks is not None:
            scores = scores.masked_fill(~th.as_tensor(masks, dtype=th.bool), -th.inf)
        return scores.argmax(dim=-1).cpu().numpy()


def model_name(path: str | Path) -> str:
    """A model's display name: the zip's stem, or its run folder's name for ``<run>/model.zip``."""
    path = Path(path)
    return path.parent.name if path.stem in ("model", "best") and path.parent.name else path.stem


class RLAgent:
    """A trained model as an `Agent` (family ``"rl"``): greedy, masked by ``info["action_mask"]``."""

    family = "rl"

    def __init__(
        self,
        model: BaseAlgorithm,
        config: dict[str, Any],
        name: str = "rl",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.name = name
        self.meta = meta or {}
        self._view = agent_view(config.get("wrapper"))

    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> RLAgent:
        model, config, meta = load_model(path)
        return cls(model, config, name=name or model_name(path), meta=meta)

    @property
    def compute(self) -> dict[str, float]:
        """Training compute of the model (env steps, CPU seconds), for `Record.compute`."""
        return {k: float(v) for k, v in self.meta.get("compute", {}).items()}

    def reset(self) -> None:
        """Greedy policies keep no per-episode state."""

    def act(self, obs: Any, info: dict[str, Any]) -> Any:
        view, mask, to_env = self._view(obs, info)
        action = greedy_actions(self.model, [view], None if mask is None else mask[None])[0]
        return to_env(action.item() if np.ndim(action) == 0 else action)


def sampled_actions(
    model: BaseAlgorithm, observations: list[Any], masks: np.ndarray | None
) -> np.ndarray:
    """Actions sampled from the policy's distribution (masked where `masks` is given), one
    batched call; torch's global RNG draws them (seed it with ``torch.manual_seed``)."""
    policy = model.policy
    policy.set_training_mode(False)
    obs = obs_as_tensor(stack_observations(observations), policy.device)
    with th.no_grad():
        if isinstance(policy, MaskableActorCriticPolicy):
            return policy.get_distribution(obs, action_masks=masks).sample().cpu().numpy()
        if isinstance(policy, ActorCriticPolicy):
            return policy.get_distribution(obs).sample().cpu().numpy()
    raise ValueError(f"sampling needs an actor-critic policy, not {type(policy).__name__}")


Chooser = Callable[[list[int], list[Any], "np.ndarray | None"], np.ndarray]


def play_greedy(
    model: BaseAlgorithm,
    env_id: str,
    episodes: list[tuple[dict[str, Any], dict[str, Any] | None]],
    seed: int = 0,
    wrapper: dict[str, Any] | None = None,
    deterministic: bool = True,
) -> list[dict[str, Any]]:
    """Play every ``(env_kwargs, reset options)`` episode greedily in lockstep; final infos.

    `wrapper` is the config's view wrapper (the policy sees what it saw in training). With
    ``deterministic=False`` the actions are sampled from the policy (`sampled_actions`; torch
    is seeded with `seed`), e.g. for the success rate of a stochastic policy.
    """
    if not deterministic:
        th.manual_seed(seed)
    choose = greedy_actions if deterministic else sampled_actions
    seeds = [seed + i for i in range(len(episodes))]
    return play_episodes(
        model, env_id, episodes, seeds, wrapper, lambda ids, obs, masks: choose(model, obs, masks)
    )


def play_episodes(
    model: BaseAlgorithm,
    env_id: str,
    episodes: list[tuple[dict[str, Any], dict[str, Any] | None]],
    seeds: list[int],
    wrapper: dict[str, Any] | None,
    choose: Chooser,
) -> list[dict[str, Any]]:
    """Play the episodes in lockstep (env i reset with ``seeds[i]``); `choose(ids,
    observations, masks)` gives the actions of the still active episodes `ids` (indices into
    `episodes`). Returns the final infos."""
    envs = [
        make_env(env_id, kwargs, monitor=False, wrapper=view_wrapper(wrapper))
        for kwargs, _ in episodes
    ]
    try:
        masked = is_masking_supported(envs[0])
        observations, finals = [], [None] * len(envs)
        for i, (env, (_, options)) in enumerate(zip(envs, episodes)):
            obs, _ = env.reset(seed=seeds[i], options=options)
            observations.append(obs)
        active = list(range(len(envs)))
        while active:
            masks = (
                np.stack([get_action_masks(envs[i]) for i in active]).astype(bool)
                if masked
                else None
            )
            actions = choose(active, [observations[i] for i in active], masks)
            still = []
            for i, action in zip(active, actions):
                obs, _, terminated, truncated, info = envs[i].step(
                    action.item() if np.ndim(action) == 0 else action
                )
                observations[i] = obs
                if terminated or truncated:
                    finals[i] = info
                else:
                    still.append(i)
            active = still
        return finals  # type: ignore[return-value]
    finally:
        for env in envs:
            env.close()


def action_logits(
    model: BaseAlgorithm, observations: list[Any], masks: np.ndarray | None
) -> list[np.ndarray]:
    """The policy's logits, one (B, n) float64 array per action entry (one for a Discrete
    action, one per entry of a MultiDiscrete one), illegal actions (`masks`) at -inf."""
    policy = model.policy
    policy.set_training_mode(False)
    obs = obs_as_tensor(stack_observations(observations), policy.device)
    with th.no_grad():
        if (scorer := scorer_of(policy)) is not None:
            parts = [scorer.forward_actor(policy.extract_features(obs))]
        elif isinstance(policy, (MaskableActorCriticPolicy, ActorCriticPolicy)):
            dist = policy.get_distribution(obs).distribution
            parts = [d.logits for d in dist] if isinstance(dist, list) else [dist.logits]
        else:
            raise TypeError(
                f"sampling needs a policy with action probabilities, not {type(policy).__name__}"
            )
    logits = [part.cpu().numpy().astype(np.float64) for part in parts]
    if masks is not None:
        if len(logits) != 1:
            raise ValueError("action masks are supported for a single discrete action only")
        logits[0] = np.where(masks, logits[0], -np.inf)
    return logits


def gumbel_chooser(
    model: BaseAlgorithm, rngs: list[np.random.Generator] | None
) -> Chooser:
    """Actions of episode i sampled with its own generator ``rngs[i]`` (Gumbel-max on the
    logits: the policy's distribution, and the same draws whatever else is in the batch);
    ``rngs=None``: the greedy (argmax) actions."""

    def choose(ids: list[int], observations: list[Any], masks: np.ndarray | None) -> np.ndarray:
        logits = action_logits(model, observations, masks)
        if rngs is not None:
            for part in logits:
                part += np.stack([rngs[i].gumbel(size=part.shape[1]) for i in ids])
        picks = [part.argmax(axis=1) for part in logits]
        return picks[0] if len(picks) == 1 else np.stack(picks, axis=1)

    return choose


def rollout_rng(seed: int, instance: int, sample: int) -> np.random.Generator:
    """The generator of sampled rollout `sample` of instance `instance` (independent streams)."""
    return np.random.default_rng(np.random.SeedSequence([seed, instance, sample]))


def play_best_of(
    model: BaseAlgorithm,
    config: dict[str, Any],
    episodes: list[tuple[dict[str, Any], dict[str, Any] | None]],
    samples: int,
    seed: int = 0,
    deterministic: bool = False,
    chunk: int = 256,
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Decoding by sampling (SPN's and POMO's protocol): each episode played `samples` times
    with actions sampled from the policy, the best final kept by the game's per-episode score
    (`games.Adapter.episode_score`; first on ties). Rollout k of episode i samples with
    `rollout_rng(seed, i, k)` and resets its env with ``seed + i``, so a rollout is the same
    whether played alone or in a batch. ``deterministic=True`` plays argmax actions instead.

    Returns (best final per episode, every rollout's final per episode); at most `chunk`
    envs are stepped together.
    """
    from discoverygym.agents.rl import games

    if isinstance(samples, bool) or not isinstance(samples, int):
        raise TypeError(f"samples must be a positive integer, got {samples!r}")
    if samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    adapter = games.adapter(game_of(config["env_id"]))
    jobs = [(i, k) for i in range(len(episodes)) for k in range(samples)]
    finals: list[dict[str, Any]] = []
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        rngs = None if deterministic else [rollout_rng(seed, i, k) for i, k in part]
        finals += play_episodes(
            model,
            config["env_id"],
            [episodes[i] for i, _ in part],
            [seed + i for i, _ in part],
            config.get("wrapper"),
            gumbel_chooser(model, rngs),
        )
    per_episode = [finals[i * samples : (i + 1) * samples] for i in range(len(episodes))]
    best = [min(rollouts, key=adapter.episode_score) for rollouts in per_episode]
    return best, per_episode


def validate(model: BaseAlgorithm, config: dict[str, Any]) -> dict[str, float]:
    """The game's validation metrics (key ``score``: lower is better) on ``config['eval']``.

    ``eval.dataset`` is one dataset spec or a list of them (e.g. a small and a large job shop
    size, so that the checkpoint kept is good on both): with a list, each metric is the mean
    over the sets of the per-set metric, and each set's own metrics are kept as
    ``"<spec>/<metric>"``.
    """
    from discoverygym.agents.rl import games

    spec = dict(config["eval"])
    adapter = games.adapter(game_of(config["env_id"]))
    env_kwargs = {**config["env_kwargs"], **(spec.get("env_kwargs") or {})}
    datasets = spec["dataset"] if isinstance(spec["dataset"], list) else [spec["dataset"]]
    if not datasets:
        raise ValueError("eval.dataset is an empty list; expected a dataset spec or a list of them")
    parts = []
    for dataset in datasets:
        episodes = adapter.episodes(dataset, env_kwargs, limit=spec.get("episodes"))
        finals = play_greedy(
            model,
            config["env_id"],
            episodes,
            seed=int(spec.get("seed", 0)),
            wrapper=config.get("wrapper"),
        )
        parts.append(adapter.summarise(finals, dataset))
    if len(parts) == 1:
        return parts[0]
    common = set.intersection(*(set(part) for part in parts))
    result = {key: float(np.mean([part[key] for part in parts])) for key in sorted(common)}
    for dataset, part in zip(datasets, parts):
        result.update({f"{dataset}/{key}": value for key, value in part.items()})
    return result


class SizeMismatch(ValueError):
    """A fixed-size model (e.g. an MLP over the tensor game's residual) asked to play an
    instance whose observation has another shape."""


def check_playable(
    model: BaseAlgorithm,
    config: dict[str, Any],
    episodes: list[tuple[dict[str, Any], dict[str, Any] | None]],
    name: str,
    dataset: str,
) -> None:
    """Raise `SizeMismatch` when `model`'s network takes observations of a fixed shape that the
    episodes' envs do not have (size-agnostic `Scorer` policies play any size)."""
    if scorer_of(model.policy) is not None or not episodes:
        return
    env = make_env(
        config["env_id"],
        episodes[0][0],
        monitor=False,
        wrapper=view_wrapper(config.get("wrapper")),
    )
    try:
        space = env.observation_space
    finally:
        env.close()
    trained = model.observation_space

    def shapes(sp: Any) -> Any:
        return {k: s.shape for k, s in sp.spaces.items()} if hasattr(sp, "spaces") else sp.shape

    if shapes(space) != shapes(trained):
        raise SizeMismatch(
            f"{name} was trained on observations of shape {shapes(trained)}; {dataset!r} has "
            f"{shapes(space)} and this model's network takes one size only"
        )


def model_game(path: str | Path) -> str:
    """The game a model zip was trained on (from its config beside it; the model is not loaded)."""
    from discoverygym.agents.rl.train import sidecars

    zip_path = Path(path)
    if not zip_path.exists():
        raise FileNotFoundError(f"no model at {zip_path}")
    config_path = sidecars(zip_path)[0]
    if not config_path.exists():
        raise FileNotFoundError(f"{zip_path}: its config {config_path.name} is missing beside it")
    return game_of(load_config(config_path)["env_id"])


def evaluate_model(
    path: str | Path,
    dataset: str,
    name: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    samples: int = 0,
    seed: int = 0,
) -> list[Record]:
    """Evaluation of a saved model on a benchmark set, as the heuristics' `Record`s.

    ``samples=0``: greedy (argmax) decoding. ``samples=K``: the best of K sampled rollouts per
    instance (`play_best_of`, seeded by `seed`); the record's agent is ``<name>@K``, its
    ``seconds`` the whole sampled evaluation's wall time, and its ``compute`` adds
    ``samples: K`` to the training compute. Raises `SizeMismatch` (a ValueError) for a
    fixed-size model on a set of another size.
    """
    from discoverygym.agents.rl import games

    agent = RLAgent.load(path, name=name)
    game = game_of(agent.config["env_id"])
    adapter = games.adapter(game)
    kwargs = {**adapter.eval_env_kwargs(agent.config["env_kwargs"]), **(env_kwargs or {})}
    start = time.perf_counter()
    episodes = adapter.episodes(dataset, kwargs, limit=None)
    check_playable(agent.model, agent.config, episodes, agent.name, dataset)
    if samples:
        finals, _ = play_best_of(agent.model, agent.config, episodes, samples, seed=seed)
        compute = {**agent.compute, "samples": float(samples)}
        label = f"{agent.name}@{samples}"
        return adapter.records(finals, dataset, label, compute, time.perf_counter() - start)
    finals = play_greedy(
        agent.model, agent.config["env_id"], episodes, wrapper=agent.config.get("wrapper")
    )
    return adapter.records(finals, dataset, agent.name, agent.compute, time.perf_counter() - start)


def sampled_summary(
    path: str | Path, dataset: str, repeats: int = 100, seed: int = 0
) -> dict[str, float]:
    """The game's summary metrics (e.g. tensor: mean rank and success rate) of the model's
    *sampled* policy, each episode of `dataset` played `repeats` times (seeds ``seed + i``)."""
    from discoverygym.agents.rl import games

    agent = RLAgent.load(path)
    adapter = games.adapter(game_of(agent.config["env_id"]))
    kwargs = adapter.eval_env_kwargs(agent.config["env_kwargs"])
    episodes = adapter.episodes(dataset, kwargs, limit=None) * int(repeats)
    finals = play_greedy(
        agent.model,
        agent.config["env_id"],
        episodes,
        seed=seed,
        wrapper=agent.config.get("wrapper"),
        deterministic=False,
    )
    return adapter.summarise(finals, dataset)


def shipped_models(game: str | None = None) -> dict[str, Path]:
    """Shipped trained models by name (the zip's stem), optionally only those of `game`."""
    from discoverygym.agents.rl.train import sidecars
    from discoverygym.agents.shipped import models_dir

    out = {}
    for path in sorted(models_dir().glob("*.zip")):
        config_path = sidecars(path)[0]
        if not config_path.exists():
            continue
        if game is None or game_of(load_config(config_path)["env_id"]) == game:
            out[path.stem] = path
    return out


def is_model_path(agent: str) -> bool:
    """Whether an `--agent` value names a model zip (rather than a heuristic or program)."""
    return agent.endswith(".zip")


__all__ = [
    "RLAgent",
    "SizeMismatch",
    "check_playable",
    "evaluate_model",
    "greedy_actions",
    "is_model_path",
    "load_model",
    "model_game",
    "play_best_of",
    "play_greedy",
    "sampled_actions",
    "sampled_summary",
    "shipped_models",
    "validate",
]
