"""Bad input to `discoverygym train` and `evaluate`: one line naming the bad value, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from discoverygym.agents.rl.config import resolve_config
from discoverygym.experiments.rl_commands import evaluate_model_command, train_command

BP = "discoverygym/OnlineBinPacking-v0"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command(
        "train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(train_command)
    app.command("evaluate")(evaluate_model_command)
    return app


def _one_line_error(app: typer.Typer, args: list[str], *needles: str) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not an exception escaping the command
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _tiny(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "tiny.yaml"
    config = {"env_id": BP, "env_kwargs": {"dataset": "weibull-60:seed=1,count=2"}, **extra}
    path.write_text(yaml.safe_dump(config))
    return path


def test_unknown_config_key_in_the_file_and_in_an_override(app, tmp_path: Path) -> None:
    config = str(_tiny(tmp_path, totl_steps=10))
    _one_line_error(
        app, ["train", "--config", config], "unknown config key 'totl_steps'", "'total_steps'"
    )
    config = str(_tiny(tmp_path))
    _one_line_error(
        app,
        ["train", "--config", config, "--algo_kwarg.learning_rate=0.1"],
        "unknown config key 'algo_kwarg'",
        "did you mean 'algo_kwargs'",
    )


def test_non_numeric_and_unknown_algo_kwargs(app, tmp_path: Path) -> None:
    config = str(_tiny(tmp_path))
    _one_line_error(
        app,
        ["train", "--config", config, "--algo_kwargs.learning_rate=abc"],
        "algo_kwargs.learning_rate must be a number",
        "'abc'",
    )
    _one_line_error(
        app,
        ["train", "--config", config, "--algo_kwargs.n_step=64"],
        "unknown algo_kwargs key 'n_step' for maskable_ppo",
        "did you mean 'n_steps'",
    )
    _one_line_error(
        app,
        ["train", "--config", config, "--algo_kwargs.normalize_advantage=3"],
        "algo_kwargs.normalize_advantage must be true or false, got 3",
    )
    _one_line_error(
        app, ["train", "--config", config, "--total_steps=many"], "total_steps", "'many'"
    )


def test_unknown_env_id_and_vec_env(app, tmp_path: Path) -> None:
    config = str(_tiny(tmp_path))
    _one_line_error(
        app,
        ["train", "--config", config, "--env", "discoverygym/JobShop-v9"],
        "unknown env id 'discoverygym/JobShop-v9'",
        "did you mean 'discoverygym/JobShop-v0'",
    )
    _one_line_error(
        app,
        ["train", "--config", config, "--vec-env", "threads"],
        "unknown vec_env 'threads'",
        "native, dummy, subproc",
    )


def test_good_algo_kwargs_pass_the_checks() -> None:
    config = resolve_config(
        {
            "env_id": BP,
            "algo_kwargs": {"learning_rate": 1e-3, "n_steps": 64, "target_kl": 0.02},
        }
    )
    assert config["algo_kwargs"]["learning_rate"] == 1e-3
    for name in ("ppo_binpacking", "ppo_jobshop", "ppo_tensor"):
        resolve_config(name)  # the shipped configs pass


def test_program_with_a_syntax_error(app, tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text("def priority(item, bins):\n    return item +\n")
    _one_line_error(
        app,
        ["evaluate", "--agent", str(program), "--game", "binpacking", "--dataset", "or1"],
        str(program),
        "not a valid Python program",
        "line 2",
    )
    _one_line_error(
        app,
        ["evaluate", "--agent", str(tmp_path / "none.py"), "--game", "binpacking"]
        + ["--dataset", "or1"],
        "no program at",
    )


def test_model_of_another_game_and_unknown_game(app, tmp_path: Path) -> None:
    zip_path = tmp_path / "bp.zip"
    zip_path.write_bytes(b"")  # the game is read from the config beside it, before loading
    (tmp_path / "bp.config.yaml").write_text(yaml.safe_dump(resolve_config(str(_tiny(tmp_path)))))
    _one_line_error(
        app,
        ["evaluate", "--agent", str(zip_path), "--game", "jobshop", "--dataset", "ft"],
        f"{zip_path} was trained on binpacking, not --game jobshop",
    )
    _one_line_error(
        app,
        ["evaluate", "--agent", "best_fit", "--game", "chess", "--dataset", "or1"],
        "unknown game 'chess'",
        "binpacking, jobshop, tensor",
    )
    _one_line_error(
        app,
        ["evaluate", "--agent", "best_fit", "--game", "binpacking", "--dataset", "or1"]
        + ["--samples", "4"],
        "--samples needs a model zip",
    )
    _one_line_error(
        app, ["evaluate", "--agent", str(tmp_path / "gone.zip"), "--dataset", "or1"], "no model at"
    )
