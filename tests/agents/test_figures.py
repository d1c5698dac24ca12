"""Figures the agents write: off-screen pyplot, saved as PNG into new folders, then closed."""

from __future__ import annotations

from pathlib import Path

from discoverygym.agents.figures import pyplot, save_png


def test_save_png_writes_into_new_folders_and_closes_the_figure(tmp_path: Path) -> None:
    plt = pyplot()
    figure, axis = plt.subplots()
    axis.plot([0, 1], [1, 0])
    out = save_png(figure, tmp_path / "a" / "b" / "curve.png")
    assert out == tmp_path / "a" / "b" / "curve.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.number not in plt.get_fignums()
