"""Arm tasks (``reach``, ``lift``), the camera that maps the scene to pixels, and the pixel tests.

Pure numpy: nothing here imports the simulator (only the scene's camera geometry,
:func:`freeaction.sim.arm_scene.look_at_rotation`), so tasks and detectors work where robosuite
is not installed (e.g. to judge saved frames).

``reach`` (:data:`ARM_TASK_KINDS`): bring the gripper to within :data:`REACH_RADIUS_M` of the point
:data:`REACH_HEIGHT_M` above the red cube's centre (no contact needed). ``lift``: lift the red cube
at least :data:`LIFT_HEIGHT_M` above where it rests. The goal is not drawn in the frames; the policy
gets the task (with the camera and the gripper's start pose, see :class:`ArmTask`) beside the image.

Success from pixels, the same test on simulator and world-model frames (both start from the same
first frame and the same robot-free render of the scene, :attr:`ArmTask.background`):

- the cube is found by colour (:func:`cube_mask`: hue, saturation and brightness bands that hold
  for both worlds' lighting and that world 2's orange gripper does not pass), its position is the
  largest group's centroid;
- the gripper is the lowest point in the image of the robot's silhouette (:func:`locate_gripper`:
  the groups of at least :data:`MIN_GROUP` pixels that differ from the robot-free render by more
  than :data:`SILHOUETTE_THRESHOLD` and are not cube-coloured; with the camera above and in front
  of the table and the gripper pointing down, the fingertips are the silhouette's lowest pixels).
  Against the simulator's grip site projected with the camera, over 10 ``arm-expert`` reach
  episodes per world (every frame): median error 2.0 px in world 1 and 3.3 px in world 2 (the
  closer camera shows the fingertips further below the grip site), 90th percentile 3.0 and 5.3 px;
- ``reach`` succeeds when that point lies within the goal disc (the goal point and radius projected
  with the episode's camera); ``lift`` when the cube's centroid has risen in the image by at least
  the projected :data:`LIFT_HEIGHT_M` from its centroid in the first frame.

Success from state (:meth:`ArmTask.success_from_state`): the same thresholds in metres, on the
simulator's grip site and cube positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.colors import rgb_to_hsv
from scipy import ndimage

from freeaction.envs.perception import largest_group
from freeaction.sim.arm_scene import look_at_rotation

ARM_TASK_KINDS = ("reach", "lift")
TARGET = "red cube"
REACH_HEIGHT_M = 0.08
REACH_RADIUS_M = 0.05
LIFT_HEIGHT_M = 0.05
SILHOUETTE_THRESHOLD = 16.0
"""Largest channel difference (0..255) from the robot-free render above which a pixel is robot."""
MIN_GROUP = 4
"""Smaller groups of differing pixels are noise (render edges, a generated frame's speckles)."""
GRIPPER_ROWS = 3
"""The gripper is the centroid of the silhouette's pixels within this many rows of its lowest one."""
MIN_PIXELS = 3

CUBE_HUES: dict[str, tuple[float, float]] = {"red cube": (0.9, 0.04), "green cube": (0.25, 0.45)}
"""Hue band (matplotlib's 0..1 hue; a band from high to low wraps through 0) of each cube's colour.
The red cube renders at about hue 0.98 (pink-red), world 2's orange gripper at about 0.07."""
CUBE_MIN_SATURATION = 0.55
CUBE_MIN_VALUE = 0.25


@dataclass(frozen=True)
class CameraView:
    """A pinhole camera in the world frame: MuJoCo's convention (looks along its -z, y up)."""

    position: tuple[float, float, float]
    rotation: tuple[tuple[float, float, float], ...]  # columns: right, up, backward (world frame)
    fovy_deg: float
    size: tuple[int, int]  # (H, W) of the frames

    @classmethod
    def look_at(cls, position: np.ndarray, target: np.ndarray, fovy_deg: float, size: tuple[int, int]) -> CameraView:
        rot = look_at_rotation(position, target)
        return cls(tuple(float(v) for v in position), tuple(tuple(float(v) for v in row) for row in rot),
                   float(fovy_deg), (int(size[0]), int(size[1])))

    @property
    def focal_px(self) -> float:
        return self.size[0] / 2.0 / math.tan(math.radians(self.fovy_deg) / 2.0)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> pixel [column, row] (..., 2), centre of the top-left pixel at (0, 0)."""
        cam = (np.asarray(points, float) - np.asarray(self.position)) @ np.asarray(self.rotation)
        depth = -cam[..., 2]
        col = self.size[1] / 2.0 - 0.5 + self.focal_px * cam[..., 0] / depth
        row = self.size[0] / 2.0 - 0.5 - self.focal_px * cam[..., 1] / depth
        return np.stack([col, row], axis=-1)

    def ray(self, pixel: np.ndarray) -> np.ndarray:
        """The world direction (3,) through a pixel [column, row]."""
        col, row = np.asarray(pixel, float)
        local = np.array([(col + 0.5 - self.size[1] / 2.0) / self.focal_px,
                          -(row + 0.5 - self.size[0] / 2.0) / self.focal_px, -1.0])
        d = np.asarray(self.rotation) @ local
        return d / np.linalg.norm(d)

    def unproject_to_height(self, pixel: np.ndarray, z: float) -> np.ndarray:
        """The world point (3,) at height ``z`` seen at a pixel [column, row]."""
        origin, d = np.asarray(self.position), self.ray(pixel)
        return origin + d * ((z - origin[2]) / d[2])

    def to_dict(self) -> dict[str, Any]:
        return {"position": list(self.position), "rotation": [list(r) for r in self.rotation],
                "fovy_deg": self.fovy_deg, "size": list(self.size)}


def cube_mask(frame: np.ndarray, name: str = TARGET) -> np.ndarray:
    """(H, W) bool: the pixels of an RGB uint8 frame that have cube ``name``'s colour."""
    hsv = rgb_to_hsv(np.asarray(frame, np.float32) / 255.0)
    lo, hi = CUBE_HUES[name]
    hue = hsv[..., 0]
    in_band = (hue >= lo) | (hue <= hi) if lo > hi else (hue >= lo) & (hue <= hi)
    return in_band & (hsv[..., 1] >= CUBE_MIN_SATURATION) & (hsv[..., 2] >= CUBE_MIN_VALUE)


def locate_cube(frame: np.ndarray, name: str = TARGET) -> np.ndarray | None:
    """[column, row] centroid of the largest group of cube ``name``'s colour, or None when under
    :data:`MIN_PIXELS` pixels show it."""
    mask = largest_group(cube_mask(frame, name))
    if mask.sum() < MIN_PIXELS:
        return None
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()])


