"""Object figures over blocks: one clip's, or every clip's pooled (means with their counts).

Every mean says over what it is taken, and the counts sit beside it, so a block that is lost
cannot improve a mean by dropping out of it:

- ``blocks``: blocks measured; ``blocks_kept_final``: share of them kept (colour and >= 50% of
  the true area near the true place) in the last frame.
- ``moved_blocks``: blocks that move more than ``MOVED_PX`` in the true clip;
  ``moved_found_final``: how many of them are found in the last frame;
  ``moved_error_final_px``: their mean position error in the last frame, over the found ones;
  ``moved_kept_final``: share of them kept in the last frame (lost ones count as not kept);
  ``moved_error_px``: mean position error over all (moved block, frame) pairs where found.
- ``moved_error_by_frame_px``, ``moved_found_by_frame``, ``blocks_kept_by_frame``: the same per
  frame 1..n (lists; clips of different lengths are aligned at frame 1).

A mean over nothing is None (e.g. no block moved).

One clip's figures as metrics of ``freeaction evaluate`` (:func:`clip_figures`; a figure that
is undefined for the clip is left out, never written as a number): ``block_error_px``, the
moved blocks' mean final position error over the found ones (``moved_error_final_px``);
``blocks_kept``, the share of moved blocks kept in the last frame (``moved_kept_final``).

Arm (:func:`summarize_silhouettes`, over clips): ``clips``; ``robot_iou``: mean robot
silhouette IoU over all frames 1..n of all clips; ``robot_iou_final``: mean over clips of the
last frame's; ``robot_iou_by_frame``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from freeaction.eval.objects.blocks import BlockFrames


def _mean(values: Sequence[float] | np.ndarray) -> float | None:
    """Mean of the non-NaN values, None when there are none."""
    v = np.asarray(values, np.float64).ravel()
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else None


def _by_frame(rows: list[np.ndarray], n: int) -> np.ndarray:
    """(len(rows), n) array of per-frame rows padded with NaN."""
    out = np.full((len(rows), n), np.nan)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def summarize_blocks(blocks: Sequence[BlockFrames]) -> dict[str, Any]:
    """The figures of the module doc over ``blocks`` (one clip's list, or several clips' joined)."""
    n = max((len(b.error_px) for b in blocks), default=0)
    moved = [b for b in blocks if b.moved]
    visible_last = [b for b in blocks if b.visible[-1]]
    moved_last = [b for b in moved if b.visible[-1]]
    error = _by_frame([b.error_px for b in moved], n)
    kept = _by_frame([np.where(b.visible, b.kept, np.nan) for b in blocks], n)
    return {
        "blocks": len(blocks),
        "blocks_kept_final": _mean([float(b.kept[-1]) for b in visible_last]),
        "moved_blocks": len(moved),
        "moved_found_final": int(sum(bool(b.found[-1]) for b in moved)),
        "moved_error_final_px": _mean([b.error_px[-1] for b in moved]),
        "moved_kept_final": _mean([float(b.kept[-1]) for b in moved_last]),
        "moved_error_px": _mean(error),
        "moved_error_by_frame_px": [_mean(error[:, t]) for t in range(n)],
        "moved_found_by_frame": [int((~np.isnan(error[:, t])).sum()) for t in range(n)],
        "blocks_kept_by_frame": [_mean(kept[:, t]) for t in range(n)],
    }


def summarize_silhouettes(ious: Sequence[np.ndarray]) -> dict[str, Any]:
    """The arm figures of the module doc over clips' per-frame robot IoUs (:func:`robot_iou`)."""
    n = max((len(v) for v in ious), default=0)
    table = _by_frame([np.asarray(v, np.float64) for v in ious], n)
    return {
        "clips": len(ious),
        "robot_iou": _mean(table),
        "robot_iou_final": _mean([v[-1] for v in ious if len(v)]),
        "robot_iou_by_frame": [_mean(table[:, t]) for t in range(n)],
    }


def clip_figures(blocks: Sequence[BlockFrames]) -> dict[str, float]:
    """One clip's ``block_error_px`` and ``blocks_kept`` (module doc), each only where defined."""
    figures = summarize_blocks(blocks)
    named = {"block_error_px": figures["moved_error_final_px"], "blocks_kept": figures["moved_kept_final"]}
    return {k: v for k, v in named.items() if v is not None}
