"""End-effector position error for the pusher simulator's data, by colour.

The pusher's effector is a disc of a colour no block uses; the episode annotation stores it
(``ee_color``), the table colour (``table_color``) and the true centre in every frame
(``ee_px[t] = [column, row]``, centre of the top-left pixel at (0, 0)). In a generated frame
the effector is found as the largest connected group of pixels whose colour is within
:data:`COLOR_TOLERANCE` (Euclidean, RGB) of ``ee_color`` and closer to it than to the table
colour; its centroid is the estimate.

Metrics of one clip (frames 1..n):

- ``ee_error``: mean pixel distance between found and true centres; a frame where no
  effector-coloured pixel is found counts as the frame's diagonal (the worst possible error),
  so a video that loses the effector cannot score well by omission.
- ``ee_missing``: the fraction of frames where it was not found.

Coordinates follow frame resizing: a dataset read at another size scales ``ee_px`` with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

COLOR_TOLERANCE = 60.0


def locate(frame: np.ndarray, ee_color: np.ndarray, table_color: np.ndarray) -> np.ndarray | None:
    """[column, row] centroid of the effector in one RGB uint8 frame, or None when not found."""
    f = np.asarray(frame, dtype=np.float32)
    d_ee = np.linalg.norm(f - np.asarray(ee_color, np.float32), axis=-1)
    d_table = np.linalg.norm(f - np.asarray(table_color, np.float32), axis=-1)
    mask = (d_ee < COLOR_TOLERANCE) & (d_ee < d_table)
    if not mask.any():
        return None
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, index=range(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()])


class EffectorTrack:
    """The true effector track of one episode, read from its pusher annotation."""

    def __init__(self, annotation: dict[str, Any], frame_size: tuple[int, int]) -> None:
        self.ee_color = np.asarray(annotation["ee_color"], np.float32)
        self.table_color = np.asarray(annotation["table_color"], np.float32)
        ee_px = np.asarray(annotation["ee_px"], np.float64)
        sim = annotation.get("sim", {})
        native = None
        if "px_per_meter" in sim and "table_m" in sim:
            ppm = float(sim["px_per_meter"])
            native = (round(sim["table_m"][1] * ppm), round(sim["table_m"][0] * ppm))  # (H, W)
        h, w = frame_size
        if native and native != (h, w):
            ee_px = (ee_px + 0.5) * np.array([w / native[1], h / native[0]]) - 0.5
        self.ee_px = ee_px

    @classmethod
    def from_clip_meta(cls, meta: dict[str, Any], frame_size: tuple[int, int]) -> EffectorTrack | None:
        """The track of a clip's episode when its annotation has one (pusher data), else None."""
        path = meta.get("annotation")
        if not path or not Path(path).is_file():
            return None
        ann = json.loads(Path(path).read_text(encoding="utf-8"))
        if not all(k in ann for k in ("ee_color", "ee_px", "table_color")):
            return None
        return cls(ann, frame_size)

    def locate_all(self, frames: np.ndarray) -> list[np.ndarray | None]:
        """The effector's [column, row] in each of frames 1..n (None where it is not found)."""
        return [locate(frame, self.ee_color, self.table_color) for frame in np.asarray(frames)[1:]]

    def frame_errors(self, frames: np.ndarray, start: int, found: list[np.ndarray | None] | None = None) -> list[float]:
        """Pixel error of each of frames 1..n of a clip that starts at episode frame ``start``; a
        frame where the effector is not found costs the frame's diagonal (``found``: the positions
        :meth:`locate_all` returned for these frames, if already known)."""
        frames = np.asarray(frames)
        truth = self.ee_px[start : start + len(frames)]
        if len(truth) != len(frames):
            raise ValueError(f"effector track has {len(self.ee_px)} frames; clip needs {start}..{start + len(frames)}")
        worst = float(np.hypot(*frames.shape[1:3]))
        positions = self.locate_all(frames) if found is None else found
        return [worst if pos is None else float(np.hypot(*(pos - true)))
                for pos, true in zip(positions, truth[1:], strict=True)]

    def error(self, frames: np.ndarray, start: int, found: list[np.ndarray | None] | None = None) -> dict[str, float]:
        """``ee_error`` / ``ee_missing`` of frames 1..n of a clip that starts at episode frame ``start``
        (``found`` as in :meth:`frame_errors`)."""
        positions = self.locate_all(frames) if found is None else found
        errs = self.frame_errors(frames, start, positions)
        missing = sum(pos is None for pos in positions)
        return {"ee_error": float(np.mean(errs)), "ee_missing": missing / max(len(errs), 1)}
