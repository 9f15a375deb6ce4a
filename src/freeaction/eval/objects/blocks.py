"""Pusher blocks in generated frames: is each block still there, with its colour, where it should be?

The pusher simulator gives every block of an episode a different colour from
:data:`freeaction.sim.pusher.BLOCK_COLORS` and records it in the annotation (``blocks[k]["rgb"]``),
with the block's centre in every frame (``block_xy``, metres; pixel centre = ``block_xy *
px_per_meter - 0.5``, as for ``ee_px``). So a block is found by its colour alone.

Definitions (frames 1..n of a clip; frame 0 is the given context and never counts):

- **colour mask** of block k in a frame: pixels whose RGB is within :data:`COLOR_TOLERANCE`
  (Euclidean, 0..255) of the block's colour.
- **true mask**: the colour mask in the true frame. The renderer paints exact palette colours,
  so it is the block's visible pixels (anti-aliased edge pixels count when at least ~75% covered;
  the part hidden under the effector does not count). Its centroid matches the pose
  ``block_xy`` to < 0.5 px when the effector does not touch the block (tested).
- **search region**: the true mask grown by :data:`SEARCH_MARGIN_PX` (Euclidean distance).
- **found pixels** in a generated frame: the connected groups (8-connectivity) of the colour
  mask that touch the search region. Whole groups count, so a block shifted by a few pixels is
  found whole and its full shift shows as position error; colour elsewhere in the frame is ignored.
- **position error** (px): distance between the centroids of the found pixels and of the true
  mask; NaN when nothing is found (the block is then also not kept; summaries count found blocks).
- **area share**: found pixels / true-mask pixels. **Kept**: area share >= :data:`KEPT_AREA_SHARE`.
- **moved**: the block's true centre (from ``block_xy``) gets more than :data:`MOVED_PX` from its
  place in frame 0 at some frame of the clip.

Generated = true frames gives error 0 and area share 1 for every block by construction; the
"nothing moves" reference (:func:`nothing_moves`) gives each block's true displacement as its
error while it is still within :data:`SEARCH_MARGIN_PX` of its true pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

COLOR_TOLERANCE = 34.0
"""RGB distance (0..255) under which a pixel has a block's colour. The closest pair of pusher
colours (yellow, orange) is 68.4 apart, so no pixel can match two blocks; the table is >= 140
from every block colour and the effector >= 142, so a table/effector pixel never matches, and an
edge pixel matches when it is >= 76% covered by the block (blend distance = (1 - coverage) *
distance to the table; the largest, orange, is 185 -> 82%). A blend of two block colours
matches only the one covering more than half of it."""

SEARCH_MARGIN_PX = 3.0
"""How far (px) outside a block's true pixels a group of its colour may start and still count as
the block: about half the smallest block's width at 64x64 (60 mm = 7.7 px)."""

MOVED_PX = 2.0
"""A block counts as moved in a clip when its true centre gets more than this (px) from its
frame-0 place."""

KEPT_AREA_SHARE = 0.5
"""A block is kept in a generated frame when at least this share of its true area is found."""


@dataclass(frozen=True)
class BlockFrames:
    """One block's figures in frames 1..n of one generated clip."""

    color: str
    shape: str
    displacement_px: float  # true: largest distance of its centre from its frame-0 place
    error_px: np.ndarray  # (n,) position error per frame; NaN where not found
    area_share: np.ndarray  # (n,) found area / true area per frame (0 where not found)

    @property
    def moved(self) -> bool:
        """Whether the block moves more than :data:`MOVED_PX` in the true clip."""
        return self.displacement_px > MOVED_PX

    @property
    def found(self) -> np.ndarray:
        """(n,) bool: something of its colour touches its true place."""
        return ~np.isnan(self.error_px)

    @property
    def kept(self) -> np.ndarray:
        """(n,) bool: found with at least :data:`KEPT_AREA_SHARE` of its true area."""
        return np.nan_to_num(self.area_share) >= KEPT_AREA_SHARE

    @property
    def visible(self) -> np.ndarray:
        """(n,) bool: the block shows in the true frame (False only if the effector hides it whole)."""
        return ~np.isnan(self.area_share)


def nothing_moves(frames: np.ndarray) -> np.ndarray:
    """The "nothing moves" reference of a clip: every frame is the context frame 0."""
    frames = np.asarray(frames)
    return np.repeat(frames[:1], len(frames), axis=0)


def color_mask(frame: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels of an RGB frame within :data:`COLOR_TOLERANCE` of ``rgb``."""
    diff = np.asarray(frame, np.float32) - np.asarray(rgb, np.float32)
    return np.einsum("hwc,hwc->hw", diff, diff) < COLOR_TOLERANCE**2


def centroid(mask: np.ndarray) -> np.ndarray:
    """[column, row] mean of a non-empty mask's pixels."""
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()])


