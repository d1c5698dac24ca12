"""Pictures of a cap set in progress: text (`ansi`) and an RGB grid (`rgb_array`), any n.

Both lay the 3^n vectors out as a grid: the row is the vector's first ``n // 2`` digits, the
column its last ``n - n // 2`` digits (both in base 3, most significant first), so vector i
sits at row ``i // 3 ** (n - n // 2)``, column ``i % 3 ** (n - n // 2)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TEXT_GRID_MAX_N", "cell_pixels", "grid_shape", "render_ansi", "render_rgb"]

TEXT_GRID_MAX_N = 6  # 27 x 27 characters; larger n print the summary only
MEMBER = np.array([76, 114, 176], dtype=np.uint8)  # blue
LAST = np.array([221, 82, 82], dtype=np.uint8)  # red: the vector added last
BLOCKED = np.array([200, 200, 200], dtype=np.uint8)  # grey
FREE = np.array([255, 255, 255], dtype=np.uint8)  # white
GRID = 120  # separator grey


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of the layout."""
    return 3 ** (n // 2), 3 ** (n - n // 2)


def _digits(value: int, width: int) -> str:
    out = ""
    for _ in range(width):
        value, d = divmod(value, 3)
        out = str(d) + out
    return out


def render_ansi(
    n: int,
    members: np.ndarray,
    blocked: np.ndarray,
    size: int,
    best_known: int,
    last: tuple[int, ...] | None,
) -> str:
    """A summary line, then (n <= 6) the grid: ``O`` member, ``x`` blocked, ``.`` free."""
    free = int(members.size - members.sum() - blocked.sum())
    head = (
        f"cap set in F_3^{n}: size {size} (best known {best_known}), "
        f"{int(blocked.sum())} blocked, {free} free"
    )
    if last is not None:
        head += f", last added {list(last)}"
    lines = [head]
    if n <= TEXT_GRID_MAX_N:
        rows, cols = grid_shape(n)
        cells = np.full(members.shape, ".", dtype="<U1")
        cells[blocked.astype(bool)] = "x"
        cells[members.astype(bool)] = "O"
        cells = cells.reshape(rows, cols)
        width = n // 2
        lines.append(" " * (width + 1) + "columns: last " + f"{n - width} digits in base 3")
        for r in range(rows):
            label = _digits(r, width) if width else ""
            lines.append(f"{label:>{width}} " + "".join(cells[r]))
    return "\n".join(lines) + "\n"


def cell_pixels(n: int) -> int:
    """The side of one vector's cell in pixels: 16 up to n = 4, smaller above (n = 9: 3)."""
    return 16 if n <= 4 else 8 if n <= 6 else 4 if n <= 8 else 3


def render_rgb(
    n: int, members: np.ndarray, blocked: np.ndarray, last_index: int | None
) -> np.ndarray:
    """A uint8 (H, W, 3) image of the grid: blue members, the last one red, grey blocked
    vectors, white free ones; dark lines every 3 cells (and light ones between cells of 8
    pixels or more). The shape depends on n only (n = 4: 144 x 144; n = 8: 324 x 324)."""
    cell = cell_pixels(n)
    rows, cols = grid_shape(n)
    colours = np.where(
        members.astype(bool)[:, None],
        MEMBER,
        np.where(blocked.astype(bool)[:, None], BLOCKED, FREE),
    )
    if last_index is not None:
        colours[last_index] = LAST
    colours = colours.reshape(rows, cols, 3)
    image = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
    if cell >= 8:
        image[::cell, :] = 230
        image[:, ::cell] = 230
    image[:: 3 * cell, :] = GRID
    image[:, :: 3 * cell] = GRID
    return np.ascontiguousarray(image)
