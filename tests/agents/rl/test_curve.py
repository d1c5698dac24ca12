"""The RL training curve: read from a model's meta (and SB3's progress.csv), drawn to a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from discoverygym.agents.rl.curve import (
    curve_path,
    plot_training_curve,
    training_returns,
    validation_points,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _meta(history: list[dict], best: dict | None = None) -> dict:
    meta = {"algo": "maskable_ppo", "env_id": "discoverygym/JobShop-v0", "validation": history,
            "compute": {"env_steps": 300.0, "cpu_seconds": 2.5}}
    return {**meta, "best": best} if best else meta


def test_validation_points_pick_the_game_metric_in_step_order() -> None:
    history = [{"env_steps": 200.0, "gap_pct": 3.0, "score": 3.0},
               {"env_steps": 100.0, "gap_pct": 5.0, "score": 5.0}]
    assert validation_points(_meta(history)) == ("gap_pct", [(100.0, 5.0), (200.0, 3.0)])
    # the cap set records size and gap: the gap (lower is better, as every game's score) wins
    capset = [{"env_steps": 10.0, "size": 18.0, "gap_pct": 10.0, "score": 10.0}]
    assert validation_points(_meta(capset))[0] == "gap_pct"


@pytest.mark.parametrize("history", [[], [{"env_steps": 1.0, "makespan": 3.0}]])
def test_a_meta_without_validation_is_refused_by_name(history: list[dict]) -> None:
    with pytest.raises(ValueError, match="eval section"):
        validation_points(_meta(history))


def test_training_returns_skip_rows_without_them(tmp_path: Path) -> None:
    progress = tmp_path / "progress.csv"
    progress.write_text(
        "rollout/ep_rew_mean,time/total_timesteps,eval/gap_pct\n"
        "-3.5,128,\n,,4.0\n-2.0,256,\n"
    )
    assert training_returns(progress) == [(128.0, -3.5), (256.0, -2.0)]
    assert training_returns(tmp_path / "missing.csv") == []


def test_plot_writes_a_png_beside_the_zip(tmp_path: Path) -> None:
    meta_path = tmp_path / "best.meta.json"
    history = [{"env_steps": float(s), "gap_pct": g, "score": g}
               for s, g in ((100, 5.0), (200, 3.0), (300, 4.0))]
    meta_path.write_text(json.dumps(_meta(history, best=history[1])))
    (tmp_path / "progress.csv").write_text("rollout/ep_rew_mean,time/total_timesteps\n-3,100\n-2,200\n")
    out = plot_training_curve(meta_path, curve_path(tmp_path / "best.zip"),
                              progress_csv=tmp_path / "progress.csv")
    assert out == tmp_path / "best.curve.png" and out.read_bytes()[:8] == PNG