def robot_silhouette(frame: np.ndarray, background: np.ndarray,
                     threshold: float = SILHOUETTE_THRESHOLD) -> np.ndarray:
    """(H, W) bool: the pixels that differ from the robot-free ``background`` by more than
    ``threshold`` in some channel and are not cube-coloured, in groups of at least :data:`MIN_GROUP`."""
    diff = np.abs(np.asarray(frame, np.int16) - np.asarray(background, np.int16)).max(axis=-1) > threshold
    for name in CUBE_HUES:
        diff &= ~cube_mask(frame, name)
    labels, n = ndimage.label(diff)
    if n == 0:
        return diff
    sizes = ndimage.sum(diff, labels, index=range(1, n + 1))
    return np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_GROUP))


def locate_gripper(frame: np.ndarray, background: np.ndarray) -> np.ndarray | None:
    """[column, row] of the gripper's tip: the centroid of the silhouette's lowest pixels
    (:data:`GRIPPER_ROWS`), or None when the silhouette has under :data:`MIN_PIXELS` pixels."""
    mask = robot_silhouette(frame, background)
    if mask.sum() < MIN_PIXELS:
        return None
    rows, cols = np.nonzero(mask)
    low = rows >= rows.max() - (GRIPPER_ROWS - 1)
    return np.array([cols[low].mean(), rows[low].mean()])


