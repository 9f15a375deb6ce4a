"""The painted arm of world 2 found by its colours: a robot silhouette for every frame, true or generated.

In the arm simulator's ``world: 2`` the Panda's links are painted blue and its gripper orange,
and the annotation records both paints (``sim.robot_rgba``, ``sim.gripper_rgba``). MuJoCo's
lighting scales a surface's colour and adds a little white, which keeps its hue; so a pixel is
robot when its hue is near a paint's (:func:`freeaction.data.paint.paint_mask`: the white table
and grey wall have almost no saturation; the red and green cubes' hues are >= 20 degrees from both
paints).

:meth:`RobotPaint.iou` finds the robot the same way in the true and the generated frames, so
true frames score 1 (:meth:`RobotPaint.moving_iou`: the same on what moved since frame 0 only);
its agreement with MuJoCo's segmentation on true frames is in docs/evaluation.md. Worlds with
robosuite's own white-and-grey Panda record no paint and get no :class:`RobotPaint`
(:func:`freeaction.eval.objects.robot_iou` with a robot-free render measures them instead).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from freeaction.data.paint import paint_hues, paint_mask
from freeaction.eval.objects.silhouette import moving_silhouette_iou, silhouette_iou


class RobotPaint:
    """The paints of one arm episode (links and gripper), read from its annotation."""

    def __init__(self, rgbas: list[list[float]]) -> None:
        if not rgbas:
            raise ValueError("no robot paint given")
        self.hues = paint_hues(rgbas)

    @classmethod
    def from_annotation(cls, annotation: dict[str, Any]) -> RobotPaint | None:
        """The paints recorded under ``sim`` (the painted worlds, 2 and up), else None."""
        sim = annotation.get("sim", {})
        keys = ("robot_rgba", "gripper_rgba", "finger_rgba", "gripper_closed_rgba")
        rgbas = [sim[k] for k in keys if sim.get(k)]
        return cls(rgbas) if rgbas else None

    @classmethod
    def from_clip_meta(cls, meta: dict[str, Any]) -> RobotPaint | None:
        """The paints of a clip's episode when its annotation records them, else None."""
        path = meta.get("annotation")
        if not path or not Path(path).is_file():
            return None
        return cls.from_annotation(json.loads(Path(path).read_text(encoding="utf-8")))

    def mask(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W) bool: the robot's pixels in uint8 frames (T, H, W, 3)."""
        return paint_mask(frames, self.hues)

    def iou(self, true_frames: np.ndarray, generated_frames: np.ndarray) -> np.ndarray:
        """(n,) robot silhouette IoU per frame 1..n of two uint8 (n+1, H, W, 3) clips."""
        return silhouette_iou(self.mask(true_frames), self.mask(generated_frames))

    def moving_iou(self, true_frames: np.ndarray, generated_frames: np.ndarray) -> np.ndarray:
        """(n,) IoU of the robot's change since frame 0 per frame 1..n of two uint8 (n+1, H, W, 3)
        clips, NaN where the true arm changes too few pixels (:func:`moving_silhouette_iou`)."""
        return moving_silhouette_iou(self.mask(true_frames), self.mask(generated_frames))
