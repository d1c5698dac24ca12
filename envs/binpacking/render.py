"""Pictures of a packing in progress: text (`ansi`) and an RGB array of the bins' fill levels."""

from __future__ import annotations

import numpy as np

__all__ = ["render_ansi", "render_rgb"]

FILL = np.array([76, 114, 176], dtype=np.uint8)  # blue: used space
FREE = np.array([225, 225, 225], dtype=np.uint8)  # grey: free space
ITEM = np.array([221, 82, 82], dtype=np.uint8)  # red: the item to place
BACKGROUND = 255


def render_ansi(
    remaining: np.ndarray,
    capacity: int,
    item: int | None,
    placed: int,
    num_items: int,
    instance: str,
    max_rows: int = 20,
    width: int = 30,
) -> str:
    """One header line and one bar per open bin (the first `max_rows` bins)."""
    head = f"instance {instance}: item {placed + 1 if item is not None else placed}/{num_items}"
    head += f", size {item}" if item is not None else " (done)"
    head += f", bins open {remaining.size}, capacity {capacity}"
    lines = [head]
    for b, free in enumerate(remaining[:max_rows].tolist()):
        used = capacity - free
        filled = int(round(width * used / capacity))
        lines.append(
            f"bin {b:5d} [{'#' * filled}{'.' * (width - filled)}] {used:>6}/{capacity} used"
        )
    if remaining.size > max_rows:
        lines.append(f"... and {remaining.size - max_rows} more bins")
    return "\n".join(lines) + "\n"


def render_rgb(
    remaining: np.ndarray, capacity: int, item: int | None, height: int = 240, width: int = 480
) -> np.ndarray:
    """A (height, width, 3) uint8 image: one column per open bin, blue up to its fill level.

    With more bins than pixel columns, neighbouring bins share a column (mean fill). The red
    bar on the right is the item to place, at the same scale. The shape never changes.
    """
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    gutter = 24
    area = width - gutter - 4
    top = 4
    usable = height - top
    rows = np.arange(height)[:, None]
    n = int(remaining.size)
    if n:
        columns = min(n, area)
        groups = np.array_split(1.0 - remaining.astype(np.float64) / capacity, columns)
        fill = np.array([g.mean() for g in groups]) if columns < n else 1.0 - remaining / capacity
        step = max(1, area // columns)
        heights = np.rint(fill * usable).astype(np.int64)
        filled = rows >= (height - heights)[None, :]
        region = np.where(filled[:, :, None], FILL, FREE)
        region[:top] = BACKGROUND
        region = np.repeat(region, step, axis=1)
        if step >= 3:  # a white gap between bins
            region[:, step - 1 :: step] = BACKGROUND
        image[:, : region.shape[1]] = region[:, :area]
    if item is not None:
        h = int(round(usable * item / capacity))
        image[height - h :, width - gutter + 4 : width - 4] = ITEM
    return image
