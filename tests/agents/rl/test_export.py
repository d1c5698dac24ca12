"""Shipping an RL run's checkpoint, or several runs' ensemble: files, meta notes, curve, and the
errors that name the problem."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch as th
import typer
from discoverygym.agents.rl.evaluate import (
    RLAgent,
    action_logits,
    evaluate_model,
    load_model,
    stack_observations,
)
from discoverygym.agents.rl.export import ship_ensemble, ship_model
from discoverygym.agents.rl.train import train
from discoverygym.experiments.rl_commands import ship_model_command
from stable_baselines3.common.utils import obs_as_tensor
from typer.testing import CliRunner

TINY = {
    "env_id": "discoverygym/OnlineBinPacking-v0",
    "algo": "maskable_ppo",
    "policy": "binpacking",
    "env_kwargs": {"dataset": "weibull-60:seed=1,count=3"},
    "algo_kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    "eval": {"dataset": "weibull-60:seed=100,count=2", "freq": 32},
    "wandb": {"mode": "disabled"},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(config=TINY, total_steps=96, run_dir=out, progress_bar=False)
    return out


def test_ship_copies_the_checkpoint_with_its_notes(run_dir: Path, tmp_path: Path) -> None:
    path = ship_model(run_dir, "ppo_tiny", dest=tmp_path)
    assert path == tmp_path / "ppo_tiny.zip"
    for suffix in (".zip", ".config.yaml", ".meta.json", ".curve.png"):
        assert (tmp_path / f"ppo_tiny{suffix}").is_file(), suffix
    meta = json.loads((tmp_path / "ppo_tiny.meta.json").read_text())
    best = json.loads((run_dir / "best.meta.json").read_text())["best"]
    assert f"at {int(best['env_steps']):,} env steps" in meta["selected"]
    assert meta["reproduce"].startswith(f"discoverygym train --config {tmp_path}/ppo_tiny.config.yaml")
    assert RLAgent.load(path).name == "ppo_tiny"
    (shipped,) = evaluate_model(path, "weibull-60:seed=100,count=2")
    (original,) = evaluate_model(run_dir / "best.zip", "weibull-60:seed=100,count=2")
    assert shipped.value == original.value
    final = ship_model(run_dir, "ppo_final", checkpoint="model", dest=tmp_path, reproduce="make it")
    meta = json.loads(final.with_name("ppo_final.meta.json").read_text())
    assert meta["selected"].startswith("the final model") and meta["reproduce"] == "make it"


def test_ship_names_the_config_relative_to_the_working_directory(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model shipped into the repository says `--config experiments/models/<name>...`, not
    the path of the machine it was shipped on."""
    monkeypatch.chdir(tmp_path)
    ship_model(run_dir, "ppo_here", dest=tmp_path / "experiments" / "models")
    meta = json.loads((tmp_path / "experiments/models/ppo_here.meta.json").read_text())
    assert meta["reproduce"].startswith(
        "discoverygym train --config experiments/models/ppo_here.config.yaml --out runs/ppo_here"
    )


def test_ship_redraws_a_missing_curve(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("best.zip", "best.config.yaml", "best.meta.json"):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    ship_model(copy, "redrawn", dest=tmp_path / "models")
    assert (tmp_path / "models" / "redrawn.curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ship_errors_name_the_bad_value(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad model name '../evil'"):
        ship_model(run_dir, "../evil", dest=tmp_path)
    with pytest.raises(ValueError, match="unknown checkpoint 'last'; expected one of best, model"):
        ship_model(run_dir, "m", checkpoint="last", dest=tmp_path)
    with pytest.raises(FileNotFoundError, match=f"no best.zip in {tmp_path}"):
        ship_model(tmp_path, "m", dest=tmp_path / "models")
    ship_model(run_dir, "m", dest=tmp_path)
    with pytest.raises(FileExistsError, match="m.zip exists"):
        ship_model(run_dir, "m", dest=tmp_path)
    ship_model(run_dir, "m", dest=tmp_path, overwrite=True)

    app = typer.Typer()
    app.command("ship")(ship_model_command)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["ship", "--run", str(tmp_path / "nope"), "--name", "m",
                                      "--dest", str(tmp_path)])
    assert result.exit_code == 2 and "Error: no best.zip in" in result.output
    assert "Traceback" not in result.output
    ok = CliRunner().invoke(app, ["ship", "--run", str(run_dir), "--name", "cli_model",
                                  "--dest", str(tmp_path)])
    assert ok.exit_code == 0 and (tmp_path / "cli_model.zip").is_file()


