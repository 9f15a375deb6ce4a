"""The arm's silhouette: intersection over union of the robot's pixels in true and generated frames.

True robot masks come from the simulator's segmentation render
(:meth:`freeaction.sim.arm.ArmSim.robot_mask`: the Panda's and its gripper's geoms, a pixel is
robot when at least half of its supersampled area is). Colour alone cannot find the robot in a
frame: the Panda is white and grey in front of a grey wall and a white table (a colour
histogram classifier fitted on segmentation masks reaches IoU ~0.35 on held-out true frames).
A frame's robot mask is :func:`difference_mask` against the robot-free render of the true
frame (:meth:`freeaction.sim.arm.ArmSim.render_background`; the cubes where they are then): the
pixels that differ from the empty scene by more than :data:`DIFFERENCE_THRESHOLD`. On true
frames it agrees with the segmentation to IoU 0.83-0.87 at 64x64 (the robot's grey parts over
the grey wall are what it misses), so :func:`robot_iou` finds the robot the same way in the
true and the generated frames (true frames score 1) and the segmentation checks the finder.

Gripper open/closed is not measured from pixels: at 64x64 the fingers are 1-2 px wide and their
full 8 cm opening spans about 5 px, so the open and closed gripper differ by a few grey pixels
next to the grey hand; :mod:`~freeaction.eval.objects.gripper` reads it with a learned classifier.
The painted arm of world 2 is found by colour without a re-simulation
(:mod:`~freeaction.eval.objects.paint`).

A mask that holds a fixed part (the painted mount of world 2) and an arm that moves little in
a short clip make the plain IoU high for a video in which nothing moves. :func:`moving_silhouette_iou`
sees only the motion: per frame t it compares what changed since frame 0 in each video
(``mask_t XOR mask_0``, the true video's against the generated video's own), with a tolerance
of :data:`MOVING_TOLERANCE_PX` (:func:`tolerant_iou`), over the frames whose true change holds
at least :data:`MOVING_MIN_PIXELS` pixels; "nothing moves" scores 0 and the true video 1.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DIFFERENCE_THRESHOLD = 10.0
"""Largest channel difference (0..255) from the robot-free render above which a pixel is robot."""
MOVING_MIN_PIXELS = 16
"""Fewest pixels of true change (``mask_t XOR mask_0``) for a frame to count in
:func:`moving_silhouette_iou`; below it the motion is a few edge pixels and the IoU would read jitter."""
MOVING_TOLERANCE_PX = 1
"""How far (px, 8-neighbourhood) a changed pixel may lie from the other video's change and still
match in :func:`moving_silhouette_iou` (the VAE-decoded true frames move edges by about a pixel)."""


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """|a and b| / |a or b| of two boolean masks; 1.0 when both are empty (they agree)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = int((a | b).sum())
    return 1.0 if union == 0 else float((a & b).sum() / union)


def silhouette_iou(true_masks: np.ndarray, generated_masks: np.ndarray) -> np.ndarray:
    """(n,) IoU per frame 1..n of two (n+1, H, W) boolean mask sequences (frame 0 is the context)."""
    true_masks, generated_masks = np.asarray(true_masks, bool), np.asarray(generated_masks, bool)
    if true_masks.shape != generated_masks.shape:
        raise ValueError(f"mask shapes differ: {true_masks.shape} vs {generated_masks.shape}")
    return np.array([mask_iou(t, g) for t, g in zip(true_masks[1:], generated_masks[1:], strict=True)])


def tolerant_iou(a: np.ndarray, b: np.ndarray, tolerance_px: int) -> float:
    """IoU of two boolean masks where a pixel of either counts as shared when it lies within
    ``tolerance_px`` (chessboard distance) of the other mask: |a near b or b near a| / |a or b|.
    ``tolerance_px=0`` is :func:`mask_iou`; 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if tolerance_px == 0:
        return mask_iou(a, b)
    union = int((a | b).sum())
    if union == 0:
        return 1.0
    reach = np.ones((3, 3), bool)
    near_b = ndimage.binary_dilation(b, reach, iterations=tolerance_px)
    near_a = ndimage.binary_dilation(a, reach, iterations=tolerance_px)
    return float(((a & near_b) | (b & near_a)).sum() / union)


def moving_silhouette_iou(
    true_masks: np.ndarray, generated_masks: np.ndarray, *, min_pixels: int = MOVING_MIN_PIXELS,
    tolerance_px: int = MOVING_TOLERANCE_PX,
) -> np.ndarray:
    """(n,) IoU of the changed silhouette per frame 1..n of two (n+1, H, W) boolean mask sequences:
    :func:`tolerant_iou` of ``true_t XOR true_0`` and ``generated_t XOR generated_0`` (each video
    against its own frame 0, so what stays put cancels); NaN for a frame whose true change has
    fewer than ``min_pixels`` pixels (skipped, not scored)."""
    true_masks, generated_masks = np.asarray(true_masks, bool), np.asarray(generated_masks, bool)
    if true_masks.shape != generated_masks.shape:
        raise ValueError(f"mask shapes differ: {true_masks.shape} vs {generated_masks.shape}")
    true_change, generated_change = true_masks[1:] ^ true_masks[0], generated_masks[1:] ^ generated_masks[0]
    return np.array([tolerant_iou(t, g, tolerance_px) if t.sum() >= min_pixels else np.nan
                     for t, g in zip(true_change, generated_change, strict=True)])


def difference_mask(frames: np.ndarray, background: np.ndarray, threshold: float = DIFFERENCE_THRESHOLD) -> np.ndarray:
    """(T, H, W) bool: pixels of uint8 frames (T, H, W, 3) whose largest channel difference from
    ``background`` (one (H, W, 3) frame, or one per frame (T, H, W, 3)) exceeds ``threshold``."""
    frames, background = np.asarray(frames, np.int16), np.asarray(background, np.int16)
    diff = np.abs(frames - (background[None] if background.ndim == 3 else background))
    return diff.max(axis=-1) > threshold


def robot_iou(true_frames: np.ndarray, generated_frames: np.ndarray, robot_free_frames: np.ndarray) -> np.ndarray:
    """(n,) robot silhouette IoU per frame 1..n: the robot is found the same way in the true and the
    generated frames (:func:`difference_mask` against the robot-free render of each true frame),
    so true frames score 1. All three are uint8 (n+1, H, W, 3) of one clip."""
    truth = difference_mask(true_frames, robot_free_frames)
    return silhouette_iou(truth, difference_mask(generated_frames, robot_free_frames))
