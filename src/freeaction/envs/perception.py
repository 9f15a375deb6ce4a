"""Finding things in pusher frames by colour, and the pixel success test both envs share.

Every object of a pusher scene has a flat colour (table, effector, blocks), so a frame is read
by assigning each pixel to the nearest colour of the scene's palette: an object is the largest
connected group of pixels assigned to its colour and within :data:`COLOR_TOLERANCE` (Euclidean,
RGB) of it, and its position is that group's centroid ([column, row], centre of the top-left
pixel at (0, 0)). A group smaller than :data:`MIN_PIXELS` counts as not found.

The same test judges the simulator's frames and the world model's, so a world model is judged
only by what it draws, never by hidden state it does not have.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

COLOR_TOLERANCE = 60.0
MIN_PIXELS = 3


def locate_color(
    frame: np.ndarray,
    color: str,
    palette: Mapping[str, tuple[int, int, int]],
    tolerance: float = COLOR_TOLERANCE,
    min_pixels: int = MIN_PIXELS,
) -> tuple[np.ndarray, int] | None:
    """([column, row] centroid, pixel count) of the object of palette colour ``color`` in one RGB
    uint8 frame (H, W, 3), or None when fewer than ``min_pixels`` pixels show it."""
    names = list(palette)
    colors = np.asarray([palette[n] for n in names], np.float32)  # (P, 3)
    f = np.asarray(frame, np.float32)
    dist = np.linalg.norm(f[:, :, None, :] - colors[None, None], axis=-1)  # (H, W, P)
    k = names.index(color)
    mask = (dist.argmin(axis=-1) == k) & (dist[..., k] < tolerance)
    if mask.sum() < min_pixels:
        return None
    mask = largest_group(mask)
    count = int(mask.sum())
    if count < min_pixels:
        return None
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()]), count


def largest_group(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected group of a boolean mask (the mask itself when it has at most one)."""
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum(mask, labels, index=range(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def in_goal(position: np.ndarray | None, goal_px: np.ndarray, radius_px: float) -> bool:
    """Whether a found position lies within ``radius_px`` of the goal centre (a missing one does not)."""
    return position is not None and float(np.hypot(*(np.asarray(position) - goal_px))) <= radius_px
