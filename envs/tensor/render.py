"""Text and image views of a residual tensor (slices along the first mode, i.e. per A entry)."""

from __future__ import annotations

import numpy as np


def ansi(residual: np.ndarray, n: int, m: int, header: str = "") -> str:
    """The slices T[a, :, :] (a = i*m + j, one per entry A[i, j]) as integer tables."""
    lines = [header] if header else []
    width = max(2, len(str(int(np.abs(residual).max(initial=0)))) + 1)
    for a, slab in enumerate(residual):
        i, j = divmod(a, m)
        lines.append(f"slice {a} (A[{i},{j}]): rows B entries, columns C^T entries")
        for row in slab:
            lines.append(
                " ".join(f"{int(x):>{width}}" if x else " " * (width - 1) + "." for x in row)
            )
    return "\n".join(lines) + "\n"


def rgb(residual: np.ndarray, cell: int = 8, gap: int = 2) -> np.ndarray:
    """Heat maps of the slices T[a, :, :] side by side in a near-square grid, as uint8 RGB.

    White is 0, red positive, blue negative, with intensity |x| / max|x|.
    """
    slices, rows, cols = residual.shape
    per_row = int(np.ceil(np.sqrt(slices)))
    grid_rows = int(np.ceil(slices / per_row))
    height = grid_rows * (rows * cell + gap) + gap
    width = per_row * (cols * cell + gap) + gap
    image = np.full((height, width, 3), 200, dtype=np.uint8)
    scale = max(1.0, float(np.abs(residual).max(initial=0)))
    t = np.clip(residual / scale, -1, 1)
    colours = np.empty(residual.shape + (3,), dtype=np.float64)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    colours[..., 0] = 255 * (1 - neg)
    colours[..., 1] = 255 * (1 - pos - neg)
    colours[..., 2] = 255 * (1 - pos)
    block = np.kron(colours, np.ones((1, cell, cell, 1))).astype(np.uint8)
    for a in range(slices):
        r, c = divmod(a, per_row)
        y, x = gap + r * (rows * cell + gap), gap + c * (cols * cell + gap)
        image[y : y + rows * cell, x : x + cols * cell] = block[a]
    return image
