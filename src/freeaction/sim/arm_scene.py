"""The arm simulator's scene settings: its worlds (camera and paint), the per-episode camera and
the episode options. :mod:`freeaction.sim.arm` builds and runs the scene from them.

Importing this module imports no MuJoCo (``Camera.quaternion`` does, when called), so the options
can be validated where the simulator is not installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from freeaction.errors import InputError
from freeaction.sim.arm_policy import BEHAVIOURS, TABLE_Z

# Camera: looks at TARGET from DISTANCE, AZIMUTH (from +x, towards +y) and ELEVATION (degrees).
CAMERA_TARGET = np.array([-0.1, 0.0, TABLE_Z + 0.1])
CAMERA_DISTANCE = 1.3
CAMERA_AZIMUTH = -25.0
CAMERA_ELEVATION = 30.0
CAMERA_FOVY = 42.0

ROBOT_RGBA = (0.2, 0.3, 0.65, 1.0)
"""World 2's paint for the Panda's links (visual geoms under the robot's root body)."""
GRIPPER_RGBA = (0.95, 0.45, 0.1, 1.0)
"""World 2's paint for the gripper (hand and fingers; world 3: the hand)."""
FINGER_RGBA = (0.85, 0.15, 0.85, 1.0)
"""World 3's paint for the two fingers (magenta: its hue is >= 50 degrees from the links', the hand's
and both cubes'), so an open gripper shows two magenta fingers apart and a closed one a single
block: the state becomes a colour pattern, not a 1-px gap in one colour."""
CLOSED_RGBA = FINGER_RGBA
"""World 5's paint for the hand while the gripper is closed (:data:`LAMP_CLOSED_ABOVE`): the hand is
lit magenta, so the gripper's state shows on its largest part, not only in the 1-px gap between
its fingers (which no 4x-downsampling autoencoder tried keeps: docs/evaluation.md §7)."""
LAMP_CLOSED_ABOVE = 0.1
"""The gripper state (``1 - finger opening / 0.08 m``) above which world 5 lights the hand: the same cut
as the gripper reader's label (:data:`freeaction.eval.objects.gripper.CLOSED_ABOVE`)."""


def look_at_rotation(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of a camera at ``position`` looking at ``target`` with the world's z up; its
    columns are the camera's right, up and backward axes in the world frame (MuJoCo's convention:
    a camera looks along its -z, y up)."""
    forward = np.asarray(target, float) - np.asarray(position, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.column_stack([right, up, -forward])


@dataclass(frozen=True)
class Camera:
    """A look-at camera: ``target`` seen from ``distance`` at ``azimuth``/``elevation`` degrees."""

    target: tuple[float, float, float]
    distance: float
    azimuth: float
    elevation: float
    fovy: float

    def position(self) -> np.ndarray:
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        offset = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        return np.asarray(self.target) + self.distance * offset

    def quaternion(self) -> np.ndarray:
        """MuJoCo camera quaternion (w, x, y, z): the camera looks along its -z, y up."""
        import mujoco  # imported here: arm.py sets MUJOCO_GL before anything imports mujoco

        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, look_at_rotation(self.position(), np.asarray(self.target)).ravel())
        return quat

    def to_json(self) -> dict[str, Any]:
        return {"target": [round(float(v), 6) for v in self.target], "distance": round(self.distance, 6),
                "azimuth_deg": round(self.azimuth, 4), "elevation_deg": round(self.elevation, 4),
                "fovy_deg": self.fovy, "position": [round(float(v), 6) for v in self.position()]}


@dataclass(frozen=True)
class World:
    """What differs between the arm's worlds: the camera (before each episode's jitter, :func:`draw_camera`)
    and the robot's paint (None: robosuite's own)."""

    camera: Camera
    robot_rgba: tuple[float, float, float, float] | None
    gripper_rgba: tuple[float, float, float, float] | None
    finger_rgba: tuple[float, float, float, float] | None = None  # None: the fingers wear the gripper's paint
    closed_rgba: tuple[float, float, float, float] | None = None  # the hand's paint while closed; None: unlit


_WORLD_2 = World(Camera((-0.05, 0.0, TABLE_Z + 0.12), 0.95, CAMERA_AZIMUTH, 35.0, CAMERA_FOVY), ROBOT_RGBA,
                 GRIPPER_RGBA)
WORLDS: dict[int, World] = {
    1: World(Camera(tuple(float(v) for v in CAMERA_TARGET), CAMERA_DISTANCE, CAMERA_AZIMUTH, CAMERA_ELEVATION,
                    CAMERA_FOVY), None, None),
    2: _WORLD_2,
    3: replace(_WORLD_2, finger_rgba=FINGER_RGBA),
    # world 2 through a narrower lens aimed higher: the gripper 1.34x larger, still in view
    4: replace(_WORLD_2, camera=Camera((-0.02, 0.0, TABLE_Z + 0.2), 0.95, CAMERA_AZIMUTH, 30.0, 32.0)),
    # world 2 with the hand lit magenta while the gripper is closed (a status lamp)
    5: replace(_WORLD_2, closed_rgba=CLOSED_RGBA),
}

DEFAULT_OPTIONS: dict[str, Any] = {
    "frames": [40, 60],
    "behaviours": list(BEHAVIOURS),
    "camera_jitter": 1.0,
    "supersample": 2,
    "world": 1,
}


def _int_range(name: str, value: Any, lo: int, hi: int) -> list[int]:
    """An int or [min, max] option as a validated [min, max] list."""
    pair = [value, value] if isinstance(value, int | np.integer) else list(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pair):
        raise InputError(f"arm option {name!r} must be an int or [min, max] ints, got {value!r}")
    a, b = int(pair[0]), int(pair[1])
    if not lo <= a <= b <= hi:
        raise InputError(f"arm option {name!r} must lie in [{lo}, {hi}] with min <= max, got {value!r}")
    return [a, b]


def normalize_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate ``generate_episode`` options and fill in the defaults.

    Options:
        frames: episode length, an int or [min, max] drawn per episode (default [40, 60]).
        behaviours: behaviour names to draw from, a subset of :data:`BEHAVIOURS` (default all).
        camera_jitter: scale of the per-episode camera jitter, 0 for a fixed camera (default 1).
        supersample: render at this multiple of the size and box-filter down, 1..4 (default 2).
        world: 1 to 5 (:data:`WORLDS`; default 1). Recorded only when it is not 1, so world-1
            datasets made before the option existed keep their settings.
    """
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise InputError(f"unknown arm option(s) {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    out = {**DEFAULT_OPTIONS, **options}
    out["frames"] = _int_range("frames", out["frames"], 2, 10_000)
    names = [out["behaviours"]] if isinstance(out["behaviours"], str) else list(out["behaviours"])
    bad = [b for b in names if b not in BEHAVIOURS]
    if not names or bad:
        raise InputError(f"arm option 'behaviours' must list names from {list(BEHAVIOURS)}, got {out['behaviours']!r}")
    out["behaviours"] = [b for b in BEHAVIOURS if b in names]  # canonical order
    jitter = out["camera_jitter"]
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 3:
        raise InputError(f"arm option 'camera_jitter' must be a number in [0, 3], got {jitter!r}")
    out["camera_jitter"] = float(jitter)
    ss = out["supersample"]
    if isinstance(ss, bool) or not isinstance(ss, int | np.integer) or not 1 <= ss <= 4:
        raise InputError(f"arm option 'supersample' must be an int in [1, 4], got {ss!r}")
    out["supersample"] = int(ss)
    world = out.pop("world")
    if isinstance(world, bool) or world not in WORLDS:
        raise InputError(f"arm option 'world' must be one of {sorted(WORLDS)}, got {world!r}")
    if world != 1:
        out["world"] = int(world)
    return out


def draw_camera(rng: np.random.Generator, jitter: float, world: World = WORLDS[1]) -> Camera:
    """The episode's camera: the world's one moved by ``jitter`` times a few cm and degrees."""
    u = rng.uniform(-1.0, 1.0, 6) * jitter
    centre = world.camera
    target = np.asarray(centre.target) + np.array([0.04, 0.04, 0.02]) * u[:3]
    distance = centre.distance + 0.1 * (centre.distance / CAMERA_DISTANCE) * u[3]
    return Camera(tuple(float(v) for v in target), distance,
                  centre.azimuth + 10.0 * u[4], centre.elevation + 5.0 * u[5], centre.fovy)
