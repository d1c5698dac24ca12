"""`discoverygym tensor-policy train | search` (tiny runs) and their refusals."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from discoverygym.agents.rl.tensor_factors import load_factor_policy
from discoverygym.experiments.cli import app


def test_train_writes_policy_and_curve_then_search_replays_through_the_env(
    tmp_path, monkeypatch, scripted_factor_policy
) -> None:
    out = tmp_path / "p.pt"
    result = CliRunner().invoke(
        app,
        ["tensor-policy", "train", "--size", "2x2x2", "--steps", "30", "--batch-size", "16",
         "--hidden", "16", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and out.with_suffix(".curve.png").exists()
    policy, payload = load_factor_policy(out)
    assert policy.config.steps == 30 and payload["compute"]["steps"] == 30
    assert payload["reproduce"].startswith("discoverygym tensor-policy train --size 2x2x2 --steps 30")
    assert payload["wandb_run"].startswith(os.environ["WANDB_DIR"])  # an offline run
    runs = list(Path(os.environ["WANDB_DIR"]).glob("wandb/offline-run-*/run-*.wandb"))
    assert len(runs) == 1 and runs[0].stem.split("-")[1] in payload["wandb_run"]
    # the untrained policy with a tiny beam finds nothing: the naive fallback, exit code 1
    result = CliRunner().invoke(
        app, ["tensor-policy", "search", "--model", str(out), "--width", "2", "--top", "1,1,1"]
    )
    assert result.exit_code == 1 and "no scheme of rank <= 7 found in 1 basis" in result.output
    result = CliRunner().invoke(
        app,
        ["tensor-policy", "search", "--model", str(out), "--width", "2", "--top", "1,1,1",
         "--bases", "3", "--seed", "5"],
    )
    assert result.exit_code == 1 and "no scheme of rank <= 7 found in 3 bases" in result.output
    # a policy that ranks Strassen's terms below two decoys: found, replayed, checked
    from discoverygym.agents.rl import tensor_factors

    scripted = scripted_factor_policy
    policy = scripted(scripted.naive_terms()[:2] + scripted.strassen_terms(), [0.0] * 2 + [-1.0] * 7)
    monkeypatch.setattr(tensor_factors, "load_factor_policy", lambda path: (policy, {}))
    result = CliRunner().invoke(app, ["tensor-policy", "search", "--model", str(out)])
    assert result.exit_code == 0 and "rank 7 (env and checker agree)" in result.output, result.output


def test_bad_arguments_are_one_line_errors(tmp_path) -> None:
    runner = CliRunner()
    for args, message in [
        (["train", "--size", "2x0x2", "--out", str(tmp_path / "p.pt")], "tensor size"),
        (["train", "--out", str(tmp_path / "p.zip")], "must end in .pt"),
        (["train", "--steps", "0", "--out", str(tmp_path / "p.pt")], "steps=0"),
        (["search", "--model", str(tmp_path / "none.pt")], "no factor policy at"),
        (["search", "--model", str(tmp_path / "none.pt"), "--top", "8,4"], "--top '8,4'"),
        (["search", "--model", str(tmp_path / "none.pt"), "--bases", "0"], "--bases 0"),
        (["search", "--model", str(tmp_path / "none.pt"), "--basis-density", "2"], "--basis-density 2.0"),
    ]:
        result = runner.invoke(app, ["tensor-policy", *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
