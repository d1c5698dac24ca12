"""Gantt charts of any schedule: a matplotlib figure, an RGB array, a PNG file, or text.

A schedule is ``starts`` (jobs x operations, start times; -1 marks an unscheduled operation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from discoverygym.envs.jobshop.instances import JobShopInstance

_SYMBOLS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _scheduled(instance: JobShopInstance, starts: np.ndarray):
    starts = np.asarray(starts)
    jobs, ops = np.nonzero(starts >= 0)
    return jobs, ops, starts[jobs, ops], instance.durations[jobs, ops], instance.machines[jobs, ops]


def gantt_figure(instance: JobShopInstance, starts: np.ndarray, title: str | None = None, figsize=(10, 5)):
    """A matplotlib Figure: one row per machine, one bar per scheduled operation, coloured by job."""
    import matplotlib
    from matplotlib.figure import Figure

    jobs, _, s, d, m = _scheduled(instance, starts)
    fig = Figure(figsize=figsize, dpi=80)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["tab10" if instance.num_jobs <= 10 else "tab20"]
    span = int((s + d).max(initial=0))
    ax.barh(m, d, left=s, height=0.8, color=[cmap(j % cmap.N) for j in jobs.tolist()], edgecolor="black", linewidth=0.3)
    if instance.num_jobs <= 30:
        for job, ss, dd, mm in zip(jobs.tolist(), s.tolist(), d.tolist(), m.tolist()):
            if dd >= 0.03 * max(span, 1):
                ax.text(ss + dd / 2, mm, str(job), ha="center", va="center", fontsize=6)
    ax.set_yticks(range(instance.num_machines))
    ax.set_yticklabels([f"M{i}" for i in range(instance.num_machines)], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time")
    ax.set_xlim(0, max(span, 1) * 1.02)
    ax.set_title(title or f"{instance.name}: makespan {span}")
    fig.tight_layout()
    return fig


def gantt_rgb(instance: JobShopInstance, starts: np.ndarray, title: str | None = None) -> np.ndarray:
    """The Gantt chart as an (H, W, 3) uint8 array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = gantt_figure(instance, starts, title)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def save_gantt(instance: JobShopInstance, starts: np.ndarray, path: str | Path, title: str | None = None) -> Path:
    """Save the Gantt chart of `starts` as a PNG (any schedule: env, rule or solver)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = gantt_figure(instance, starts, title)
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def gantt_text(instance: JobShopInstance, starts: np.ndarray, width: int = 72, horizon: int | None = None) -> str:
    """A text Gantt chart: one line per machine, each column a time slice of length
    max(makespan, horizon) / width showing the job symbol (0-9, a-z, A-Z, then '#') that
    occupies it, '.' when idle."""
    jobs, _, s, d, m = _scheduled(instance, starts)
    span = int((s + d).max(initial=0))
    scale = max(span, horizon or 0, 1) / width
    rows = [["."] * width for _ in range(instance.num_machines)]
    for job, ss, dd, mm in zip(jobs.tolist(), s.tolist(), d.tolist(), m.tolist()):
        first, last = int(ss / scale), max(int(ss / scale), int(np.ceil((ss + dd) / scale)) - 1)
        for column in range(first, min(last, width - 1) + 1):
            rows[mm][column] = _SYMBOLS[job] if job < len(_SYMBOLS) else "#"
    label = len(str(instance.num_machines - 1)) + 1
    lines = [f"M{i:<{label}}|" + "".join(row) + "|" for i, row in enumerate(rows)]
    lines.append(f"{instance.name}: {len(jobs)}/{instance.durations.size} operations, makespan so far {span}")
    return "\n".join(lines)
