"""Supervised pretraining of a policy on demonstrations (AlphaTensor's recipe, before RL).

AlphaTensor trains its network on synthetic demonstrations (random factors summed into a
target) as well as by playing. A factorised policy (SB3's ``MultiDiscrete``: one categorical
per entry of u, v, w) cannot represent "any one of these R terms", so the marginal of each
entry is blurred when a demonstration's terms come in random order. Here every demonstration
is played in a canonical order, so that the labelled move is a function of the residual:

- the next term is one of the remaining terms that is nonzero at the first nonzero entry of
  the residual (flattened order); ties go to the lexicographically smallest action.

Demonstration sources (``pretrain.sources``, weights of a mixture; see `GAME_SOURCES`).
Tensor game:

- ``matmul``: the naive decomposition of the matrix multiplication target (the n*m*p
  elementary products, as `NaiveTensorAgent` plays them);
- ``synthetic``: R ~ U{1..max_rank} random rank-one terms with entries from the coefficient
  set (the env's ``{"target": "synthetic"}``, its ``info["demonstration"]``);
- ``elementary``: k ~ U{1..max_steps} distinct random elementary terms e_a (x) e_b (x) e_c
  (sparse targets like the matmul tensor, which is not among them unless drawn by chance).

Bin packing:

- ``rollout``: episodes of the config's training set played by rollout over best fit
  (`discoverygym.agents.heuristics.binpacking_rollout`; ``expert_samples`` futures of
  ``expert_horizon`` items per candidate), each move labelled in the policy's view. Cloning a
  lookahead expert into a greedy policy is approximate policy iteration (Bertsekas &
  Tsitsiklis 1996; expert iteration, Anthony et al. 2017): the policy keeps the expert's
  choices at a single network call per item.

Job shop:

- ``rollout``: episodes of the config's training set played by rollout over a non-delay
  dispatching rule (`discoverygym.agents.heuristics.jobshop_rollout`; ``expert_rule``: a name
  of its `LINEAR_RULES`, ``mwkr`` or an LLM-evolved rule's weights): every legal job is tried
  and the rule completes the schedule; each move is labelled with its job and the action mask.

Every demonstration is played in the config's training env (reward wrapper included), so the
value head is fitted to the demonstration's return-to-go (discount ``algo_kwargs.gamma``) as
well: PPO fine-tuning then starts from a critic that matches the cloned actor. With masked
(``maskable_ppo``) policies the likelihood is taken over the legal actions.

Config section (``pretrain``, all optional)::

    pretrain:
      episodes: 20000          # demonstrations
      epochs: 30
      batch_size: 512
      learning_rate: 0.001
      vf_coef: 0.5
      sources: {matmul: 0.05, synthetic: 0.6, elementary: 0.35}
      max_rank: null           # synthetic ranks up to this (default: env's max_steps)
      expert_samples: 16       # rollout: sampled futures per candidate
      expert_horizon: 40       # rollout: items per sampled future
      expert_rule: evolved     # job-shop rollout: the base rule (a jobshop_rollout.LINEAR_RULES name)
      dagger_rounds: 0         # job shop: DAgger rounds after the cloning (Ross et al. 2011)
      dagger_episodes: 50      # job shop: episodes the policy plays, the expert labels, per round
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch as th
from discoverygym.agents.heuristics.jobshop_rollout import LINEAR_RULES
from discoverygym.agents.rl.envs import game_of, make_env
from discoverygym.envs.tensor.instances import encode_action
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import obs_as_tensor

#: Demonstration sources by game (see the module docstring).
GAME_SOURCES: dict[str, tuple[str, ...]] = {
    "tensor": ("matmul", "synthetic", "elementary"),
    "binpacking": ("rollout",),
    "jobshop": ("rollout",),
}
SOURCES: tuple[str, ...] = tuple(s for sources in GAME_SOURCES.values() for s in sources)
PRETRAIN_DEFAULTS: dict[str, Any] = {
    "episodes": 20_000,
    "epochs": 30,
    "batch_size": 512,
    "learning_rate": 1e-3,
    "vf_coef": 0.5,
    "sources": {"matmul": 0.05, "synthetic": 0.6, "elementary": 0.35},
    "max_rank": None,
    "expert_samples": 16,  # rollout: sampled futures per candidate
    "expert_horizon": 40,  # rollout: items per sampled future
    "expert_rule": "evolved",  # job-shop rollout: its base rule (jobshop_rollout.LINEAR_RULES)
    "dagger_rounds": 0,  # job shop: rounds of DAgger after the cloning
    "dagger_episodes": 50,  # job shop: episodes the policy plays (and the expert labels) per round
}


def pretrain_settings(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The ``pretrain`` section resolved against `PRETRAIN_DEFAULTS`; errors name bad keys/values."""
    spec = dict(spec or {})
    unknown = sorted(set(spec) - set(PRETRAIN_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown pretrain key {unknown[0]!r}; known: {', '.join(PRETRAIN_DEFAULTS)}"
        )
    out = {**PRETRAIN_DEFAULTS, **spec}
    sources = dict(out["sources"])
    bad = sorted(set(sources) - set(SOURCES))
    if bad:
        raise ValueError(f"unknown demonstration source {bad[0]!r}; known: {', '.join(SOURCES)}")
    if any(float(w) < 0 for w in sources.values()) or sum(map(float, sources.values())) <= 0:
        raise ValueError(f"pretrain.sources must be non-negative weights, not all 0: {sources}")
    out["sources"] = sources
    for key in ("episodes", "epochs", "batch_size", "expert_samples", "expert_horizon", "dagger_episodes"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"pretrain.{key} must be a positive integer, got {out[key]!r}")
    if not isinstance(out["dagger_rounds"], int) or out["dagger_rounds"] < 0:
        raise ValueError(f"pretrain.dagger_rounds must be a non-negative integer, got {out['dagger_rounds']!r}")
    if out["expert_rule"] not in LINEAR_RULES:
        raise ValueError(f"unknown pretrain.expert_rule {out['expert_rule']!r}; known: {', '.join(LINEAR_RULES)}")
    return out


def canonical_terms(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, field: str = "standard"
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The terms (columns) of a decomposition in canonical order (see the module docstring).

    Zero terms are dropped; terms left once the residual is zero (they cancel) are dropped too.
    """
    terms = [
        (u[:, r].copy(), v[:, r].copy(), w[:, r].copy())
        for r in range(u.shape[1])
        if u[:, r].any() and v[:, r].any() and w[:, r].any()
    ]

    def tensor(t: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        return np.einsum("a,b,c->abc", *t)

    parts = [tensor(t) for t in terms]
    residual = sum(parts, np.zeros((u.shape[0], v.shape[0], w.shape[0]), dtype=np.int64))
    ordered = []
    while terms:
        flat = (residual % 2 if field == "mod2" else residual).ravel()
        nonzero = np.flatnonzero(flat)
        if nonzero.size == 0:
            break
        first = nonzero[0]
        candidates = [
            i
            for i, part in enumerate(parts)
            if (part.ravel()[first] % 2 if field == "mod2" else part.ravel()[first]) != 0
        ]
        if not candidates:  # cancelling terms: no remaining term touches the entry
            break
        best = min(candidates, key=lambda i: tuple(np.concatenate(terms[i]).tolist()))
        ordered.append(terms.pop(best))
        residual = residual - parts.pop(best)
    return ordered


def _elementary(
    rng: np.random.Generator, shape: tuple[int, int, int], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = rng.choice(int(np.prod(shape)), size=k, replace=False)
    u, v, w = (np.zeros((size, k), dtype=np.int64) for size in shape)
    for r, cell in enumerate(cells):
        a, b, c = np.unravel_index(int(cell), shape)
        u[a, r] = v[b, r] = w[c, r] = 1
    return u, v, w


def _matmul_naive(target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = np.argwhere(target != 0)
    k = len(cells)
    u, v, w = (np.zeros((size, k), dtype=np.int64) for size in target.shape)
    for r, (a, b, c) in enumerate(cells):
        u[a, r], v[b, r], w[c, r] = 1, 1, int(target[a, b, c])
    return u, v, w


def returns_to_go(rewards: list[float], gamma: float) -> list[float]:
    """The discounted return from each step of an episode to its end."""
    out, acc = [], 0.0
    for reward in reversed(rewards):
        acc = reward + gamma * acc
        out.append(acc)
    return out[::-1]


def collect_demonstrations(
    config: dict[str, Any], settings: dict[str, Any], seed: int, progress: bool = False
) -> dict[str, Any]:
    """Play `settings['episodes']` demonstrations in the config's env (reward wrapper included).

    Returns ``{"obs": {key: array}, "actions": array, "returns": array, "steps": int,
    "episodes": int, "by_source": {source: episodes}}``; bin packing adds ``"masks"`` (the
    legal actions of each labelled move) and ``"unlabelled"`` (moves played but not labelled).
    `progress`: a progress bar over the episodes (bin packing, whose expert is the slow part).
    """
    game = game_of(config["env_id"])
    allowed = GAME_SOURCES.get(game, ())
    foreign = sorted(set(settings["sources"]) - set(allowed))
    if not allowed or foreign:
        raise ValueError(
            f"pretraining has no demonstration source {(foreign or ['any'])[0]!r} for "
            f"{config['env_id']}; its sources: {', '.join(allowed) or 'none'}"
        )
    if game in ("binpacking", "jobshop"):
        return _rollout_demonstrations(config, settings, seed, progress)
    env = make_env(
        config["env_id"], config["env_kwargs"], config.get("reward"), monitor=False, wrapper=None
    )
    base = env.unwrapped
    gamma = float(config["algo_kwargs"].get("gamma", 0.99))
    rng = np.random.default_rng(seed)
    names = list(settings["sources"])
    weights = np.array([float(settings["sources"][s]) for s in names])
    max_rank = int(settings["max_rank"] or base.max_steps)
    obs_buf: dict[str, list[np.ndarray]] = {}
    actions, returns = [], []
    counts = dict.fromkeys(names, 0)
    env.reset(seed=seed)
    episodes = 0
    while episodes < settings["episodes"]:
        source = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        if source == "synthetic":
            rank = int(rng.integers(1, min(max_rank, base.max_steps) + 1))
            obs, info = env.reset(options={"target": "synthetic", "rank": rank})
            factors = info["demonstration"]
        else:
            if source == "matmul":
                obs, info = env.reset(options={"target": "matmul"})
                factors = _matmul_naive(base.residual)
            else:
                k = int(rng.integers(1, base.max_steps + 1))
                factors = _elementary(rng, base.shape, k)
                target = np.einsum("ar,br,cr->abc", *factors)
                obs, info = env.reset(options={"target": target})
        terms = canonical_terms(*factors, field=base.field)
        if not terms or len(terms) > base.max_steps:
            continue
        rewards = []
        for u, v, w in terms:
            action = encode_action(u, v, w, base.coefficients)
            for key, value in obs.items():
                obs_buf.setdefault(key, []).append(np.asarray(value))
            actions.append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(float(reward))
            if terminated or truncated:
                break
        if not terminated:
            raise AssertionError(f"a {source} demonstration did not zero the residual")
        returns.extend(returns_to_go(rewards, gamma))
        counts[source] += 1
        episodes += 1
    env.close()
    return {
        "obs": {k: np.stack(v) for k, v in obs_buf.items()},
        "actions": np.stack(actions).astype(np.int64),
        "returns": np.asarray(returns, dtype=np.float32),
        "steps": len(actions),
        "episodes": episodes,
        "by_source": counts,
    }


def _binpacking_expert(config: dict[str, Any], settings: dict[str, Any], seed: int, env: Any):
    """Rollout over best fit, and the labelling of its moves in the policy's view: the
    ``binpacking_topk`` candidates, or the raw histogram levels without a wrapper."""
    from discoverygym.agents.heuristics.binpacking_rollout import RolloutBestFit
    from discoverygym.agents.rl.envs import topk_view

    wrapper = dict(config.get("wrapper") or {})
    name = wrapper.pop("name", None)
    if name not in (None, "binpacking_topk"):
        raise ValueError(f"rollout demonstrations label the binpacking_topk view or none, not {name!r}")
    if getattr(env.unwrapped, "observation_mode", None) != "histogram":
        raise ValueError("rollout demonstrations need env_kwargs.observation: histogram")
    expert = RolloutBestFit(settings["expert_samples"], settings["expert_horizon"], seed=seed)

    def label(obs: dict[str, np.ndarray], info: dict[str, Any], level: int):
        if name is None:
            return obs, level, np.asarray(info["action_mask"], dtype=bool)
        view, levels = topk_view(obs, int(wrapper.get("k", 12)))
        hits = np.flatnonzero(levels == level)
        return view, (int(hits[0]) if hits.size else -1), levels >= 0

    return expert, label


def _jobshop_expert(config: dict[str, Any], settings: dict[str, Any], seed: int, env: Any):
    """Rollout over the ``expert_rule`` dispatching rule; a move is its job, in the raw view."""
    from discoverygym.agents.heuristics.jobshop_rollout import RolloutDispatcher

    if config.get("wrapper"):
        raise ValueError(f"job-shop rollout demonstrations label the raw observation, not the wrapper {config['wrapper']!r}")
    expert = RolloutDispatcher(settings["expert_rule"])

    def label(obs: dict[str, np.ndarray], info: dict[str, Any], job: int):
        return obs, job, np.asarray(obs["action_mask"], dtype=bool)

    return expert, label


def _rollout_demonstrations(
    config: dict[str, Any], settings: dict[str, Any], seed: int, progress: bool = False
) -> dict[str, Any]:
    """Episodes of the config's training set played by a rollout expert (bin packing: over best
    fit, `RolloutBestFit`; job shop: over ``expert_rule``, `RolloutDispatcher`), each move
    labelled in the policy's view with its action mask.

    The expert plays the raw env (reward wrapper included); a move the view cannot express
    (a bin packing level outside the top-k candidates) is played but not labelled
    (``"unlabelled"`` counts them).
    """
    data = _labelled_episodes(config, settings, seed, settings["episodes"], "rollout demonstrations", progress)
    return {**data, "by_source": {"rollout": settings["episodes"]}}


def _dagger_demonstrations(
    config: dict[str, Any], settings: dict[str, Any], policy: ActorCriticPolicy, seed: int,
    progress: bool = False,
) -> dict[str, Any]:
    """DAgger (Ross, Gordon & Bagnell, AISTATS 2011), one round: `policy` plays
    ``dagger_episodes`` fresh training episodes greedily and the job-shop rollout expert labels
    every state it visits. Cloning on the expert's own states alone leaves the policy lost
    after its first mistakes; these are the states its mistakes lead to. The value target is
    the policy's own return-to-go."""
    policy.set_training_mode(False)
    return _labelled_episodes(
        config, settings, seed, settings["dagger_episodes"], "DAgger labels", progress, policy
    )


def _labelled_episodes(
    config: dict[str, Any],
    settings: dict[str, Any],
    seed: int,
    count: int,
    description: str,
    progress: bool,
    policy: ActorCriticPolicy | None = None,
) -> dict[str, Any]:
    """`count` episodes of the config's training env, each move labelled by the game's rollout
    expert in the policy's view. Without `policy` the expert plays its own moves; with one, the
    policy plays greedily (a move its view labels, so job shop only) and the expert only labels.
    Returns ``"obs"``, ``"actions"``, ``"masks"``, ``"returns"``, ``"steps"``, ``"episodes"`` and
    ``"unlabelled"``."""
    env = make_env(config["env_id"], config["env_kwargs"], config.get("reward"), monitor=False)
    make_expert = _binpacking_expert if game_of(config["env_id"]) == "binpacking" else _jobshop_expert
    expert, label = make_expert(config, settings, seed, env)
    gamma = float(config["algo_kwargs"].get("gamma", 0.99))
    obs_buf: dict[str, list[np.ndarray]] = {}
    actions, masks, returns = [], [], []
    unlabelled = 0
    env.reset(seed=seed)
    episodes = range(count)
    if progress:
        from rich.progress import track

        episodes = track(episodes, description=description)
    for _ in episodes:
        obs, info = env.reset()
        expert.reset()
        rewards: list[float] = []
        labelled: list[bool] = []
        done = False
        while not done:
            if policy is None:
                move = expert.act(obs, info)
                view, index, mask = label(obs, info, move)
            else:
                view, index, mask = label(obs, info, expert.advise(obs, info))
                move = int(policy.predict(view, deterministic=True, action_masks=mask)[0])
                move = move if mask[move] else index
                expert.played(move)
            if index >= 0:
                for key, value in view.items():
                    obs_buf.setdefault(key, []).append(np.asarray(value))
                actions.append(index)
                masks.append(mask)
            else:
                unlabelled += 1
            obs, reward, terminated, truncated, info = env.step(move)
            rewards.append(float(reward))
            labelled.append(index >= 0)
            done = terminated or truncated
        returns.extend(g for g, kept in zip(returns_to_go(rewards, gamma), labelled) if kept)
    env.close()
    return {
        "obs": {k: np.stack(v) for k, v in obs_buf.items()},
        "actions": np.asarray(actions, dtype=np.int64),
        "masks": np.stack(masks),
        "returns": np.asarray(returns, dtype=np.float32),
        "steps": len(actions) + unlabelled,
        "episodes": count,
        "unlabelled": unlabelled,
    }


def _concat(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Demonstrations `a` with `b`'s labelled moves added (DAgger's aggregate data set)."""
    out = dict(a)
    out["obs"] = {k: np.concatenate([a["obs"][k], b["obs"][k]]) for k in a["obs"]}
    for key in ("actions", "masks", "returns"):
        out[key] = np.concatenate([a[key], b[key]])
    return out


def _clone(
    policy: ActorCriticPolicy, data: dict[str, Any], settings: dict[str, Any], seed: int, verbose: int
) -> tuple[float, float]:
    """``epochs`` of behaviour cloning of `policy` on `data`; (final loss, greedy accuracy)."""
    th.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    obs = obs_as_tensor(data["obs"], policy.device)
    actions = th.as_tensor(data["actions"], device=policy.device)
    returns = th.as_tensor(data["returns"], device=policy.device)
    masks = data.get("masks")  # legal actions (maskable policies): the likelihood is over them
    n = len(actions)
    optimiser = th.optim.Adam(policy.parameters(), lr=float(settings["learning_rate"]))
    schedule = th.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=settings["epochs"] * -(-n // settings["batch_size"])
    )
    policy.set_training_mode(True)
    loss_value = 0.0
    for epoch in range(settings["epochs"]):
        order = th.as_tensor(rng.permutation(n))
        total = 0.0
        for lo in range(0, n, settings["batch_size"]):
            idx = order[lo : lo + settings["batch_size"]]
            batch = {k: v[idx] for k, v in obs.items()} if isinstance(obs, dict) else obs[idx]
            if masks is None:
                values, log_prob, _ = policy.evaluate_actions(batch, actions[idx])
            else:
                values, log_prob, _ = policy.evaluate_actions(
                    batch, actions[idx], action_masks=masks[idx.numpy()]
                )
            loss = -log_prob.mean() + float(settings["vf_coef"]) * th.nn.functional.mse_loss(
                values.flatten(), returns[idx]
            )
            optimiser.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        loss_value = total / n
        if verbose:
            print(f"pretrain epoch {epoch + 1}/{settings['epochs']}: loss {loss_value:.4f}")
    policy.set_training_mode(False)
    with th.no_grad():
        dist = policy.get_distribution(obs) if masks is None else policy.get_distribution(obs, action_masks=masks)
        agree = dist.mode() == actions
        accuracy = float((agree.all(dim=-1) if agree.dim() > 1 else agree).float().mean())
    return loss_value, accuracy


def pretrain_from_demonstrations(
    config: dict[str, Any],
    policy: ActorCriticPolicy,
    seed: int | None = None,
    verbose: int = 0,
    progress_bar: bool = False,
) -> dict[str, float]:
    """Behaviour cloning of `policy` (in place) on the config's demonstrations, then
    ``dagger_rounds`` rounds of DAgger (job shop): label the states the cloned policy visits,
    add them, clone again.

    Loss: the actions' negative log-likelihood (for ``MultiDiscrete``, the sum of one
    cross-entropy per entry) plus ``vf_coef`` times the value head's squared error to the
    return-to-go. Returns statistics: demonstration env steps and episodes, final loss, the
    training set's per-move exact-match accuracy of the greedy action, CPU seconds.
    """
    settings = pretrain_settings(config.get("pretrain"))
    seed = int(config["seed"] if seed is None else seed)
    if settings["dagger_rounds"] and game_of(config["env_id"]) != "jobshop":
        raise ValueError(f"pretrain.dagger_rounds is for the job-shop rollout expert, not {config['env_id']}")
    start = time.process_time()
    data = collect_demonstrations(config, settings, seed, progress=progress_bar)
    loss_value, accuracy = _clone(policy, data, settings, seed, verbose)
    dagger_steps = 0
    for round_ in range(settings["dagger_rounds"]):
        new = _dagger_demonstrations(config, settings, policy, seed + 1000 * (round_ + 1), progress_bar)
        dagger_steps += new["steps"]
        data = _concat(data, new)
        loss_value, accuracy = _clone(policy, data, settings, seed, verbose)
    return {
        "env_steps": float(data["steps"] + dagger_steps),
        "episodes": float(data["episodes"]),
        **{f"episodes_{k}": float(v) for k, v in data["by_source"].items()},
        **({"unlabelled_steps": float(data["unlabelled"])} if "unlabelled" in data else {}),
        **({"dagger_steps": float(dagger_steps)} if dagger_steps else {}),
        "loss": round(loss_value, 5),
        "accuracy": round(accuracy, 5),
        "cpu_seconds": round(time.process_time() - start, 2),
    }


__all__ = [
    "GAME_SOURCES",
    "PRETRAIN_DEFAULTS",
    "SOURCES",
    "canonical_terms",
    "collect_demonstrations",
    "pretrain_from_demonstrations",
    "pretrain_settings",
]
