"""Scripted arm policies for :class:`~freeaction.envs.arm.ArmEnv` and an arm world model.

What a policy sees: the image (RGB uint8, the env's observation) and the
:class:`~freeaction.envs.arm_tasks.ArmTask` given at reset: the task, the camera's calibration and
the grip site's pose at the first frame. Where the gripper is later is **proprioception by
integration**: the policy adds up the motions it commanded (dead reckoning), which is exactly what
a world model is told too (its actions), so the policy's input is the same in both environments.
The arm's own pose is not read from the 64x64 pixels: its silhouette gives the gripper's image
position only, with no depth (:func:`~freeaction.envs.arm_tasks.locate_gripper` serves the
success test, not control). The cube is read from the pixels: its colour centroid
(:func:`~freeaction.envs.arm_tasks.locate_cube`) back-projected with the camera onto the plane
of a resting cube's centre (the last estimate is kept while the cube is not seen, e.g. under the
gripper, and once it is grasped).

The controller (:class:`ArmController`): turn the gripper to point straight down; ``reach``: go to
the point above the cube; ``lift``: go above the cube, descend, close the gripper (asking for the
closedness that holding this cube reads, as the datasets record it), wait, lift. Actions are in the
datasets' units (:mod:`freeaction.envs.arm`): displacements in the gripper's frame, so the
integrated orientation turns world motions into actions.

Presets (:data:`ARM_PRESETS`) weaken the ``arm-expert``: ``arm-fast`` (8 cm per step instead of 3,
the controller's limit: the gripper lags its integrated pose and arrives swinging), ``arm-noisy``
(1.5 cm action noise per step), ``arm-high`` (closes the gripper 2 cm higher, near the cube's top
edge), ``arm-random`` (uniform random actions). ``blind=True`` (a keyword in a config's
``kwargs``) reads the cube in the first frame only, so the policy does not react to what a world
model draws later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from freeaction.data.poses import euler_to_matrix, matrix_to_euler
from freeaction.envs.arm_tasks import REACH_HEIGHT_M, ArmTask, locate_cube
from freeaction.sim.arm_policy import gripper_yaw, target_rotation

FINGER_SPAN_M = 0.08
"""The Panda's finger opening when open: closedness = 1 - opening / this."""


@dataclass(frozen=True)
class ArmControllerParams:
    """What makes one scripted arm policy differ from another."""

    speed: float = 0.03  # metres per control step (translation)
    turn: float = 0.02  # radians per control step (rotation): the datasets' typical rate (std 0.018)
    hover: float = 0.1  # height above the cube's centre to descend from (lift)
    grasp_depth: float = 0.004  # grip site above the cube's centre when closing
    close_steps: int = 4
    lift_height: float = 0.15
    tolerance: float = 0.012  # distance (m) at which a waypoint counts as reached
    noise: float = 0.0  # std of Gaussian translation noise per step (m)
    blind: bool = False  # read the cube in the first frame only
    random: bool = False  # uniform random actions


ARM_PRESETS: dict[str, ArmControllerParams] = {
    "arm-expert": ArmControllerParams(),
    "arm-fast": ArmControllerParams(speed=0.08, turn=0.05, close_steps=2),
    "arm-noisy": ArmControllerParams(noise=0.015),
    "arm-high": ArmControllerParams(grasp_depth=0.024),
    "arm-random": ArmControllerParams(random=True),
}


RANDOM_LOW = np.array([-0.04] * 3 + [-0.2] * 3 + [0.0])
RANDOM_HIGH = np.array([0.04] * 3 + [0.2] * 3 + [1.0])
"""The range of ``arm-random``'s uniform actions (4 cm, 0.2 rad per step; any closedness)."""


