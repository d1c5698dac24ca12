"""Gantt helpers work for any schedule (partial or complete) and write PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discoverygym.envs.jobshop.instances import load_instance
from discoverygym.envs.jobshop.render import gantt_rgb, gantt_text, save_gantt


def _serial(inst):
    """A feasible schedule: operations one after another in job order."""
    return np.cumsum(np.concatenate([[0], inst.durations.ravel()[:-1]])).reshape(inst.durations.shape)


def test_save_gantt_png(tmp_path: Path) -> None:
    inst = load_instance("ft06")
    path = save_gantt(inst, _serial(inst), tmp_path / "sub" / "ft06.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rgb_and_text_of_partial_schedule() -> None:
    inst = load_instance("ft06")
    starts = _serial(inst)
    starts[3:] = -1
    frame = gantt_rgb(inst, starts)
    assert frame.dtype == np.uint8 and frame.shape[2] == 3
    text = gantt_text(inst, starts, width=40)
    lines = text.splitlines()
    assert len(lines) == inst.num_machines + 1 and all(len(line) == len(lines[0]) for line in lines[:-1])
    assert "18/36 operations" in lines[-1]
    assert "3" not in "".join(line.split("|")[1] for line in lines[:-1])  # job 3 is unscheduled