def found_pixels(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The connected groups (8-connectivity) of ``mask`` that touch ``region``."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    touching = np.unique(labels[region & mask])
    return np.isin(labels, touching[touching > 0])


def search_region(true_mask: np.ndarray) -> np.ndarray:
    """The true mask grown by :data:`SEARCH_MARGIN_PX`."""
    return ndimage.distance_transform_edt(~true_mask) <= SEARCH_MARGIN_PX


def compare_block(true_frame: np.ndarray, generated_frame: np.ndarray, rgb: np.ndarray) -> tuple[float, float]:
    """(position error px or NaN, area share) of the block of colour ``rgb`` in one frame pair.

    A block with no true pixels (hidden) gives (NaN, NaN)."""
    truth = color_mask(true_frame, rgb)
    if not truth.any():
        return float("nan"), float("nan")
    found = found_pixels(color_mask(generated_frame, rgb), search_region(truth))
    if not found.any():
        return float("nan"), 0.0
    error = float(np.hypot(*(centroid(found) - centroid(truth))))
    return error, float(found.sum() / truth.sum())


def _native_size(annotation: dict[str, Any]) -> tuple[int, int] | None:
    """(H, W) the episode was rendered at, from its ``sim`` record."""
    sim = annotation.get("sim", {})
    if "px_per_meter" not in sim or "table_m" not in sim:
        return None
    ppm = float(sim["px_per_meter"])
    return round(sim["table_m"][1] * ppm), round(sim["table_m"][0] * ppm)


class BlockTrack:
    """The blocks of one pusher episode (colours and true centres), read from its annotation.

    Centres are in pixel coordinates of frames of ``frame_size`` (column, row; centre of the
    top-left pixel at (0, 0)), rescaled when the dataset is read at another size than rendered.
    """

    def __init__(self, annotation: dict[str, Any], frame_size: tuple[int, int]) -> None:
        self.blocks: list[dict[str, Any]] = list(annotation["blocks"])
        ppm = float(annotation["sim"]["px_per_meter"])
        centres = np.asarray(annotation["block_xy"], np.float64).reshape(-1, len(self.blocks), 2) * ppm - 0.5
        native, (h, w) = _native_size(annotation), frame_size
        if native and native != (h, w):
            centres = (centres + 0.5) * np.array([w / native[1], h / native[0]]) - 0.5
        self.centres_px = centres  # (T, blocks, 2)

    @classmethod
    def from_clip_meta(cls, meta: dict[str, Any], frame_size: tuple[int, int]) -> BlockTrack | None:
        """The blocks of a clip's episode when its annotation has them (pusher data), else None."""
        path = meta.get("annotation")
        if not path or not Path(path).is_file():
            return None
        ann = json.loads(Path(path).read_text(encoding="utf-8"))
        if not all(k in ann for k in ("blocks", "block_xy")) or "px_per_meter" not in ann.get("sim", {}):
            return None
        return cls(ann, frame_size)

    def displacement_px(self, start: int, n_frames: int) -> np.ndarray:
        """(blocks,) largest distance of each true centre from its place at ``start`` over the
        clip's frames ``start .. start + n_frames - 1``."""
        window = self.centres_px[start : start + n_frames]
        if len(window) != n_frames:
            raise ValueError(f"episode has {len(self.centres_px)} frames; clip needs {start}..{start + n_frames}")
        return np.linalg.norm(window - window[:1], axis=-1).max(axis=0)

    def measure(self, true_frames: np.ndarray, generated_frames: np.ndarray, start: int) -> list[BlockFrames]:
        """Every block's figures in frames 1..n of ``generated_frames`` against ``true_frames``
        (both uint8 (n+1, H, W, 3), the clip that starts at episode frame ``start``)."""
        true_frames, generated_frames = np.asarray(true_frames), np.asarray(generated_frames)
        if true_frames.shape != generated_frames.shape:
            raise ValueError(f"true frames {true_frames.shape} and generated frames {generated_frames.shape} differ")
        moved = self.displacement_px(start, len(true_frames))
        out = []
        for k, block in enumerate(self.blocks):
            rgb = np.asarray(block["rgb"], np.float32)
            pairs = [compare_block(t, g, rgb) for t, g in zip(true_frames[1:], generated_frames[1:], strict=True)]
            error, share = (np.array(v, np.float64) for v in zip(*pairs, strict=True))
            out.append(BlockFrames(block["color"], block["shape"], float(moved[k]), error, share))
        return out
