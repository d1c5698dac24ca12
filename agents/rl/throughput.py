"""Training throughput: environment steps per second during `learn`, for 1 and N parallel envs.

    python -m discoverygym.agents.rl.throughput ppo_binpacking --steps 20000 --n-envs 1 --n-envs 4

Each measurement builds the config's model on ``n_envs`` envs (``vec_env`` as given), runs
``learn`` for ``steps`` env steps with no validation, no W&B and no progress bar, and reports
steps / wall second (rollout collection and gradient updates together, as training sees it).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch as th
from discoverygym.agents.rl.config import resolve_config
from discoverygym.agents.rl.envs import make_vec_env


def training_throughput(
    config: dict[str, Any] | str, steps: int, n_envs: int, vec_env: str = "native"
) -> float:
    """Env steps per wall second of `learn` for a config on `n_envs` envs."""
    from discoverygym.agents.rl.train import build_model

    resolved = resolve_config(config, n_envs=n_envs, vec_env=vec_env)
    resolved["eval"] = None
    th.set_num_threads(int(resolved["torch_threads"]))
    env = make_vec_env(resolved)
    try:
        model = build_model(resolved, env)
        start = time.perf_counter()
        model.learn(total_timesteps=steps, progress_bar=False)
        return model.num_timesteps / (time.perf_counter() - start)
    finally:
        env.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="YAML file or shipped config name")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument(
        "--n-envs", type=int, action="append", help="repeat for several (default 1 and 4)"
    )
    parser.add_argument("--vec-env", default="native", choices=["native", "dummy", "subproc"])
    args = parser.parse_args(argv)
    for n in args.n_envs or [1, 4]:
        rate = training_throughput(args.config, args.steps, n, args.vec_env)
        print(f"{args.config}: {n} env(s) ({args.vec_env}): {rate:,.0f} env steps/s")


if __name__ == "__main__":
    main()