@pytest.fixture(scope="module")
def seed_runs(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three runs of TINY: seeds 0 (`run_dir`), 1 and 2."""
    runs = [run_dir]
    for seed in (1, 2):
        out = tmp_path_factory.mktemp(f"run_s{seed}")
        train(config={**TINY, "seed": seed}, total_steps=96, run_dir=out, progress_bar=False)
        runs.append(out)
    return runs


def _observations(count: int) -> tuple[list, np.ndarray]:
    """Observations and action masks of random play on a fresh Weibull instance."""
    from discoverygym.envs.binpacking import OnlineBinPackingEnv, load_dataset

    env = OnlineBinPackingEnv(**{**TINY["env_kwargs"], "dataset": load_dataset("weibull-60:seed=7,count=1")})
    obs, info = env.reset(seed=0)
    rng, observations, masks = np.random.default_rng(0), [], []
    while len(observations) < count:
        observations.append(obs)
        masks.append(info["action_mask"].astype(bool))
        obs, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if done:
            obs, info = env.reset()
    return observations, np.stack(masks)


def test_ship_ensemble_plays_the_members_mean(seed_runs: list[Path], tmp_path: Path) -> None:
    path = ship_ensemble(seed_runs, "ppo_tiny_x3", dest=tmp_path)
    for suffix in (".zip", ".config.yaml", ".meta.json"):
        assert (tmp_path / f"ppo_tiny_x3{suffix}").is_file(), suffix
    assert (tmp_path / "ppo_tiny_x3.curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((tmp_path / "ppo_tiny_x3.meta.json").read_text())
    assert [m["seed"] for m in meta["ensemble"]] == [TINY.get("seed", 0), 1, 2]
    assert meta["ensemble"][1]["sha256"] == hashlib.sha256((seed_runs[1] / "best.zip").read_bytes()).hexdigest()
    runs = [json.loads((run / "best.meta.json").read_text()) for run in seed_runs]
    assert meta["compute"]["env_steps"] == sum(r["compute"]["env_steps"] for r in runs)
    assert "none left out" in meta["selected"]
    assert meta["reproduce"].endswith("--run runs/ppo_tiny_x3_s2 --name ppo_tiny_x3")

    ensemble, _, _ = load_model(path)
    members = [load_model(run / "best.zip")[0] for run in seed_runs]
    observations, masks = _observations(12)
    (logits,) = action_logits(ensemble, observations, masks)
    mean = sum(action_logits(m, observations, masks)[0] for m in members) / len(members)
    finite = np.isfinite(mean)
    assert (np.isfinite(logits) == finite).all()
    np.testing.assert_allclose(logits[finite], mean[finite], rtol=1e-5, atol=1e-5)
    obs = obs_as_tensor(stack_observations(observations), "cpu")
    with th.no_grad():
        values = ensemble.policy.predict_values(obs)
        member_values = sum(m.policy.predict_values(obs) for m in members) / len(members)
    np.testing.assert_allclose(values.numpy(), member_values.numpy(), rtol=1e-5, atol=1e-5)
    (record,) = evaluate_model(path, "weibull-60:seed=100,count=2")
    assert record.agent == "ppo_tiny_x3" and record.value > 0


def _copy_run(run: Path, to: Path, *, seed: int | None = None, drop_validation: bool = False) -> Path:
    """A copy of a run folder, its config's seed or its meta's validation history changed."""
    shutil.copytree(run, to)
    if seed is not None:
        config = to / "best.config.yaml"
        config.write_text(re.sub(r"^seed: .*$", f"seed: {seed}", config.read_text(), flags=re.M))
    if drop_validation:
        meta = json.loads((to / "best.meta.json").read_text())
        meta.pop("validation", None)
        (to / "best.meta.json").write_text(json.dumps(meta))
    return to


def test_ship_ensemble_errors_name_the_bad_value(seed_runs: list[Path], tmp_path: Path) -> None:
    dest = tmp_path / "models"
    with pytest.raises(ValueError, match="at least two runs, got 1"):
        ship_ensemble(seed_runs[:1], "e", dest=dest)
    other = _copy_run(seed_runs[1], tmp_path / "other")
    dataset = TINY["env_kwargs"]["dataset"]
    config = (other / "best.config.yaml").read_text()
    assert dataset in config
    (other / "best.config.yaml").write_text(config.replace(dataset, dataset.replace("seed=1", "seed=9")))
    with pytest.raises(ValueError, match=re.escape(f"{other}: config key 'env_kwargs' is")):
        ship_ensemble([seed_runs[0], other], "e", dest=dest)
    with pytest.raises(ValueError, match="both have seed 1"):
        ship_ensemble([seed_runs[0], seed_runs[1], seed_runs[1]], "e", dest=dest)
    with pytest.raises(FileNotFoundError, match=re.escape(f"no best.zip in {tmp_path / 'nope'}")):
        ship_ensemble([seed_runs[0], tmp_path / "nope"], "e", dest=dest)
    bare = _copy_run(seed_runs[2], tmp_path / "bare", drop_validation=True)
    with pytest.raises(ValueError, match=re.escape(f"{bare}: the meta has no validation history")):
        ship_ensemble([seed_runs[0], bare], "e", dest=dest)
    assert not dest.exists()  # a refused ship writes nothing, not even the folder

    app = typer.Typer()
    app.command("ship")(ship_model_command)
    app.command("other")(lambda: None)
    runs = ["--run", str(seed_runs[0]), "--run", str(seed_runs[1])]
    ok = CliRunner().invoke(app, ["ship", *runs, "--name", "cli_x2", "--dest", str(dest)])
    assert ok.exit_code == 0 and "the ensemble of 2 runs" in " ".join(ok.output.split())
    assert (dest / "cli_x2.zip").is_file()
    again = CliRunner().invoke(app, ["ship", *runs, "--name", "cli_x2", "--dest", str(dest)])
    assert again.exit_code == 2 and "cli_x2.zip exists" in " ".join(again.output.split())
    final = CliRunner().invoke(app, ["ship", *runs, "--name", "cli_x2", "--dest", str(dest),
                                     "--checkpoint", "model", "--overwrite"])
    assert final.exit_code == 0, final.output
    assert "model checkpoint" in json.loads((dest / "cli_x2.meta.json").read_text())["selected"]
    bad = CliRunner().invoke(app, ["ship", "--run", str(seed_runs[0]), "--run", str(other),
                                   "--name", "x", "--dest", str(dest)])
    output = " ".join(bad.output.split())
    assert bad.exit_code == 2 and "config key 'env_kwargs'" in output and "Traceback" not in output


def test_ship_ensemble_needs_structured_policies(tmp_path: Path) -> None:
    """An SB3 MLP policy has no per-candidate logits to average: refused by name."""
    flat = {**TINY, "policy": "MultiInputPolicy", "eval": {**TINY["eval"]}}
    run = tmp_path / "flat"
    train(config=flat, total_steps=64, run_dir=run, progress_bar=False)
    twin = _copy_run(run, tmp_path / "flat_s1", seed=1)
    with pytest.raises(ValueError, match=re.escape(f"{run}: its policy (MaskableMultiInputActorCriticPolicy) is not a structured")):
        ship_ensemble([run, twin], "e", dest=tmp_path / "models")


def test_an_ensemble_cannot_start_a_training_run(seed_runs: list[Path], tmp_path: Path) -> None:
    path = ship_ensemble(seed_runs[:2], "ens", dest=tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"init_from: {path} is not a model of this config's policy")):
        train(config={**TINY, "init_from": str(path)}, total_steps=32, run_dir=tmp_path / "run",
              progress_bar=False)
