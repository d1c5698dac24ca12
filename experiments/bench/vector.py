"""Batched envs: steps/s of every game single and batched, the job-shop peers, SB3 training.

``discoverygym bench vector`` prints three tables, every figure next to a reference measured
in the same run, pair by pair (each round times the figure and its reference back to back;
values and ratios are medians over the rounds, so a busy machine slows both alike):

1. per game, the single env (`gym.make`-free class, the same policy) against the native
   batched env at N = 1, 64, 1024: bin packing on FunSearch's Weibull 5k set (best fit: the
   lowest legal level of the mask, as ``discoverygym bench binpacking`` plays), job shop on
   ta01 (uniformly random legal jobs), tensor <3,3,3> (uniformly random factors);
2. job-shop peers, when installed (``pip install discoverygym[bench]``): JSSEnv (legacy
   ``reset()`` shimmed) and JobShopLib against our single env on ta01, random legal actions;
   Jumanji's JobShop (JAX on CPU, its default 20 jobs x 10 machines random generator) with
   jit+vmap at the same batch sizes as our batched env on fresh random 20x10 instances (a new
   instance per episode, as Jumanji's generator does; Jumanji's best of a jitted step loop and
   a jitted ``lax.scan`` of 100 steps), and Jumanji's Gym wrapper against our single env;
3. SB3 throughput (MaskablePPO, job shop random-10x10): our `SB3VecEnv` over the batched env
   against ``SubprocVecEnv`` (16 envs) and ``DummyVecEnv`` (16 and 128 envs) over single envs,
   rollout steps/s and training steps/s;
4. training as configured: each game's shipped training config (``experiments/configs/ppo_*``:
   its algorithm, policy, reward, view, n_envs and PPO settings; no validation, no pretraining)
   trained with ``vec_env`` native, dummy and subproc at the config's n_envs (and, unless
   quick, at 64 envs with the same steps per rollout), env steps per second of ``learn``
   (rollouts and gradient updates), rounds interleaved A/B/C, A/B/C, ...; the ratio is native
   against the faster of dummy and subproc in the same round (goal: 3x), and the same ratio of
   env steps per CPU second (this process and SubprocVecEnv's workers), which a machine
   shared with other jobs distorts less.

Goals (issue 8): single job shop >= 2x JSSEnv on ta01; batched job shop >= 5x Jumanji's best
CPU throughput at the same batch size; batched bin packing > 2M steps/s at N = 1024.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from discoverygym.experiments.bench import rate

Work = Callable[[], int]
BATCHES = (1, 64, 1024)
JUMANJI_BATCHES = (1, 64, 512, 1024)


# ----------------------------------------------------------------------------- policies


def best_fit(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """Bin packing best fit from the histogram mask: the lowest legal remaining capacity."""
    return masks.argmax(axis=-1)


def random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """A uniformly random legal action per row of the masks."""
    return (rng.random(masks.shape) * masks).argmax(axis=-1)


# ----------------------------------------------------------------------------- workloads


def single_work(env: Any, policy: Callable, masked: bool, chunk: int = 256) -> Work:
    """`chunk` steps of one single env (reset when an episode ends); returns `chunk`."""
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    space = env.action_space

    def work() -> int:
        for _ in range(chunk):
            if masked:
                action = int(policy(rng, env.action_masks()))
            else:
                action = rng.integers(0, space.nvec)
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset()
        return chunk

    return work


def batched_work(venv: Any, policy: Callable, masked: bool, chunk: int = 8) -> Work:
    """`chunk` batched steps of a vector env; returns chunk * num_envs env steps."""
    rng = np.random.default_rng(0)
    venv.reset(seed=0)
    n = venv.num_envs
    nvec = getattr(venv.single_action_space, "nvec", None)

    def work() -> int:
        for _ in range(chunk):
            if masked:
                actions = policy(rng, venv.action_masks())
            else:
                actions = rng.integers(0, nvec, size=(n, len(nvec)))
            venv.step(actions)
        return chunk * n

    return work


def paired(ours: Work, ref: Work, seconds: float, repeats: int) -> tuple[float, float, float]:
    """(median ours/s, median ref/s, median of per-round ratios), rounds back to back."""
    a, b, r = [], [], []
    for _ in range(repeats):
        x, y = rate(ours, seconds, 1), rate(ref, seconds, 1)
        a.append(x)
        b.append(y)
        r.append(x / y)
    return float(np.median(a)), float(np.median(b)), float(np.median(r))


# ----------------------------------------------------------------------------- games


def game_pairs(game: str, batches: tuple[int, ...]) -> tuple[Work, dict[int, Work], str]:
    """The single-env work and the batched works of a game, with a description (games:
    binpacking, jobshop, tensor, and tensor-final: the rank bound only at the episode's end)."""
    if game == "binpacking":
        from discoverygym.envs.binpacking.env import OnlineBinPackingEnv
        from discoverygym.envs.binpacking.vector import OnlineBinPackingVectorEnv

        single = single_work(OnlineBinPackingEnv(dataset="weibull5k"), best_fit, True)
        batched = {
            n: batched_work(
                OnlineBinPackingVectorEnv(num_envs=n, dataset="weibull5k"), best_fit, True
            )
            for n in batches
        }
        return single, batched, "weibull5k, best fit"
    if game == "jobshop":
        from discoverygym.envs.jobshop.env import JobShopEnv
        from discoverygym.envs.jobshop.vector import JobShopVectorEnv

        single = single_work(JobShopEnv(instance="ta01"), random_legal, True)
        batched = {
            n: batched_work(JobShopVectorEnv(num_envs=n, instance="ta01"), random_legal, True)
            for n in batches
        }
        return single, batched, "ta01 (15x15), random legal jobs"
    from discoverygym.envs.tensor.env import TensorDecompositionEnv
    from discoverygym.envs.tensor.vector import TensorDecompositionVectorEnv

    every = game == "tensor"
    kwargs = {"n": 3, "m": 3, "p": 3, "rank_bound_every_step": every}
    single = single_work(TensorDecompositionEnv(**kwargs), None, False)
    batched = {
        n: batched_work(TensorDecompositionVectorEnv(num_envs=n, **kwargs), None, False)
        for n in batches
    }
    when = "every step" if every else "at the end only"
    return single, batched, f"<3,3,3>, random factors, rank bound {when}"


def throughput_table(quick: bool, seconds: float, repeats: int) -> tuple[Table, dict[str, float]]:
    batches = (1, 64) if quick else BATCHES
    table = Table(title="batched envs: env steps/s against the single env (same run)")
    for column in ("game", "workload", "env", "steps/s", "single env steps/s", "ratio"):
        table.add_column(
            column,
            justify="right" if column in ("steps/s", "single env steps/s", "ratio") else "left",
        )
    numbers: dict[str, float] = {}
    for game in ("binpacking", "jobshop", "tensor", "tensor-final"):
        single, batched, label = game_pairs(game, batches)
        single_rate = rate(single, seconds, repeats)
        table.add_row(
            game, label, "single env", f"{single_rate:,.0f}", f"{single_rate:,.0f}", "1.00"
        )
        numbers[f"{game}/single"] = single_rate
        for n, work in batched.items():
            value, ref, ratio = paired(work, single, seconds, repeats)
            table.add_row(
                game, label, f"batched N={n}", f"{value:,.0f}", f"{ref:,.0f}", f"{ratio:.2f}"
            )
            numbers[f"{game}/batched{n}"] = value
    return table, numbers


# ----------------------------------------------------------------------------- peers


def jumanji_work(batch: int, scan_steps: int = 100) -> tuple[Work, Work] | None:
    """Jumanji JobShop (default generator) with jit+vmap on CPU: (jitted step loop, jitted
    scan of `scan_steps` steps), random legal actions per machine, auto-reset; None if absent."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
        import jax.numpy as jnp
        import jumanji
        from jumanji.wrappers import VmapAutoResetWrapper
    except Exception:  # noqa: BLE001 - optional peer
        return None
    env = VmapAutoResetWrapper(jumanji.make("JobShop-v0"))
    state, timestep = jax.jit(env.reset)(jax.random.split(jax.random.PRNGKey(0), batch))

    def one(carry: Any, _: Any) -> tuple[Any, None]:
        state, timestep, key = carry
        key, sub = jax.random.split(key)
        mask = timestep.observation.action_mask  # (batch, machines, jobs + 1)
        actions = jax.random.categorical(sub, jnp.where(mask, 0.0, -jnp.inf))
        state, timestep = env.step(state, actions)
        return (state, timestep, key), None

    step = jax.jit(lambda carry: one(carry, None)[0])
    scan = jax.jit(lambda carry: jax.lax.scan(one, carry, None, length=scan_steps)[0])
    box = {"carry": (state, timestep, jax.random.PRNGKey(1))}
    for f in (step, scan):  # compile outside the timings
        box["carry"] = f(box["carry"])
        jax.block_until_ready(box["carry"])

    def make(f: Callable, steps: int, repeat: int) -> Work:
        def work() -> int:
            for _ in range(repeat):
                box["carry"] = f(box["carry"])
            jax.block_until_ready(box["carry"])
            return steps * repeat * batch

        return work

    return make(step, 1, 8), make(scan, scan_steps, 1)


def jumanji_gym_work() -> Work | None:
    """Jumanji JobShop through its Gym wrapper (one env), random legal actions."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jumanji
        from jumanji.wrappers import JumanjiToGymWrapper
    except Exception:  # noqa: BLE001 - optional peer
        return None
    env = JumanjiToGymWrapper(jumanji.make("JobShop-v0"))
    rng = np.random.default_rng(0)
    box = {"obs": env.reset(seed=0)[0]}
    box["obs"] = env.step(random_legal(rng, np.asarray(box["obs"]["action_mask"])))[0]  # compile

    def work() -> int:
        for _ in range(32):
            mask = np.asarray(box["obs"]["action_mask"])
            obs, _, term, trunc, _ = env.step(random_legal(rng, mask))
            box["obs"] = env.reset()[0] if term or trunc else obs
        return 32

    return work


def peers_table(quick: bool, seconds: float, repeats: int) -> tuple[Table, dict[str, float]]:
    from discoverygym.envs.jobshop.env import JobShopEnv
    from discoverygym.envs.jobshop.vector import JobShopVectorEnv
    from discoverygym.experiments.bench.jobshop import jobshoplib, jssenv, ours

    table = Table(title="job shop against its peers (same run; ratio = ours / peer)")
    for column in ("ours", "peer", "ours steps/s", "peer steps/s", "ratio", "goal"):
        table.add_column(column, justify="left" if column in ("ours", "peer", "goal") else "right")
    numbers: dict[str, float] = {}
    single_ta01 = ours(True)
    for name, factory, goal in (
        ("JSSEnv (ta01)", jssenv, ">= 2x"),
        ("JobShopLib (ta01)", jobshoplib, ""),
    ):
        peer = factory()
        if peer is None:
            table.add_row("JobShopEnv ta01", name, "", "not installed", "", goal)
            continue
        a, b, r = paired(single_ta01, peer, seconds, repeats)
        table.add_row("JobShopEnv ta01", name, f"{a:,.0f}", f"{b:,.0f}", f"{r:.2f}x", goal)
        numbers[name] = b
    gym_peer = jumanji_gym_work()
    single_rand = single_work(JobShopEnv(dataset="random-20x10"), random_legal, True, chunk=64)
    if gym_peer is None:
        table.add_row("JobShopEnv random-20x10", "Jumanji JobShop", "", "not installed", "", "")
        return table, numbers
    a, b, r = paired(single_rand, gym_peer, seconds, repeats)
    table.add_row(
        "JobShopEnv random-20x10", "Jumanji Gym wrapper", f"{a:,.0f}", f"{b:,.0f}", f"{r:.1f}x", ""
    )
    numbers["jumanji/gym"] = b
    for batch in (64, 512) if quick else JUMANJI_BATCHES:
        works = jumanji_work(batch)
        assert works is not None
        mine = batched_work(
            JobShopVectorEnv(num_envs=batch, dataset="random-20x10"), random_legal, True
        )
        # the peer's best variant, chosen on one round, then paired round by round
        best = max(works, key=lambda w: rate(w, seconds / 2, 1))
        a, b, r = paired(mine, best, seconds, repeats)
        table.add_row(
            f"JobShopVectorEnv N={batch}",
            f"Jumanji jit+vmap B={batch}",
            f"{a:,.0f}",
            f"{b:,.0f}",
            f"{r:.2f}x",
            ">= 5x" if batch == 512 else "",
        )
        numbers[f"jumanji/{batch}"] = b
        numbers[f"ours/random-20x10/{batch}"] = a
    return table, numbers


# ----------------------------------------------------------------------------- SB3


def _sb3_group(
    n: int, subproc: bool, steps: int, seconds: float, repeats: int
) -> dict[str, tuple[list[float], list[float]]]:
    """name -> (rollout steps/s per round, train steps/s per round) for `n` envs."""
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from discoverygym.envs.jobshop.env import JobShopEnv
    from discoverygym.envs.vector_sb3 import make_sb3_vec_env

    single = functools.partial(JobShopEnv, dataset="random-10x10")
    builders = {
        f"SB3VecEnv(JobShopVectorEnv N={n})": lambda: make_sb3_vec_env(
            "discoverygym/JobShop-v0", n, seed=0, dataset="random-10x10"
        )
    }
    if subproc:
        builders[f"SubprocVecEnv(JobShopEnv x {n})"] = lambda: SubprocVecEnv([single] * n)
    builders[f"DummyVecEnv(JobShopEnv x {n})"] = lambda: DummyVecEnv([single] * n)
    envs = {name: build() for name, build in builders.items()}
    models = {
        name: MaskablePPO(
            "MultiInputPolicy", venv, n_steps=64, batch_size=256, n_epochs=1, seed=0, device="cpu"
        )
        for name, venv in envs.items()
    }
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in envs}
    for _ in range(repeats):
        for name, venv in envs.items():
            model = models[name]
            obs, done, start = venv.reset(), 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                actions, _ = model.predict(obs, action_masks=get_action_masks(venv))
                obs, *_ = venv.step(actions)
                done += n
            out[name][0].append(done / (time.perf_counter() - start))
            start = time.perf_counter()
            model.learn(steps, reset_num_timesteps=False)
            out[name][1].append(steps / (time.perf_counter() - start))
    for venv in envs.values():
        venv.close()
    return out


