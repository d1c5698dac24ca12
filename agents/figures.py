"""Figures the agents write (progress and training curves): matplotlib off-screen, saved whole.

`pyplot()` gives matplotlib's pyplot on the Agg backend (no display needed); `save_png` lays a
figure out, writes it (parent folders made), closes it and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot on the off-screen Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(figure: Any, out: Path, dpi: int = 110) -> Path:
    """Write `figure` to `out` as PNG after `tight_layout`, then close it; the path written."""
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=dpi)
    pyplot().close(figure)
    return out
