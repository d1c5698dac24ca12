"""Shipping an RL run's checkpoint: files, meta notes, curve, and the errors that name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from discoverygym.agents.rl.evaluate import RLAgent, evaluate_model
from discoverygym.agents.rl.export import ship_model
from discoverygym.agents.rl.train import train
from discoverygym.experiments.rl_commands import ship_model_command
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