def sb3_table(quick: bool, repeats: int) -> tuple[Table, dict[str, float]]:
    """MaskablePPO on job shop random-10x10: rollout steps/s (masks, policy forward, env
    step) and training steps/s (``learn``: rollouts + 1 epoch), our `SB3VecEnv` over the
    batched env against SubprocVecEnv (16 envs) and DummyVecEnv (16 and 128 envs) over single
    envs. torch runs on one thread here, so that its spinning threads do not compete with
    the SubprocVecEnv workers on a small machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    seconds = 0.3 if quick else 2.0
    try:
        groups = [(16, True), (128, False)]
        results = [
            (n, _sb3_group(n, sub, (1024 if quick else 8192) * (n // 16), seconds, repeats))
            for n, sub in groups
        ]
    finally:
        torch.set_num_threads(threads)
    table = Table(
        title="MaskablePPO on job shop random-10x10 (n_steps 64, 1 epoch, 1 torch thread)"
    )
    for column in ("VecEnv", "rollout steps/s", "ratio", "train steps/s", "ratio", "reference"):
        table.add_column(column, justify="left" if column in ("VecEnv", "reference") else "right")
    numbers = {}
    for _n, out in results:
        ref_name = list(out)[1]  # SubprocVecEnv for 16 envs, DummyVecEnv for 128
        ref_roll, ref_train = out[ref_name]
        for name, (roll, train) in out.items():
            r = float(np.median([v / w for v, w in zip(roll, ref_roll)]))
            t = float(np.median([v / w for v, w in zip(train, ref_train)]))
            table.add_row(
                name,
                f"{np.median(roll):,.0f}",
                f"{r:.2f}",
                f"{np.median(train):,.0f}",
                f"{t:.2f}",
                ref_name.split("(")[0],
            )
            numbers[f"sb3/rollout/{name}"] = float(np.median(roll))
            numbers[f"sb3/train/{name}"] = float(np.median(train))
    return table, numbers


# ----------------------------------------------------------------------------- training


SHIPPED_CONFIGS: tuple[str, ...] = (
    "ppo_binpacking", "ppo_binpacking_ss", "ppo_jobshop", "ppo_jobshop_3m", "ppo_tensor", "ppo_capset"
)
VEC_ENVS: tuple[str, ...] = ("native", "dummy", "subproc")


SUBPROC_MAX_ENVS = 16  # above this, one process per env on a small machine: not run


def shipped_variant(name: str | dict[str, Any], n_envs: int | None = None) -> dict[str, Any]:
    """A shipped training config, resolved, without validation or pretraining; with `n_envs`,
    that many envs and ``n_steps`` scaled so that a rollout holds as many steps as shipped
    (the same PPO update per rollout)."""
    from discoverygym.agents.rl.config import resolve_config

    resolved = resolve_config(name)
    resolved.update(eval=None, pretrain=None)
    if n_envs is not None:
        rollout = resolved["algo_kwargs"].get("n_steps", 2048) * resolved["n_envs"]
        resolved["algo_kwargs"] = {
            **resolved["algo_kwargs"],
            "n_steps": max(1, rollout // n_envs),
        }
        resolved["n_envs"] = n_envs
    return resolved


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by this process and the processes `pids` (read
    from /proc; a process that is gone counts 0)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15)
    return total


def training_rates(
    config: dict[str, Any], steps: int, rounds: int, vec_envs: tuple[str, ...] = VEC_ENVS
) -> dict[str, list[tuple[float, float]]]:
    """vec_env -> (env steps per wall second, env steps per CPU second of this process and its
    workers) of ``learn`` for each round (>= `steps` env steps each, whole rollouts), the
    vec_envs timed back to back within a round. The models are built and run for one rollout
    before the timings (process start-up, first compilation). On a machine shared with other
    jobs, SubprocVecEnv's workers also take a larger share of the cores: the CPU-time rate
    shows the cost per step without that share."""
    import torch

    from discoverygym.agents.rl.envs import make_vec_env
    from discoverygym.agents.rl.train import build_model

    runs = {}
    try:
        for vec_env in vec_envs:
            resolved = {**config, "vec_env": vec_env}
            torch.set_num_threads(int(resolved["torch_threads"]))
            env = make_vec_env(resolved)
            runs[vec_env] = (build_model(resolved, env), env)
            runs[vec_env][0].learn(1, progress_bar=False)  # one rollout and update: warm-up
        out: dict[str, list[tuple[float, float]]] = {vec_env: [] for vec_env in vec_envs}
        for _ in range(rounds):
            for vec_env, (model, env) in runs.items():
                pids = [p.pid for p in getattr(env, "processes", [])]
                before, cpu, start = model.num_timesteps, cpu_seconds(pids), time.perf_counter()
                model.learn(steps, reset_num_timesteps=False, progress_bar=False)
                wall, cpu = time.perf_counter() - start, cpu_seconds(pids) - cpu
                done = model.num_timesteps - before
                out[vec_env].append((done / wall, done / max(cpu, 1e-9)))
        return out
    finally:
        for _, env in runs.values():
            env.close()


def _native_ratios(rates: dict[str, list[float]]) -> list[float]:
    """Per round: native's rate over the best other vec_env's rate."""
    refs = [values for name, values in rates.items() if name != "native"]
    return [native / max(others) for native, *others in zip(rates["native"], *refs)]


def training_table(
    quick: bool,
    rounds: int,
    configs: tuple[str | dict[str, Any], ...] = SHIPPED_CONFIGS,
    n_envs: tuple[int | None, ...] | None = None,
    steps: int | None = None,
) -> tuple[Table, dict[str, float]]:
    """Table 4 (see the module docstring): per shipped config (and per `n_envs`: None is the
    shipped count; default: shipped, and 64 envs unless `quick`), env steps/s of training with
    each vec_env and the ratio of native to the faster reference per round, median over rounds.
    SubprocVecEnv is not run above `SUBPROC_MAX_ENVS` envs (the reference is then DummyVecEnv).
    `steps`: env steps per timing (default: one rollout when quick, else 20,000 / rounds)."""
    import torch

    threads = torch.get_num_threads()
    counts = n_envs or ((None,) if quick else (None, 64))
    table = Table(
        title="training as configured: env steps/s of learn, native against the faster of "
        "DummyVecEnv and SubprocVecEnv at the same n_envs (rounds interleaved)"
    )
    columns = ("config", "algo", "n_envs", "native", "dummy", "subproc", "ratio", "rounds",
               "ratio per CPU s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("config", "algo") else "right")
    numbers: dict[str, float] = {}
    try:
        for name in configs:
            for count in counts:
                resolved = shipped_variant(name, count)
                n = resolved["n_envs"]
                rollout = resolved["algo_kwargs"].get("n_steps", 2048) * n
                timed = steps or (rollout if quick else max(rollout, 20_000 // rounds))
                vec_envs = VEC_ENVS if n <= SUBPROC_MAX_ENVS else ("native", "dummy")
                rates = training_rates(resolved, timed, rounds, vec_envs)
                wall = {v: [w for w, _ in r] for v, r in rates.items()}
                cpu = {v: [c for _, c in r] for v, r in rates.items()}

                medians = {v: float(np.median(r)) for v, r in wall.items()}
                per_round, per_cpu = _native_ratios(wall), _native_ratios(cpu)
                ratio, cpu_ratio = float(np.median(per_round)), float(np.median(per_cpu))
                shown = "shipped" if count is None else "scaled"
                label = name if isinstance(name, str) else resolved["env_id"]
                table.add_row(
                    label,
                    resolved["algo"],
                    f"{n} ({shown})",
                    *(f"{medians[v]:,.0f}" if v in medians else "not run" for v in VEC_ENVS),
                    f"{ratio:.2f}",
                    ", ".join(f"{r:.2f}" for r in per_round),
                    f"{cpu_ratio:.2f}",
                )
                key = f"train/{label}/{n}"
                numbers.update({f"{key}/{v}": value for v, value in medians.items()})
                numbers.update({f"{key}/{v}/cpu": float(np.median(r)) for v, r in cpu.items()})
                numbers[f"{key}/ratio"] = ratio
                numbers[f"{key}/cpu_ratio"] = cpu_ratio
    finally:
        torch.set_num_threads(threads)
    return table, numbers


def run(quick: bool = False, only: str | None = None) -> None:
    """Print the four tables (quick: short timings, fewer batch sizes; `only`: one table,
    ``envs``, ``peers``, ``sb3`` or ``training``)."""
    seconds, repeats = (0.1, 1) if quick else (1.0, 3)
    console = Console(width=140)
    tables = {
        "envs": lambda: throughput_table(quick, seconds, repeats),
        "peers": lambda: peers_table(quick, seconds, repeats),
        "sb3": lambda: sb3_table(quick, 1 if quick else repeats),
        "training": lambda: training_table(quick, 1 if quick else 2),
    }
    if only is not None and only not in tables:
        raise KeyError(f"unknown table {only!r}; known: {', '.join(tables)}")
    for name, make in tables.items():
        if only is not None and name != only:
            continue
        table, _ = make()
        console.print(table)