@dataclass(frozen=True)
class ArmTask:
    """One arm task and what a policy may know besides the image.

    ``kind``: ``reach`` or ``lift``; ``target``: the cube (``red cube``). ``camera``: the episode's
    camera, a calibration (a policy may project and back-project with it). ``start_pose``: the grip
    site's pose at reset in the robot base frame ``[x, y, z, roll, pitch, yaw]`` (the datasets'
    state convention) and ``base_position`` the base in the world frame (the base is world-aligned):
    proprioception at the first frame. ``goal_m``: the reach point (world frame); ``cube_rest_m``:
    the cube's centre at reset. ``background``: the scene rendered without the robot at reset (the
    pixel detectors' reference; not serialised).
    """

    kind: str
    target: str
    camera: CameraView
    start_pose: tuple[float, ...]
    start_gripper: float
    base_position: tuple[float, float, float]
    cube_rest_m: tuple[float, float, float]
    cube_half_m: float
    table_z: float
    background: np.ndarray = field(repr=False, compare=False)

    @property
    def goal_m(self) -> np.ndarray:
        """The world point the gripper is to reach (``reach``) or the cube is to pass (``lift``)."""
        rest = np.asarray(self.cube_rest_m)
        height = REACH_HEIGHT_M if self.kind == "reach" else LIFT_HEIGHT_M
        return rest + np.array([0.0, 0.0, height])

    @property
    def goal_px(self) -> np.ndarray:
        """The goal point in pixels [column, row]."""
        return self.camera.project(self.goal_m)

    @property
    def goal_radius_px(self) -> float:
        """``reach``: :data:`REACH_RADIUS_M` projected at the goal's depth; ``lift``: the rise in
        pixels that lifting the cube by :data:`LIFT_HEIGHT_M` gives."""
        if self.kind == "reach":
            side = self.goal_m + REACH_RADIUS_M * np.asarray(self.camera.rotation)[:, 0]
            return float(np.hypot(*(self.camera.project(side) - self.goal_px)))
        rest_px = self.camera.project(np.asarray(self.cube_rest_m))
        return float(rest_px[1] - self.goal_px[1])

    def locate_target(self, frame: np.ndarray) -> np.ndarray | None:
        """The target cube's [column, row] in a frame, or None when it is not seen."""
        return locate_cube(frame, self.target)

    def locate_effector(self, frame: np.ndarray) -> np.ndarray | None:
        """The gripper's tip [column, row] in a frame (:func:`locate_gripper`), or None."""
        return locate_gripper(frame, self.background)

    def success_from_pixels(self, frame: np.ndarray) -> bool:
        if self.kind == "reach":
            tip = self.locate_effector(frame)
            return tip is not None and float(np.hypot(*(tip - self.goal_px))) <= self.goal_radius_px
        start, now = self.locate_target(self.background), self.locate_target(frame)
        return start is not None and now is not None and float(start[1] - now[1]) >= self.goal_radius_px

    def success_from_state(self, grip_m: np.ndarray, cube_m: np.ndarray) -> bool:
        """From the simulator's grip site and cube centre (world frame, metres)."""
        if self.kind == "reach":
            return float(np.linalg.norm(np.asarray(grip_m) - self.goal_m)) <= REACH_RADIUS_M
        return float(cube_m[2] - self.cube_rest_m[2]) >= LIFT_HEIGHT_M

    def describe(self) -> str:
        col, row = self.goal_px
        if self.kind == "reach":
            return f"move the gripper above the {self.target}, to pixel ({col:.1f}, {row:.1f}) within " \
                   f"{self.goal_radius_px:.1f}"
        return f"lift the {self.target} by {LIFT_HEIGHT_M * 100:.0f} cm ({self.goal_radius_px:.1f} px up)"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "camera": self.camera.to_dict(),
                "start_pose": list(self.start_pose), "start_gripper": self.start_gripper,
                "base_position": list(self.base_position), "cube_rest_m": list(self.cube_rest_m),
                "cube_half_m": self.cube_half_m, "table_z": self.table_z, "goal_px": self.goal_px.tolist(),
                "goal_radius_px": self.goal_radius_px}
