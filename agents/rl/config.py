"""Training configurations: a YAML file (or dict) resolved against defaults and CLI overrides.

A config has these top-level keys (every one optional except ``env_id``)::

    env_id: discoverygym/OnlineBinPacking-v0
    algo: maskable_ppo            # ppo | maskable_ppo | a2c | dqn
    seed: 0
    total_steps: 200000
    n_envs: 4
    vec_env: native               # native (the game's batched env) | dummy | subproc
    env_kwargs: {dataset: "weibull-5k:seed=1", observation: histogram}
    reward: null                  # game-specific reward wrapper name (see envs.py), or null
    wrapper: null                 # view wrapper, e.g. {name: binpacking_topk, k: 12} (see envs.py)
    policy: binpacking            # a name in policies.POLICIES or an SB3 policy string
    policy_kwargs: {}
    algo_kwargs: {n_steps: 256}   # passed to the SB3 algorithm constructor; learning_rate and
                                  # clip_range may be "lin_3e-4" (linear to 0 over the run)
    eval: {dataset: "weibull-5k:seed=100", freq: 20000, episodes: 2, env_kwargs: {}}
    wandb: {project: discoverygym, entity: null, group: null, tags: [], mode: null}
    torch_threads: 1              # torch intra-op threads; 1 is fastest for these small networks
    init_from: null               # a model zip whose policy weights start this run (fine-tuning)
    pretrain: null                # behaviour cloning on demonstrations before RL, e.g.
                                  # {episodes: 20000, epochs: 30} (see imitation.py; tensor game)
    self_labeling: null           # train on the best of K sampled solutions instead of the
                                  # algorithm's learn, e.g. {samples: 16} (see self_labeling.py)


Shipped configs live in ``discoverygym/experiments/configs/`` and are addressable by their file
name without extension (``ppo_binpacking``).
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

ALGOS: tuple[str, ...] = ("ppo", "maskable_ppo", "a2c", "dqn")
VEC_ENVS: tuple[str, ...] = ("native", "dummy", "subproc")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "experiments" / "configs"

DEFAULTS: dict[str, Any] = {
    "env_id": None,
    "algo": "maskable_ppo",
    "seed": 0,
    "total_steps": 100_000,
    "n_envs": 1,
    "vec_env": None,  # None: "native" where the game has a batched env for the config, else "dummy"
    "env_kwargs": {},
    "reward": None,
    "wrapper": None,
    "policy": None,
    "policy_kwargs": {},
    "algo_kwargs": {},
    "eval": None,
    "wandb": {},
    "torch_threads": 1,
    "init_from": None,
    "pretrain": None,
    "self_labeling": None,
}


def config_dir() -> Path:
    """The folder of the shipped configs (package data ``experiments/configs/*``)."""
    try:
        from importlib.resources import files

        return Path(str(files("discoverygym.experiments") / "configs"))
    except (ModuleNotFoundError, TypeError):
        return CONFIG_DIR


def shipped_configs() -> list[str]:
    """Names of the shipped training configs (file stems of the YAMLs with an ``env_id``;
    the folder also holds other kinds, e.g. sweep definitions)."""
    names = []
    for path in sorted(config_dir().glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and "env_id" in data:
            names.append(path.stem)
    return names


def load_config(config: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    """A config dict from a dict, a YAML path, or a shipped config's name."""
    if config is None:
        return {}
    if isinstance(config, dict):
        return copy.deepcopy(config)
    path = Path(config)
    if not path.exists() and path.suffix == "" and (config_dir() / f"{path.name}.yaml").exists():
        path = config_dir() / f"{path.name}.yaml"
    if not path.exists():
        near = difflib.get_close_matches(str(config), shipped_configs(), n=3)
        hint = f"; shipped configs: {', '.join(shipped_configs())}"
        if near:
            hint = f"; did you mean {', '.join(near)}?" + hint
        raise FileNotFoundError(
            f"config {str(config)!r} is neither a file nor a shipped config{hint}"
        )
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``--dotted.key=value`` arguments (as `wandb agent` passes sweep parameters) to a dict.

    Values are numbers where they parse as such, else YAML (``true`` -> bool, ``[64, 64]`` -> list).
    """
    out: dict[str, Any] = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"unexpected argument {arg!r}; config overrides look like --algo_kwargs.learning_rate=0.001")
        key, raw = arg[2:].split("=", 1)
        out[key] = _scalar(raw)
    return out


def _scalar(raw: str) -> Any:
    """int, then float (PyYAML's YAML 1.1 reads ``1e-3`` as a string), then any YAML value."""
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return yaml.safe_load(raw)


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` with ``{"a.b.c": value}`` set at config["a"]["b"]["c"]."""
    result = copy.deepcopy(config)
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = value
    return result


def resolve_config(config: dict[str, Any] | str | Path | None, **overrides: Any) -> dict[str, Any]:
    """Defaults <- config <- overrides (overrides that are None are ignored); validated."""
    data = load_config(config)
    unknown = sorted(set(data) - set(DEFAULTS))
    if unknown:
        bad = unknown[0]
        near = difflib.get_close_matches(bad, list(DEFAULTS), n=1)
        raise ValueError(
            f"unknown config key {bad!r}"
            + (f" (did you mean {near[0]!r}?)" if near else "")
            + f"; known keys: {', '.join(DEFAULTS)}"
        )
    resolved = copy.deepcopy(DEFAULTS)
    resolved.update(data)
    for key, value in overrides.items():
        if key not in DEFAULTS:
            raise ValueError(f"unknown override {key!r}; known keys: {', '.join(DEFAULTS)}")
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(resolved.get(key), dict):
            resolved[key] = {**resolved[key], **value}
        else:
            resolved[key] = value
    if not resolved["env_id"]:
        raise ValueError("the config names no env_id (pass --env or set env_id in the YAML)")
    if resolved["algo"] not in ALGOS:
        raise ValueError(f"unknown algo {resolved['algo']!r}; known: {', '.join(ALGOS)}")
    check_env_id(resolved["env_id"])
    from discoverygym.agents.rl.envs import native_unsupported

    if resolved["vec_env"] is None:
        resolved["vec_env"] = "dummy" if native_unsupported(resolved) else "native"
    if resolved["vec_env"] not in VEC_ENVS:
        raise ValueError(f"unknown vec_env {resolved['vec_env']!r}; known: {', '.join(VEC_ENVS)}")
    if resolved["vec_env"] == "native" and (reason := native_unsupported(resolved)):
        raise ValueError(f"vec_env native: {reason}; use vec_env dummy or subproc")
    check_algo_kwargs(resolved["algo"], resolved["algo_kwargs"])
    for key in ("total_steps", "n_envs", "seed"):
        if not isinstance(resolved[key], int) or resolved[key] < (1 if key != "seed" else 0):
            if key == "total_steps" and resolved[key] == 0 and resolved["pretrain"] is not None:
                continue  # behaviour cloning alone: the pretrained policy, no RL steps
            hint = " (0 only with a pretrain section)" if key == "total_steps" else ""
            raise ValueError(
                f"{key} must be a {'non-negative' if key == 'seed' else 'positive'} integer"
                f"{hint}, got {resolved[key]!r}"
            )
    if resolved["pretrain"] is not None:
        if not isinstance(resolved["pretrain"], dict):
            raise ValueError(
                f"pretrain must be a mapping such as {{episodes: 20000, epochs: 30}} or null, "
                f"got {resolved['pretrain']!r}"
            )
        from discoverygym.agents.rl.imitation import pretrain_settings

        pretrain_settings(resolved["pretrain"])  # names a bad key or value now, not after setup
    if resolved["self_labeling"] is not None:
        from discoverygym.agents.rl.self_labeling import self_labeling_settings

        self_labeling_settings(resolved["self_labeling"])
    return resolved


def check_env_id(env_id: Any) -> None:
    """Raise ValueError naming `env_id` unless it is a registered Gymnasium id."""
    import discoverygym.envs  # noqa: F401  (registers the ids)
    import gymnasium as gym

    if isinstance(env_id, str) and env_id in gym.registry:
        return
    ours = sorted(k for k in gym.registry if k.startswith("discoverygym/"))
    near = difflib.get_close_matches(str(env_id), ours, n=1, cutoff=0.5)
    raise ValueError(
        f"unknown env id {env_id!r}"
        + (f" (did you mean {near[0]!r}?)" if near else "")
        + f"; discoverygym's: {', '.join(ours)} (or any registered Gymnasium id)"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_algo_kwargs(algo: str, kwargs: Any) -> None:
    """Raise ValueError naming the first ``algo_kwargs`` entry that the algorithm's constructor
    does not take, or whose value is not of the kind its default has (a number, a bool)."""
    import inspect

    from discoverygym.agents.rl.train import algo_class

    if not isinstance(kwargs, dict):
        raise TypeError(f"algo_kwargs must be a mapping, got {kwargs!r}")
    params = inspect.signature(algo_class(algo).__init__).parameters
    settable = {k: p for k, p in params.items() if k not in RESERVED_ALGO_KWARGS}
    for key, value in kwargs.items():
        if key not in settable:
            near = difflib.get_close_matches(str(key), list(settable), n=1)
            raise ValueError(
                f"unknown algo_kwargs key {key!r} for {algo}"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f"; known: {', '.join(settable)}"
            )
        default = settable[key].default
        if isinstance(value, str) and key in SCHEDULE_KEYS:
            linear_start(key, value)  # raises naming the value when it is not lin_<number>
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError(f"algo_kwargs.{key} must be true or false, got {value!r}")
        elif _is_number(default) and not _is_number(value) and not callable(value):
            raise TypeError(
                f"algo_kwargs.{key} must be a number (default {default!r}), got {value!r}"
            )


# algo_kwargs that SB3 also takes as a schedule of the remaining progress; in a config they may be
# "lin_<start>" (rl-baselines3-zoo's spelling): linear from <start> at the first update to 0
SCHEDULE_KEYS: tuple[str, ...] = ("learning_rate", "clip_range", "clip_range_vf")


def linear_start(key: str, value: str) -> float:
    """The start of a ``lin_<start>`` schedule; ValueError naming the value otherwise."""
    head, _, number = value.partition("_")
    try:
        start = float(number) if head == "lin" else None
    except ValueError:
        start = None
    if start is None or not start > 0:
        raise ValueError(
            f"algo_kwargs.{key} must be a number or lin_<positive number> (a linear schedule to 0),"
            f" got {value!r}"
        )
    return start


def resolve_schedules(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``algo_kwargs`` with each ``lin_<start>`` value replaced by SB3's linear schedule."""
    from stable_baselines3.common.utils import LinearSchedule

    return {
        key: LinearSchedule(linear_start(key, value), 0.0, 1.0)
        if key in SCHEDULE_KEYS and isinstance(value, str)
        else value
        for key, value in kwargs.items()
    }


# constructor arguments that train sets itself (not through algo_kwargs)
RESERVED_ALGO_KWARGS: tuple[str, ...] = (
    "self",
    "policy",
    "env",
    "policy_kwargs",
    "seed",
    "verbose",
    "device",
    "_init_setup_model",
)


def save_config(config: dict[str, Any], path: Path) -> None:
    """Write a resolved config as YAML."""
    path.write_text(yaml.safe_dump(config, sort_keys=False))
