"""What a model gets wrong, in one picture: a few clips' first and last frames, true | generated.

- :func:`telling_clips`: from ``freeaction quality``'s clip rows, the worst clips by the object
  figure the world has (pusher: moved-block final error, a moved block lost counting as worst;
  arm: moving-robot IoU; otherwise Latent L2) and one typical clip (the median of the rest);
- :func:`first_last_grid`: one row per clip, columns true first | generated first | true last |
  generated last, white gaps between;
- :func:`save_png`: the grid as a PNG.

The frames come from the same quality run (``quality_check(..., frames_out=...)``, the arrays of
:class:`~freeaction.eval.first_last_frames.FirstLastFrames`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from freeaction.files import atomic_path

GAP = 2  # white pixels between frames and between clips
COLUMNS = ("true_first", "generated_first", "true_last", "generated_last")
COLUMN_TITLES = ("first frame, true", "first frame, generated", "last frame, true", "last frame, generated")


def badness(row: dict[str, Any]) -> tuple[str, float] | None:
    """How wrong one clip row is, by the most telling figure it has, larger = worse, with that
    figure's name; None for a row with no such figure."""
    if "block_error_px" in row:
        return "moved-block final error (px)", float(row["block_error_px"])
    if "blocks_kept" in row:  # blocks moved, none found in the last frame
        return "moved-block final error (px)", math.inf
    if "robot_iou_moving" in row:
        return "moving-robot IoU", 1.0 - float(row["robot_iou_moving"])
    if "latent_l2" in row:
        return "Latent L2", float(row["latent_l2"])
    return None


def telling_clips(rows: list[dict[str, Any]], worst: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """``[(label, row)]``: the ``worst`` worst rows (one per clip) and then the median row of the
    rest, labelled ``"worst"`` or ``"typical"``; only rows measured by the figure the first
    measured row has, so a pusher clip where no block moved is never picked."""
    scored = [(b, r) for r in rows if (b := badness(r)) is not None]
    if not scored:
        return []
    figure = scored[0][0][0]
    ranked = sorted(((b[1], i, r) for i, (b, r) in enumerate(scored) if b[0] == figure), key=lambda t: (-t[0], t[1]))
    chosen: list[tuple[str, dict[str, Any]]] = []
    clips: set[str] = set()
    for _, _, r in ranked:
        if len(chosen) == worst:
            break
        if r["clip"] not in clips:
            chosen.append(("worst", r))
            clips.add(r["clip"])
    rest = [r for _, _, r in ranked if r["clip"] not in clips]
    if rest:
        chosen.append(("typical", rest[len(rest) // 2]))
    return chosen


def first_last_grid(frames: dict[str, np.ndarray], indices: list[int], gap: int = GAP) -> np.ndarray:
    """(H', W', 3) uint8: for each index i, one row of ``frames[c][i]`` for c in :data:`COLUMNS`
    (each (N, H, W, 3) uint8), ``gap`` white pixels between frames and rows."""
    if not indices:
        raise ValueError("no clip to draw")
    h, w = frames[COLUMNS[0]].shape[1:3]
    out = np.full((len(indices) * (h + gap) - gap, len(COLUMNS) * (w + gap) - gap, 3), 255, np.uint8)
    for row, i in enumerate(indices):
        for col, name in enumerate(COLUMNS):
            y, x = row * (h + gap), col * (w + gap)
            out[y : y + h, x : x + w] = frames[name][i]
    return out


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write ``image`` (H, W, 3) uint8 as a PNG, each pixel ``scale`` x ``scale`` (nearest), atomically."""
    picture = Image.fromarray(np.asarray(image, np.uint8))
    if scale != 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG", optimize=True)
    return Path(path)
