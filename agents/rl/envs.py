"""Building the training and evaluation envs of a config (picklable factories for SubprocVecEnv,
or the game's batched env with ``vec_env: native``).

The wrappers here define the training variants on the single env; each one the RL configs use
has a batched form, an argument of the game's batched env (`native_kwargs`), which reproduces
``SyncVectorEnv`` over the wrapped single envs exactly (tests/agents/rl/test_native.py).

Reward wrappers (config key ``reward``) change the per-step reward without changing which
policy is optimal on a fixed instance:

- ``"waste"`` (bin packing): ``reward + item / capacity``. The return becomes
  ``sum(items)/C - bins``, minus the wasted space in bins; the per-instance constant
  ``sum(items)/C`` removes most of the return's variance across instances, and each step's
  reward is centred (about zero for a policy that fills bins well).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import discoverygym.envs  # registers the ids; GAMES, the one list of games
import gymnasium as gym
import numpy as np
from discoverygym.envs.binpacking.vector import TOPK_FEATURES, TOPK_GLOBALS, topk_views
from discoverygym.envs.contract import InvalidActionError
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

GAMES_BY_ENV: dict[str, str] = {game.env_id: game.name for game in discoverygym.envs.GAMES}


def game_of(env_id: str) -> str:
    """The game name (suite name) of a registered env id."""
    try:
        return GAMES_BY_ENV[env_id]
    except KeyError:
        raise KeyError(f"unknown env id {env_id!r}; known: {', '.join(GAMES_BY_ENV)}") from None


class BinPackingWasteReward(gym.Wrapper):
    """Adds ``item / capacity`` to each step's reward (see the module docstring)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._item_fraction = 0.0

    def _remember(self, info: dict[str, Any]) -> None:
        base = self.env.unwrapped
        self._item_fraction = (
            float(base.current_item) / float(base.capacity) if not base.done else 0.0
        )

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._remember(info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        placed = self._item_fraction
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._remember(info)
        return obs, float(reward) + placed, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()


class TensorRankShaping(gym.Wrapper):
    """Adds the decrease of a residual potential to each step's reward (tensor game).

    Potential-based shaping (undiscounted, so the best policy of an episode is unchanged) with
    potential ``-(rank_bound + nnz_weight * nonzero entries)`` of the residual: a move that
    lowers the rank bound, or clears entries, is rewarded at once. The env's terminal
    ``-rank_bound`` penalty on truncation is kept.
    """

    def __init__(self, env: gym.Env, nnz_weight: float = 0.0) -> None:
        super().__init__(env)
        self.nnz_weight = float(nnz_weight)
        self._potential = 0.0

    def _phi(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> float:
        return float(info["rank_bound"]) + self.nnz_weight * float(
            np.count_nonzero(obs["residual"])
        )

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._potential = self._phi(obs, info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        potential = self._phi(obs, info)
        shaped = float(reward) + (self._potential - potential)
        if truncated and not terminated:
            shaped += potential  # the final potential is 0 by convention (the penalty stays)
        self._potential = potential
        return obs, shaped, terminated, truncated, info


class TensorGameOver(gym.Wrapper):
    """Reports the tensor game's end at ``max_steps`` as termination, not truncation.

    The env truncates after ``max_steps`` moves with the residual's rank bound as a penalty,
    and its observation has ``steps_left``: the move limit is part of the game, not a time
    limit. SB3 bootstraps a truncated episode's last reward with the critic's value of the final
    state, a state (``steps_left = 0``) whose value is never trained, so failed episodes got an
    arbitrary bonus; PPO then drifted away from decompositions it had found (measured: the
    behaviour-cloned policy's greedy rank 8 on <2,2,2> went to 12-14 within 50k steps).
    Applied by `make_env` to every tensor-game env; final infos are unchanged.
    """

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, False, info


REWARDS: dict[str, Callable[[gym.Env], gym.Env]] = {
    "waste": BinPackingWasteReward,
    "rank_shaping": TensorRankShaping,
    "residual_shaping": functools.partial(TensorRankShaping, nnz_weight=0.25),
}


def topk_view(obs: dict[str, np.ndarray], k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The `BinPackingTopK` observation of a histogram observation, and the level of each action
    (`discoverygym.envs.binpacking.vector.topk_views` on a batch of one: the batched env's
    ``observation="topk"`` computes the same view)."""
    views, levels = topk_views(
        obs["histogram"][None],
        np.array([round(float(obs["item"][0]))]),
        np.array([float(obs["items_left"][0])]),
        k,
    )
    return {key: value[0] for key, value in views.items()}, levels[0]


class BinPackingTopK(gym.Wrapper):
    """Bin packing with a small candidate set: the `k` tightest fitting levels and a new bin.

    Needs ``observation="histogram"``. Action ``a < k`` puts the item into a bin at the a-th
    tightest fitting level (``a = k``: a new bin); padded candidates are masked (played: a new
    bin with ``info["illegal_action"] = True``; outside the space: `InvalidActionError`, the
    env contract's rules). The full
    game's choices beyond the `k` tightest fits are given up for a policy ~8x cheaper to train.
    Observation (`topk_view`): ``candidates`` float32 (k+1, 6) = level/C, gap after placing /C,
    log(1+bins at level), log(1+bins at the landing level), new-bin flag, rank/k; ``globals``
    float32 (4,) = item/C, log(1+items left)/10, log(1+open bins)/10, mean free fraction;
    ``valid`` int8 (k+1,).
    """

    def __init__(self, env: gym.Env, k: int = 12) -> None:
        super().__init__(env)
        if getattr(env.unwrapped, "observation_mode", None) != "histogram":
            raise ValueError("BinPackingTopK needs OnlineBinPackingEnv(observation='histogram')")
        self.k = int(k)
        self.observation_space = gym.spaces.Dict(
            {
                "candidates": gym.spaces.Box(
                    -1.0, np.inf, (self.k + 1, len(TOPK_FEATURES)), np.float32
                ),
                "globals": gym.spaces.Box(0.0, np.inf, (len(TOPK_GLOBALS),), np.float32),
                "valid": gym.spaces.MultiBinary(self.k + 1),
            }
        )
        self.action_space = gym.spaces.Discrete(self.k + 1)
        self._levels = np.zeros(self.k + 1, dtype=np.int64)

    def _view(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> dict[str, np.ndarray]:
        view, self._levels = topk_view(obs, self.k)
        info["action_mask"] = view["valid"].copy()
        return view

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self._view(obs, info), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise InvalidActionError(
                f"action {action!r} is outside the action space {self.action_space}"
            )
        a = int(action)
        padded = self._levels[a] < 0
        level = self.env.unwrapped.new_bin_action if padded else self._levels[a]
        obs, reward, terminated, truncated, info = self.env.step(int(level))
        if padded:  # an illegal candidate: the game's fallback (a new bin), flagged
            info["illegal_action"] = True
        return self._view(obs, info), reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self._levels >= 0


def topk_agent_view(
    obs: dict[str, np.ndarray], info: dict[str, Any], k: int = 12
) -> tuple[Any, np.ndarray, Callable[[int], int]]:
    """`BinPackingTopK` for an agent that sees the raw env: (view, mask, view action -> env action)."""
    view, levels = topk_view(obs, k)
    capacity = obs["histogram"].shape[0] - 1
    return view, levels >= 0, lambda a: int(levels[a]) if levels[a] >= 0 else capacity


class TensorCurriculum(gym.Wrapper):
    """Trains on a mix of targets: with probability `matmul_prob` the matmul tensor, else a
    synthetic target of `rank` ~ U{1..max_rank} random rank-one terms (AlphaTensor's synthetic
    demonstrations), when `reset` gets no options. The choice uses the wrapper's own RNG,
    seeded by ``reset(seed=...)``; the synthetic factors come from the env's RNG."""

    def __init__(self, env: gym.Env, matmul_prob: float = 0.5, max_rank: int | None = None) -> None:
        super().__init__(env)
        if not 0.0 <= matmul_prob <= 1.0:
            raise ValueError(f"matmul_prob must be in [0, 1], got {matmul_prob}")
        self.matmul_prob = float(matmul_prob)
        self.max_rank = int(max_rank or env.unwrapped.max_steps)
        self._rng = np.random.default_rng()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if options is None:
            if self._rng.random() < self.matmul_prob:
                options = {"target": "matmul"}
            else:
                options = {
                    "target": "synthetic",
                    "rank": int(self._rng.integers(1, self.max_rank + 1)),
                }
        return self.env.reset(seed=seed, options=options)


WRAPPERS: dict[str, Callable[..., gym.Env]] = {
    "binpacking_topk": BinPackingTopK,
    "tensor_curriculum": TensorCurriculum,
}
AGENT_VIEWS: dict[str, Callable[..., tuple[Any, np.ndarray, Callable[[int], int]]]] = {
    "binpacking_topk": topk_agent_view
}


def view_wrapper(wrapper: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a config's wrapper that evaluation keeps: view wrappers, not curricula."""
    return wrapper if wrapper and wrapper.get("name") in AGENT_VIEWS else None


def agent_view(
    wrapper: dict[str, Any] | None,
) -> Callable[[Any, dict[str, Any]], tuple[Any, np.ndarray | None, Callable[[Any], Any]]]:
    """What an agent playing the raw env applies to (obs, info) to act like the wrapped env's policy."""
    if not wrapper or wrapper.get("name") not in AGENT_VIEWS:  # no view change (e.g. a curriculum)

        def identity(
            obs: Any, info: dict[str, Any]
        ) -> tuple[Any, np.ndarray | None, Callable[[Any], Any]]:
            mask = info.get("action_mask")
            return obs, None if mask is None else np.asarray(mask, dtype=bool), lambda a: a

        return identity
    spec = dict(wrapper)
    view = AGENT_VIEWS[spec.pop("name")]
    return lambda obs, info: view(obs, info, **spec)


def make_env(
    env_id: str,
    env_kwargs: dict[str, Any],
    reward: str | None = None,
    monitor: bool = True,
    wrapper: dict[str, Any] | None = None,
) -> gym.Env:
    """One env of a config: gym.make, the reward wrapper, `TensorGameOver` (tensor game), the
    view wrapper, SB3's Monitor."""
    env = gym.make(env_id, **env_kwargs)
    if reward:
        if reward not in REWARDS:
            raise ValueError(f"unknown reward wrapper {reward!r}; known: {', '.join(REWARDS)}")
        env = REWARDS[reward](env)
    if GAMES_BY_ENV.get(env_id) == "tensor":
        env = TensorGameOver(env)
    if wrapper:
        spec = dict(wrapper)
        name = spec.pop("name", None)
        if name not in WRAPPERS:
            raise ValueError(f"unknown wrapper {name!r}; known: {', '.join(WRAPPERS)}")
        env = WRAPPERS[name](env, **spec)
    if monitor:
        env = Monitor(env)
    return env


def env_factory(
    config: dict[str, Any], env_kwargs: dict[str, Any] | None = None
) -> Callable[[], gym.Env]:
    """A picklable zero-argument constructor of one training env."""
    kwargs = config["env_kwargs"] if env_kwargs is None else env_kwargs
    return functools.partial(
        make_env, config["env_id"], dict(kwargs), config.get("reward"), True, config.get("wrapper")
    )


# The batched (native) form of the wrappers: reward name or wrapper name -> the batched env's
# kwargs (envs/<game>/vector.py), per game. Every tensor-game env gets `TensorGameOver`.
NATIVE_REWARDS: dict[str, dict[str, dict[str, Any]]] = {
    "binpacking": {"waste": {"reward": "waste"}},
    "tensor": {
        "rank_shaping": {"reward": "rank_shaping"},
        "residual_shaping": {"reward": "residual_shaping"},
    },
}


def _native_topk(spec: dict[str, Any]) -> dict[str, Any]:
    return {"observation": "topk", "topk": int(spec.get("k", 12))}


def _native_curriculum(spec: dict[str, Any]) -> dict[str, Any]:
    return {"curriculum": spec}


NATIVE_WRAPPERS: dict[str, dict[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "binpacking": {"binpacking_topk": _native_topk},
    "tensor": {"tensor_curriculum": _native_curriculum},
}


def native_unsupported(config: dict[str, Any]) -> str | None:
    """Why `config` cannot train on its game's batched env (None when it can)."""
    from discoverygym.envs.vector_sb3 import VECTOR_ENTRY_POINTS

    env_id = config["env_id"]
    if env_id not in VECTOR_ENTRY_POINTS:
        return f"{env_id} has no batched env"
    game = GAMES_BY_ENV[env_id]
    reward = config.get("reward")
    if reward and reward not in NATIVE_REWARDS.get(game, {}):
        return f"reward {reward!r} has no batched form for {game}"
    name = (config.get("wrapper") or {}).get("name")
    if name and name not in NATIVE_WRAPPERS.get(game, {}):
        return f"wrapper {name!r} has no batched form for {game}"
    return None


def native_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """The batched env's kwargs of a config: its ``env_kwargs`` plus the batched form of its
    reward and wrapper (`NATIVE_REWARDS`, `NATIVE_WRAPPERS`)."""
    reason = native_unsupported(config)
    if reason:
        raise ValueError(f"vec_env native: {reason}")
    game = GAMES_BY_ENV[config["env_id"]]
    kwargs = dict(config["env_kwargs"])
    if config.get("reward"):
        kwargs.update(NATIVE_REWARDS[game][config["reward"]])
    if config.get("wrapper"):
        spec = dict(config["wrapper"])
        kwargs.update(NATIVE_WRAPPERS[game][spec.pop("name")](spec))
    if game == "tensor":
        kwargs["game_over"] = True
    return kwargs


def make_vec_env(config: dict[str, Any], n_envs: int | None = None) -> VecEnv:
    """The vectorised training env of a config, seeded from config['seed']: ``native`` (the
    game's batched env behind `SB3VecEnv` and `VecMonitor`), ``dummy`` or ``subproc``."""
    n = n_envs or config["n_envs"]
    if config["vec_env"] == "native":
        from discoverygym.envs.vector_sb3 import make_sb3_vec_env

        return make_sb3_vec_env(config["env_id"], n, seed=config["seed"], **native_kwargs(config))
    factories = [env_factory(config) for _ in range(n)]
    if config["vec_env"] == "subproc" and n > 1:
        vec: VecEnv = SubprocVecEnv(factories, start_method="forkserver")
    else:
        vec = DummyVecEnv(factories)
    vec.seed(config["seed"])
    return vec