class ArmController:
    """A scripted reach / lift controller acting from the image and its own integrated commands
    (see the module doc). ``reset(task, seed)`` once per episode, then ``act(frame) -> (chunk, 7)``."""

    def __init__(self, params: ArmControllerParams, chunk: int = 7) -> None:
        self.params, self.chunk = params, int(chunk)
        self.task: ArmTask | None = None
        self.rng = np.random.default_rng(0)

    def reset(self, task: ArmTask, seed: int = 0) -> None:
        self.task = task
        self.rng = np.random.default_rng(seed)
        self.pos = np.asarray(task.base_position) + np.asarray(task.start_pose[:3])  # the base is world-aligned
        self.rot = euler_to_matrix(np.asarray(task.start_pose[3:6]))
        self.yaw = gripper_yaw(self.rot)
        self.cube: np.ndarray | None = None
        self.phase, self.waited = "above", 0
        self.looked = False

    def _read_cube(self, frame: np.ndarray) -> None:
        """Update the cube estimate (world frame) from a frame while the gripper has not closed."""
        assert self.task is not None
        if self.phase in ("close", "lift") or (self.params.blind and self.looked):
            return
        self.looked = True
        found = locate_cube(frame, self.task.target)
        if found is None and self.cube is None:
            found = locate_cube(self.task.background, self.task.target)  # hidden in the first frame
        if found is not None:
            z = self.task.table_z + self.task.cube_half_m
            self.cube = self.task.camera.unproject_to_height(found, z)

    def _target(self) -> tuple[np.ndarray, float]:
        """The grip site's next waypoint and the gripper closedness to ask for; advances the phase."""
        assert self.task is not None and self.cube is not None
        p, cube = self.params, self.cube
        held = 1.0 - 2 * self.task.cube_half_m / FINGER_SPAN_M
        if self.task.kind == "reach":
            return cube + np.array([0.0, 0.0, REACH_HEIGHT_M]), 0.0
        above = cube + np.array([0.0, 0.0, p.hover])
        grasp = cube + np.array([0.0, 0.0, p.grasp_depth])
        near = lambda point: float(np.linalg.norm(point - self.pos)) <= p.tolerance  # noqa: E731
        if self.phase == "above" and near(above):
            self.phase = "descend"
        if self.phase == "descend" and near(grasp):
            self.phase, self.waited = "close", 0
        if self.phase == "close":
            self.waited += 1
            if self.waited > p.close_steps:
                self.phase = "lift"
        targets = {"above": (above, 0.0), "descend": (grasp, 0.0), "close": (grasp, held),
                   "lift": (grasp + np.array([0.0, 0.0, p.lift_height]), held)}
        return targets[self.phase]

    def _step(self) -> np.ndarray:
        """One action (7,) in the datasets' units; updates the integrated pose."""
        p = self.params
        target, grip = self._target()
        move = target - self.pos
        dist = float(np.linalg.norm(move))
        if dist > p.speed:
            move *= p.speed / dist
        if p.noise:
            move = move + self.rng.normal(0.0, p.noise, 3)
        turn = Rotation.from_matrix(target_rotation(self.yaw) @ self.rot.T).as_rotvec()
        angle = float(np.linalg.norm(turn))
        if angle > p.turn:
            turn *= p.turn / angle
        new_rot = Rotation.from_rotvec(turn).as_matrix() @ self.rot
        action = np.concatenate([self.rot.T @ move, matrix_to_euler(self.rot.T @ new_rot), [grip]])
        self.pos, self.rot = self.pos + move, new_rot
        return action

    def act(self, observation: np.ndarray) -> np.ndarray:
        if self.task is None:
            raise RuntimeError("call reset(task) before act()")
        if self.params.random:
            return self.rng.uniform(RANDOM_LOW, RANDOM_HIGH, (self.chunk, 7)).astype(np.float32)
        self._read_cube(np.asarray(observation))
        if self.cube is None:  # nothing seen: stay still
            return np.zeros((self.chunk, 7), np.float32)
        return np.stack([self._step() for _ in range(self.chunk)]).astype(np.float32)


def make_arm_policy(name: str, chunk: int = 7, **kwargs: Any) -> ArmController:
    """The built-in arm policy ``name`` (:data:`ARM_PRESETS`), its parameters overridden by ``kwargs``."""
    return ArmController(replace(ARM_PRESETS[name], **kwargs), chunk)


ARM_BUILTIN: dict[str, Callable[..., ArmController]] = {name: partial(make_arm_policy, name) for name in ARM_PRESETS}
"""The built-in arm policies as ``factory(chunk, **kwargs)``, by name."""
