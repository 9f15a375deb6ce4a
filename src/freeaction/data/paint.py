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
centroid of the gripper's paint (the fingers hang below the hand; in arm world 5, whose hand is
lit in a second paint while the gripper is closed, the centroid of both), or on the frame's centre
where no paint shows.
"""

from __future__ import annotations

from collections.abc import Sequence
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


RGB = tuple[float, float, float]


def recorded_gripper_paints(annotation: dict[str, Any]) -> tuple[RGB, ...] | None:
    """The gripper's paints (RGB in 0..1) an episode's annotation records, else None: its own
    (``sim.gripper_rgba``, arm worlds 2 and up), then its hand's while closed where the world lights
    it (``sim.gripper_closed_rgba``, arm world 5)."""
    sim = annotation.get("sim")
    if not isinstance(sim, dict) or not sim.get("gripper_rgba"):
        return None
    rgbas = [sim["gripper_rgba"]] + ([sim["gripper_closed_rgba"]] if sim.get("gripper_closed_rgba") else [])
    return tuple((float(c[0]), float(c[1]), float(c[2])) for c in rgbas)


def as_paints(paints: Sequence[float] | Sequence[Sequence[float]]) -> tuple[RGB, ...]:
    """One RGB paint or several (values in 0..1) as a tuple of RGB triples.

    Raises:
        ValueError: not 3 values, or not a list of 3-value paints.
    """
    array = np.atleast_2d(np.asarray(paints, np.float64))
    if array.ndim != 2 or array.shape[1] != 3 or not len(array):
        raise ValueError(f"a paint is 3 values (RGB in 0..1), or a list of such; got {paints!r}")
    return tuple((float(r), float(g), float(b)) for r, g, b in array)


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


def gripper_window_corners(frames: np.ndarray, paints: Sequence[float] | Sequence[Sequence[float]],
                           side: int) -> np.ndarray:
    """(T, 2) int (top, left) of the ``side`` x ``side`` gripper window of each uint8 frame
    (T, H, W, 3) (see the module doc), found by the gripper's paint (one RGB) or paints (several:
    any of them); windows may reach past the frame's edges."""
    frames = np.asarray(frames)
    found = paint_mask(frames, paint_hues([list(c) for c in as_paints(paints)]))
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
