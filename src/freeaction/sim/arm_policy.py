"""Scripted behaviours for the ``arm`` simulator: reach, pick (and place or stack), push, wander, pause.

Pure numpy, no simulator import: the policy sees an :class:`ArmObservation` and returns an
``OSC_POSE`` delta command ``[dx, dy, dz, ax, ay, az, grip]`` in robosuite's normalised units
(translation / :data:`OSC_MAX_POS`, axis-angle / :data:`OSC_MAX_ROT`, grip -1 open .. +1 close),
in the world frame (the Panda's base frame is world-aligned).

An episode is a sequence of behaviours drawn from the episode's random generator. Each behaviour
is planned when it starts, from the objects' poses at that moment, as a list of
:class:`Waypoint`s; a waypoint is left when the gripper is within its tolerance (and has held
for ``hold`` steps) or after ``max_steps``. Speeds are drawn per behaviour, so the dataset holds
slow and fast, small and large motions.

Orientations are "gripper pointing down, turned by ``yaw`` about the vertical", optionally
tilted (``tilt`` = small rotations about world x and y, used by ``wander``):
``R = Rz(yaw) @ Rx(tilt_x) @ Ry(tilt_y) @ R_DOWN``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

OSC_MAX_POS = 0.08
"""Metres per control step that a normalised command of 1 asks for (robosuite's default is 0.05)."""
OSC_MAX_ROT = 0.5
"""Radians per control step that a normalised command of 1 asks for (robosuite OSC_POSE default)."""

R_DOWN = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
"""Orientation (world frame) of the Panda grip site pointing straight down with yaw 0."""

TABLE_Z = 0.8
"""World height of the table top (robosuite's table_offset)."""

WORKSPACE_LO = np.array([-0.28, -0.32, TABLE_Z + 0.012])
WORKSPACE_HI = np.array([0.25, 0.32, TABLE_Z + 0.32])
"""Box (world frame) that every waypoint is clipped to."""

BEHAVIOURS: tuple[str, ...] = ("pick", "push", "reach", "wander", "pause")
"""Scripted behaviour names, the values the ``behaviours`` option may list."""

BEHAVIOUR_WEIGHTS: dict[str, float] = {"pick": 0.32, "push": 0.2, "reach": 0.16, "wander": 0.22, "pause": 0.1}
"""Default draw weights of the behaviours."""


def rot_z(angle: float) -> np.ndarray:
    """Rotation by ``angle`` about the z axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_x(angle: float) -> np.ndarray:
    """Rotation by ``angle`` about the x axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> np.ndarray:
    """Rotation by ``angle`` about the y axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def target_rotation(yaw: float, tilt: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The gripper orientation ``Rz(yaw) @ Rx(tilt[0]) @ Ry(tilt[1]) @ R_DOWN`` (world frame)."""
    return rot_z(yaw) @ rot_x(tilt[0]) @ rot_y(tilt[1]) @ R_DOWN


def gripper_yaw(R: np.ndarray) -> float:
    """Yaw of a (roughly downward) gripper orientation, the inverse of :func:`target_rotation` for yaw."""
    x_axis = R[:, 0]
    return wrap_angle(math.atan2(x_axis[1], x_axis[0]) - math.pi / 2)


def wrap_angle(a: float) -> float:
    """``a`` wrapped to [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


def rotvec(R: np.ndarray) -> np.ndarray:
    """Axis-angle vector of a rotation matrix (angle in [0, pi])."""
    return Rotation.from_matrix(R).as_rotvec()


@dataclass
class ArmObservation:
    """What the scripted policy sees (world frame).

    Attributes:
        pos: grip site position (3,).
        rot: grip site orientation (3, 3).
        gripper: measured closedness, 0 open .. 1 closed.
        objects: object centres (N, 3).
        object_yaws: object yaws about the vertical (N,).
        object_half: object half sizes (N,) (cubes).
    """

    pos: np.ndarray
    rot: np.ndarray
    gripper: float
    objects: np.ndarray
    object_yaws: np.ndarray
    object_half: np.ndarray


@dataclass
class Waypoint:
    """One target of the gripper.

    Attributes:
        pos: grip site target (world, metres).
        yaw: gripper yaw target (radians), see :func:`target_rotation`.
        grip: gripper command (-1 open .. +1 close), or None to keep the previous one.
        speed: translation limit per control step (metres).
        hold: control steps to stay once reached (also the minimum for a gripper change).
        max_steps: give up on this waypoint after this many steps.
        tol: position tolerance (metres).
        tilt: (about x, about y) tilt of the gripper (radians).
    """

    pos: np.ndarray
    yaw: float
    grip: float | None = None
    speed: float = 0.02
    hold: int = 0
    max_steps: int = 30
    tol: float = 0.01
    tilt: tuple[float, float] = (0.0, 0.0)


@dataclass
class Segment:
    """A planned behaviour: its name, a description and its waypoints."""

    name: str
    text: str
    waypoints: list[Waypoint] = field(default_factory=list)


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(p, WORKSPACE_LO, WORKSPACE_HI)


def _grasp_yaw(object_yaw: float, current: float) -> float:
    """The gripper yaw that aligns the fingers with a cube face (cubes repeat every 90 degrees),
    nearest to ``current`` among those within +-100 degrees (the wrist's comfortable range)."""
    options = [wrap_angle(object_yaw + k * math.pi / 2) for k in range(4)]
    options = [a for a in options if abs(a) <= math.radians(100)] or options
    return min(options, key=lambda a: abs(wrap_angle(a - current)))


class ScriptedPolicy:
    """Draws behaviours from ``rng`` and turns them into OSC_POSE delta commands.

    Args:
        rng: the episode's random generator (the policy's only source of randomness).
        behaviours: names to draw from (subset of :data:`BEHAVIOURS`).
        object_names: display names of the objects (for the behaviour descriptions).
    """

    def __init__(self, rng: np.random.Generator, behaviours: tuple[str, ...] = BEHAVIOURS,
                 object_names: tuple[str, ...] = ("red cube", "green cube")):
        self.rng = rng
        self.behaviours = tuple(behaviours)
        weights = np.array([BEHAVIOUR_WEIGHTS[b] for b in self.behaviours])
        self.weights = weights / weights.sum()
        self.object_names = object_names
        self.segment: Segment | None = None
        self.index = 0  # waypoint index within the segment
        self.steps = 0  # steps spent on the current waypoint
        self.held = 0  # steps spent within tolerance
        self.grip = -1.0
        self.log: list[dict] = []  # behaviours started: name, text, first step

    # --- planning -------------------------------------------------------------------------
    def _plan(self, obs: ArmObservation, step: int) -> Segment:
        name = str(self.rng.choice(self.behaviours, p=self.weights))
        segment = getattr(self, f"_plan_{name}")(obs)
        self.log.append({"name": segment.name, "text": segment.text, "step": int(step)})
        return segment

    def _speed(self, lo: float = 0.015, hi: float = 0.07) -> float:
        return float(self.rng.uniform(lo, hi))

    def _plan_pause(self, obs: ArmObservation) -> Segment:
        n = int(self.rng.integers(3, 9))
        return Segment("pause", "stay still", [
            Waypoint(obs.pos.copy(), gripper_yaw(obs.rot), None, 0.01, hold=n, max_steps=n, tol=1.0)])

    def _plan_wander(self, obs: ArmObservation) -> Segment:
        wps = []
        speed = self._speed(0.01, 0.08)
        for _ in range(int(self.rng.integers(1, 4))):
            pos = self.rng.uniform([-0.22, -0.26, TABLE_Z + 0.06], [0.18, 0.26, TABLE_Z + 0.28])
            yaw = float(self.rng.uniform(-1.2, 1.2))
            tilt = (float(self.rng.uniform(-0.3, 0.3)), float(self.rng.uniform(-0.3, 0.3)))
            grip = None if self.rng.random() < 0.7 else float(self.rng.choice([-1.0, 1.0]))
            wps.append(Waypoint(_clip(pos), yaw, grip, speed, hold=int(self.rng.integers(0, 3)),
                                max_steps=25, tol=0.015, tilt=tilt))
        return Segment("wander", "move the gripper around", wps)

    def _pick_object(self, obs: ArmObservation) -> int:
        return int(self.rng.integers(len(obs.objects)))

    def _plan_reach(self, obs: ArmObservation) -> Segment:
        i = self._pick_object(obs)
        obj = obs.objects[i]
        yaw = _grasp_yaw(float(obs.object_yaws[i]), gripper_yaw(obs.rot))
        height = float(self.rng.uniform(0.04, 0.14))
        above = _clip(obj + np.array([*self.rng.normal(0, 0.01, 2), height]))
        wps = [Waypoint(above, yaw, None, self._speed(), hold=int(self.rng.integers(1, 5)), max_steps=30)]
        if self.rng.random() < 0.5:  # open/close the gripper while hovering
            g = -1.0 if self.grip > 0 else 1.0
            wps.append(Waypoint(above, yaw, g, 0.01, hold=4, max_steps=6, tol=0.02))
        return Segment("reach", f"reach above the {self.object_names[i]}", wps)

    def _plan_pick(self, obs: ArmObservation) -> Segment:
        i = self._pick_object(obs)
        obj, half = obs.objects[i], float(obs.object_half[i])
        yaw = _grasp_yaw(float(obs.object_yaws[i]), gripper_yaw(obs.rot))
        speed = self._speed(0.02, 0.07)
        above = _clip(obj + np.array([0.0, 0.0, float(self.rng.uniform(0.07, 0.13))]))
        grasp = _clip(obj + np.array([0.0, 0.0, 0.004]))
        lift = _clip(obj + np.array([0.0, 0.0, float(self.rng.uniform(0.1, 0.2))]))
        wps = [
            Waypoint(above, yaw, -1.0, speed, hold=1, max_steps=30, tol=0.012),
            Waypoint(grasp, yaw, -1.0, min(speed, 0.025), hold=1, max_steps=15, tol=0.006),
            Waypoint(grasp, yaw, 1.0, 0.01, hold=4, max_steps=6, tol=0.02),
            Waypoint(lift, yaw, 1.0, min(speed, 0.03), hold=1, max_steps=15, tol=0.015),
        ]
        text = f"pick up the {self.object_names[i]}"
        mode = self.rng.choice(["hold", "place", "stack"], p=[0.3, 0.45, 0.25])
        others = [j for j in range(len(obs.objects)) if j != i]
        if mode == "stack" and others:
            j = int(self.rng.choice(others))
            other = obs.objects[j]
            top = float(other[2] + obs.object_half[j] + half + 0.006)
            dest = np.array([other[0], other[1], top])
            text = f"stack the {self.object_names[i]} on the {self.object_names[j]}"
        else:
            dest = np.array([*self.rng.uniform([-0.15, -0.2], [0.12, 0.2]), TABLE_Z + half + 0.006])
            if mode == "place":
                text = f"move the {self.object_names[i]} to another spot"
        if mode != "hold":
            carry = _clip(np.array([dest[0], dest[1], lift[2]]))
            new_yaw = yaw + float(self.rng.uniform(-0.5, 0.5))
            wps += [
                Waypoint(carry, new_yaw, 1.0, speed, hold=0, max_steps=25, tol=0.015),
                Waypoint(_clip(dest), new_yaw, 1.0, min(speed, 0.025), hold=1, max_steps=15, tol=0.008),
                Waypoint(_clip(dest), new_yaw, -1.0, 0.01, hold=3, max_steps=5, tol=0.03),
                Waypoint(_clip(dest + np.array([0, 0, 0.1])), new_yaw, -1.0, speed, hold=0, max_steps=12,
                         tol=0.02),
            ]
        return Segment("pick", text, wps)

    def _plan_push(self, obs: ArmObservation) -> Segment:
        i = self._pick_object(obs)
        obj, half = obs.objects[i], float(obs.object_half[i])
        # Push towards the table centre-ish, so objects stay in view.
        goal = self.rng.uniform([-0.12, -0.15], [0.1, 0.15])
        direction = goal - obj[:2]
        if np.linalg.norm(direction) < 0.04:
            angle = float(self.rng.uniform(-math.pi, math.pi))
            direction = np.array([math.cos(angle), math.sin(angle)])
        direction = direction / np.linalg.norm(direction)
        distance = float(self.rng.uniform(0.06, 0.15))
        yaw = wrap_angle(math.atan2(direction[1], direction[0]) + float(self.rng.uniform(-0.3, 0.3)))
        yaw = _grasp_yaw(yaw, gripper_yaw(obs.rot))
        z = TABLE_Z + float(self.rng.uniform(0.012, 0.02))
        start = np.array([*(obj[:2] - direction * (half + 0.035)), z])
        end = np.array([*(obj[:2] + direction * distance), z])
        speed = self._speed(0.015, 0.05)
        wps = [
            Waypoint(_clip(start + np.array([0, 0, 0.08])), yaw, 1.0, self._speed(), hold=0, max_steps=30,
                     tol=0.015),
            Waypoint(_clip(start), yaw, 1.0, 0.025, hold=1, max_steps=12, tol=0.008),
            Waypoint(_clip(end), yaw, 1.0, speed, hold=0, max_steps=25, tol=0.01),
            Waypoint(_clip(end + np.array([0, 0, 0.1])), yaw, None, 0.03, hold=0, max_steps=10, tol=0.02),
        ]
        return Segment("push", f"push the {self.object_names[i]}", wps)

    # --- acting ---------------------------------------------------------------------------
    def act(self, obs: ArmObservation, step: int) -> np.ndarray:
        """The normalised OSC_POSE delta command (7,) for this control step."""
        for _ in range(8):  # skip waypoints finished already (and plan new segments)
            if self.segment is None or self.index >= len(self.segment.waypoints):
                self.segment, self.index, self.steps, self.held = self._plan(obs, step), 0, 0, 0
            wp = self.segment.waypoints[self.index]
            close = float(np.linalg.norm(wp.pos - obs.pos)) <= wp.tol
            if self.steps >= wp.max_steps or (close and self.held >= wp.hold):
                self.index, self.steps, self.held = self.index + 1, 0, 0
                continue
            break
        self.steps += 1
        if close:
            self.held += 1
        if wp.grip is not None:
            self.grip = wp.grip
        delta = wp.pos - obs.pos
        dist = float(np.linalg.norm(delta))
        if dist > wp.speed:
            delta = delta * (wp.speed / dist)
        rot_err = rotvec(target_rotation(wp.yaw, wp.tilt) @ obs.rot.T)
        angle = float(np.linalg.norm(rot_err))
        max_angle = 0.25
        if angle > max_angle:
            rot_err = rot_err * (max_angle / angle)
        command = np.concatenate([delta / OSC_MAX_POS, rot_err / OSC_MAX_ROT, [self.grip]])
        return np.clip(command, -1.0, 1.0)
