"""Object-level metrics: do the objects of a generated video stay whole, keep their colour and
move where the true video moves them?

- :mod:`~freeaction.eval.objects.blocks`: pusher blocks found by colour near their true place
  (position error, area share, kept), per frame; :func:`nothing_moves` makes the
  "nothing moves" reference to measure the same way.
- :mod:`~freeaction.eval.objects.summary`: the figures over blocks of one clip or many (means
  with counts), and one clip's figures as ``freeaction evaluate`` metrics (:func:`clip_figures`).
- :mod:`~freeaction.eval.objects.silhouette`: the arm's silhouette IoU against a robot-free render,
  and the IoU of its change since frame 0 (:func:`moving_silhouette_iou`).
- :mod:`~freeaction.eval.objects.paint`: the painted arm of world 2 found by its colours
  (:class:`RobotPaint`), in true and generated frames alike.
- :mod:`~freeaction.eval.objects.gripper`: the gripper's open/closed state read by a small learned
  classifier (:class:`GripperReader`) and its agreement with the true state.

Pusher (one clip; join several clips' block lists to summarise them together)::

    track = BlockTrack.from_clip_meta(clip.meta, frames.shape[1:3])
    figures = summarize_blocks(track.measure(clip.frames, generated, clip.start))
    floor = summarize_blocks(track.measure(clip.frames, nothing_moves(clip.frames), clip.start))

Arm (the true episode re-simulated with ``robot_masks=True`` gives the robot-free frames)::

    _, ann = freeaction.sim.arm.generate_episode(index, seed, size, robot_masks=True, **options)
    free = ann["robot_free_frames"][clip.start : clip.start + n]
    figures = summarize_silhouettes([robot_iou(clip.frames, generated, free)])

Arm, world 2 (the annotation records the paints and the gripper state)::

    paint = RobotPaint.from_clip_meta(clip.meta)
    iou = paint.iou(clip.frames, generated)                   # (n,) per frame 1..n
    moving = paint.moving_iou(clip.frames, generated)         # (n,), NaN where the arm barely moves
    reader = reader_for_dataset(dataset_root, (64, 64))      # cached, trained when missing
    agreement = gripper_agreement(reader, generated, clip_closed_states(clip.meta, clip.start, n + 1))

Numpy/scipy, and torch for the gripper reader; definitions in docs/evaluation.md ("Object-level metrics").
"""

from __future__ import annotations

from freeaction.eval.objects.blocks import (
    COLOR_TOLERANCE,
    KEPT_AREA_SHARE,
    MOVED_PX,
    SEARCH_MARGIN_PX,
    BlockFrames,
    BlockTrack,
    nothing_moves,
)
from freeaction.eval.objects.gripper import (
    GripperReader,
    arm_sim_dataset,
    clip_closed_states,
    gripper_agreement,
    load_reader,
    reader_cached,
    reader_for_dataset,
    train_reader,
)
from freeaction.eval.objects.paint import RobotPaint
from freeaction.eval.objects.silhouette import (
    MOVING_MIN_PIXELS,
    MOVING_TOLERANCE_PX,
    difference_mask,
    mask_iou,
    moving_silhouette_iou,
    robot_iou,
    silhouette_iou,
    tolerant_iou,
)
from freeaction.eval.objects.summary import clip_figures, summarize_blocks, summarize_silhouettes

__all__ = [
    "COLOR_TOLERANCE", "KEPT_AREA_SHARE", "MOVED_PX", "MOVING_MIN_PIXELS", "MOVING_TOLERANCE_PX",
    "SEARCH_MARGIN_PX", "BlockFrames", "BlockTrack", "GripperReader", "RobotPaint", "arm_sim_dataset",
    "clip_closed_states", "clip_figures", "difference_mask", "gripper_agreement", "load_reader", "mask_iou",
    "moving_silhouette_iou", "nothing_moves", "reader_cached", "reader_for_dataset", "robot_iou", "silhouette_iou",
    "summarize_blocks", "summarize_silhouettes", "tolerant_iou", "train_reader",
]
