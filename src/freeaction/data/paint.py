"""Painted parts of simulator frames, found by their hue: the arm's links and gripper in world 2.

In the arm simulator's ``world: 2`` the Panda's links are painted blue and its gripper orange,
and the annotation records both paints (``sim.robot_rgba``, ``sim.gripper_rgba``). MuJoCo's
lighting scales a surface's colour and adds a little white, which keeps its hue; so a pixel is
paint when its hue is within :data:`HUE_TOLERANCE` of a paint's hue and its saturation and value
are at least :data:`MIN_SATURATION` and :data:`MIN_VALUE` (the white table and grey wall have
almost no saturation; the red and green cubes' hues are >= 20 degrees from both paints).

The **gripper window** (:func:`gripper_window_corners`) is the square around the painted gripper
that the gripper reader reads (:mod:`freeaction.eval.objects.gripper`) and that the
autoencoder's ``focus_weight`` weighs (:mod:`freeaction.vae.train`): its side is
:data:`GRIPPER_WINDOW_SHARE` of the frame's shorter side, centred ``side // 6`` px below the
centroid of the gripper's paint (the fingers hang below the hand), or on the frame's centre
where no paint shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.color import rgb2hsv

HUE_TOLERANCE = 12.0 / 360.0
"""Largest hue difference (as a fraction of the colour circle) between a painted pixel and its paint."""
MIN_SATURATION = 0.35
"""Smallest HSV saturation of a painted pixel (the table and wall are below 0.1)."""
MIN_VALUE = 0.12
"""Smallest HSV value of a painted pixel (hue is meaningless in near-black pixels)."""
GRIPPER_WINDOW_SHARE = 3 / 8
"""Side of the gripper window as a share of the frame's shorter side (24 px at 64x64: the hand and
its fingers at every pose)."""


def recorded_gripper_rgb(annotation: dict[str, Any]) -> tuple[float, float, float] | None:
    """The gripper's paint (RGB in 0..1) an episode's annotation records (``sim.gripper_rgba``, arm
    world 2), else None."""
    sim = annotation.get("sim")
    rgba = sim.get("gripper_rgba") if isinstance(sim, dict) else None
    return (float(rgba[0]), float(rgba[1]), float(rgba[2])) if rgba else None


def paint_hues(rgbas: list[list[float]]) -> np.ndarray:
    """The hues (0..1) of RGB(A) paints given in 0..1."""
    rgb = np.asarray([c[:3] for c in rgbas], np.float64).reshape(1, -1, 3)
    return rgb2hsv(rgb)[0, :, 0]


def paint_mask(frames: np.ndarray, hues: np.ndarray) -> np.ndarray:
    """(T, H, W) bool: pixels of uint8 frames (T, H, W, 3) with one of the paint ``hues`` (see the module doc)."""
    hsv = rgb2hsv(np.asarray(frames, np.uint8).reshape(-1, 3)[None])[0].reshape(*np.shape(frames))
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    gap = np.abs(hue[..., None] - np.asarray(hues)[None, None, None])
    near = (np.minimum(gap, 1 - gap) <= HUE_TOLERANCE).any(axis=-1)
    return near & (sat >= MIN_SATURATION) & (val >= MIN_VALUE)


def gripper_window_side(height: int, width: int) -> int:
    """The gripper window's side in pixels for frames of ``height`` x ``width``."""
    return round(GRIPPER_WINDOW_SHARE * min(height, width))


def gripper_window_corners(frames: np.ndarray, rgb: tuple[float, float, float] | list[float], side: int) -> np.ndarray:
    """(T, 2) int (top, left) of the ``side`` x ``side`` gripper window of each uint8 frame
    (T, H, W, 3) (see the module doc); windows may reach past the frame's edges."""
    frames = np.asarray(frames)
    found = paint_mask(frames, paint_hues([list(rgb)]))
    corners = np.empty((len(frames), 2), np.int64)
    for i, mask in enumerate(found):
        ys, xs = np.nonzero(mask)
        cy, cx = (ys.mean(), xs.mean()) if len(ys) else ((frames.shape[1] - 1) / 2, (frames.shape[2] - 1) / 2)
        corners[i] = (int(round(cy)) + side // 6 - side // 2, int(round(cx)) - side // 2)
    return corners


def window_masks(corners: np.ndarray, side: int, height: int, width: int) -> np.ndarray:
    """(T, H, W) bool: the part inside the frame of each ``side`` x ``side`` window at ``corners`` (T, 2)."""
    rows = np.arange(height)[None, :, None]
    cols = np.arange(width)[None, None, :]
    top, left = corners[:, 0, None, None], corners[:, 1, None, None]
    return (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
