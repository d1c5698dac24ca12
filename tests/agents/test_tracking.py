"""The shared W&B rules: offline unless logged in; trial metrics reach sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from discoverygym.agents.tracking import RESULT_ENV, report_trial_metrics, wandb_mode


def test_wandb_mode_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() == "disabled"
    assert wandb_mode("offline") == "offline"
    with pytest.raises(ValueError, match="unknown wandb mode 'onlin'"):
        wandb_mode("onlin")


def test_a_netrc_login_means_online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert wandb_mode() == "online"


class FakeRun:
    def __init__(self) -> None:
        self.summary: dict = {}


def test_report_trial_metrics_writes_the_sweep_file_and_the_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = FakeRun()
    monkeypatch.delenv(RESULT_ENV, raising=False)
    report_trial_metrics({"loss": 1.0}, run)  # outside a sweep: summary only
    assert run.summary == {"loss": 1.0} and not list(tmp_path.iterdir())
    monkeypatch.setenv(RESULT_ENV, str(tmp_path / "trial" / "result.json"))
    report_trial_metrics({"loss": 0.5})
    assert json.loads((tmp_path / "trial" / "result.json").read_text()) == {"loss": 0.5}
