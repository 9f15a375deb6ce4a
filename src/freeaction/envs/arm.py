"""``ArmEnv``: the robosuite arm simulator (:mod:`freeaction.sim.arm`) as a gymnasium environment.

Needs the ``arm`` extra (``pip install 'freeaction[arm]'``); this module imports without it and
building an ``ArmEnv`` says what to install.

One ``step`` commits one **action chunk**, as :class:`~freeaction.envs.pusher.PusherEnv` does:
``chunk`` actions (7 numbers per control step, the arm datasets' units, :func:`arm_action_space`), executed open
loop at 10 Hz; the observation is the chunk's last frame, ``info["frames"]`` all of them. An
episode lasts ``horizon`` chunks and is then truncated (never earlier).

An action is ``[dx, dy, dz, droll, dpitch, dyaw, gripper]``: the grip site's displacement in its
own frame at the step's start (metres) and its rotation (roll/pitch/yaw radians, ``R = Rz Ry Rx``),
then the gripper's closedness (0 open .. 1 closed), exactly what
:func:`freeaction.data.poses.actions_from_states` derives from a recorded episode. The env turns
it into motion through a **pose target**: each action moves the target by its displacement and
rotation (in the target's frame, as :func:`freeaction.data.poses.states_from_actions` integrates
actions), and every control step asks robosuite's OSC controller to go from where the grip site is
to the target (as the datasets' scripted behaviours command their waypoints). The grip site follows
the integrated actions with a lag (at 3 cm per step about 4-5 cm behind while moving, within 3 mm
two steps after stopping) and errors do not accumulate, so a policy that integrates its own
actions knows where the gripper is heading. The gripper closes when the closedness asked for is at least
:data:`GRIP_CLOSE_AT` (the datasets' episodes were made with open/close commands: a held cube
reads about 0.33), opening it otherwise.

Seeds fix the scene: ``reset(seed=s)`` draws the start joints, cube poses and camera from ``s``
(as a dataset episode draws them, the same camera jitter), renders the robot-free scene for the
pixel tests and returns the first frame. Success is judged on the last frame from pixels
(``info["success"]``, :class:`~freeaction.envs.arm_tasks.ArmTask`); ``info["success_state"]`` is
the simulator's answer.

All ``ArmEnv`` s of a process share its one simulator (building one costs seconds); an env that
steps after another one used it puts its own episode back first (physics state, camera, paint and
the controllers' goals), so interleaved envs give the same episodes as one alone.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from scipy.spatial.transform import Rotation

from freeaction.data.poses import euler_to_matrix
from freeaction.envs.arm_tasks import ARM_TASK_KINDS, TARGET, ArmTask, CameraView
from freeaction.envs.pusher import observation_space
from freeaction.sim import load_kind
from freeaction.sim.arm_policy import OSC_MAX_POS, OSC_MAX_ROT, TABLE_Z
from freeaction.sim.arm_scene import WORLDS, draw_camera

ARM_CHUNK = 7
ARM_HORIZON = 4
CAMERA_JITTER = 1.0  # the datasets' default: the world model has seen this spread of cameras
SUPERSAMPLE = 2
GRIP_CLOSE_AT = 0.1
MAX_TRANSLATION_M = 0.08  # per step and axis: the controller's limit (OSC_MAX_POS)
MAX_ROTATION_RAD = 0.5  # per step and axis (OSC_MAX_ROT)
ACTION_LOW = np.array([-MAX_TRANSLATION_M] * 3 + [-MAX_ROTATION_RAD] * 3 + [0.0], np.float32)
ACTION_HIGH = np.array([MAX_TRANSLATION_M] * 3 + [MAX_ROTATION_RAD] * 3 + [1.0], np.float32)


def arm_action_space(chunk: int) -> gym.spaces.Box:
    """A chunk of ``chunk`` 7-D actions: translation (m) and rotation (rad) within the controller's
    per-step limits, gripper closedness in [0, 1]."""
    return gym.spaces.Box(np.tile(ACTION_LOW, (chunk, 1)), np.tile(ACTION_HIGH, (chunk, 1)), dtype=np.float32)


def advance_target(pos: np.ndarray, rot: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pose target (position, orientation in the base frame) moved by one dataset-unit action: the
    displacement and rotation are in the target's own frame, as
    :func:`freeaction.data.poses.states_from_actions` integrates them."""
    return pos + rot @ action[:3], rot @ euler_to_matrix(action[3:6])


def osc_command(target_pos: np.ndarray, target_rot: np.ndarray, pos: np.ndarray, rot: np.ndarray,
                closedness: float) -> np.ndarray:
    """The normalised OSC_POSE command (7,) that moves the grip site (``pos``, ``rot``, base frame)
    towards the target pose, and the gripper command for the closedness asked for."""
    turn = Rotation.from_matrix(target_rot @ rot.T).as_rotvec()
    grip = 1.0 if closedness >= GRIP_CLOSE_AT else -1.0
    return np.clip(np.concatenate([(target_pos - pos) / OSC_MAX_POS, turn / OSC_MAX_ROT, [grip]]), -1.0, 1.0)


class ArmEnv(gym.Env):
    """The arm simulator: image observations, chunked 7-D actions, a ``reach`` or ``lift`` task.

    ``world``: 1 to 5 (:data:`freeaction.sim.arm_scene.WORLDS`; world 2 paints the robot blue and
    the gripper orange, world 3 also the fingers magenta, world 4 is world 2 through a narrower lens,
    world 5 lights the hand magenta while the gripper is closed).
    ``size``: (H, W) of the observations. ``chunk``: actions per step. ``horizon``: steps per episode.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    _sim_user: ArmEnv | None = None  # the env whose episode the process's one simulator holds now

    def __init__(self, world: int = 1, size: tuple[int, int] = (64, 64), chunk: int = ARM_CHUNK,
                 horizon: int = ARM_HORIZON, task: str = "lift", render_mode: str | None = "rgb_array") -> None:
        if task not in ARM_TASK_KINDS:
            raise ValueError(f"task must be one of {ARM_TASK_KINDS}, got {task!r}")
        if world not in WORLDS:
            raise ValueError(f"world must be one of {sorted(WORLDS)}, got {world!r}")
        self.arm = load_kind("arm")  # MissingDependencyError naming the extra when robosuite is absent
        self.world, self.size = int(world), (int(size[0]), int(size[1]))
        self.chunk, self.horizon = int(chunk), int(horizon)
        self.render_mode, self.task_kind = render_mode, task
        self.observation_space = observation_space(self.size)
        self.action_space = arm_action_space(self.chunk)
        self.sim = self.arm.get_sim()
        self.task: ArmTask | None = None
        self.frame: np.ndarray | None = None
        self.steps = 0
        self._saved: tuple[Any, ...] | None = None

    # -- the shared simulator ---------------------------------------------------------------------
    def _controller_parts(self) -> dict[str, Any]:
        """The robot's controllers by name (arm OSC, gripper controller, gripper model); robosuite
        makes new ones at every reset, so they are looked up each time."""
        robot = self.sim.robot
        return {**robot.composite_controller.part_controllers, "gripper_model": robot.gripper["right"]}

    def _controller_state(self) -> dict[str, dict[str, np.ndarray]]:
        """Copies of the controllers' array-valued attributes: the goal pose, the nullspace posture
        (the episode's start joints), the gripper's command."""
        return {name: {k: np.array(v, copy=True) for k, v in vars(part).items() if isinstance(v, np.ndarray)}
                for name, part in self._controller_parts().items()}

    def _save(self) -> None:
        self._saved = (self.sim.physics_state(), self._controller_state())  # the pose target lives on self
        ArmEnv._sim_user = self

    def _own(self) -> None:
        """Put this env's episode back into the shared simulator if another env used it since."""
        if ArmEnv._sim_user is self or self._saved is None:
            return
        physics, controllers = self._saved
        self.sim.restore(physics, self._camera, WORLDS[self.world])
        for name, part in self._controller_parts().items():
            for attribute, value in controllers[name].items():
                setattr(part, attribute, value.copy())
        ArmEnv._sim_user = self

    # -- scene ------------------------------------------------------------------------------------
    def _grip_and_cube(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grip site position and orientation, and the target cube's centre (world frame)."""
        obs = self.sim.observe()
        return obs.pos, obs.rot, obs.objects[self.arm.OBJECT_NAMES.index(TARGET)]

    def _grip_in_base(self) -> tuple[np.ndarray, np.ndarray]:
        """Grip site position and orientation in the robot base frame."""
        base_pos, base_rot = self.sim.base_pose()
        pos, rot, _ = self._grip_and_cube()
        return base_rot.T @ (pos - base_pos), base_rot.T @ rot

    def _render(self) -> np.ndarray:
        return self.sim.render(self.size, SUPERSAMPLE)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """A new scene (start joints, cube poses, camera), fixed by ``seed`` (a random one when None)."""
        super().reset(seed=seed)
        rng = self.np_random
        world = WORLDS[self.world]
        self._camera = draw_camera(rng, CAMERA_JITTER, world)
        self.sim.reset(rng, self._camera, world)
        background = self.sim.render_background(self.size, SUPERSAMPLE)
        base_pos, base_rot = self.sim.base_pose()
        grip, rot, cube = self._grip_and_cube()
        k = self.arm.OBJECT_NAMES.index(TARGET)
        self.task = ArmTask(
            kind=self.task_kind, target=TARGET,
            camera=CameraView.look_at(self._camera.position(), np.asarray(self._camera.target), self._camera.fovy,
                                      self.size),
            start_pose=tuple(float(v) for v in self.arm.pose_to_state(grip, rot, base_pos, base_rot)),
            start_gripper=self.sim.gripper_state(), base_position=tuple(float(v) for v in base_pos),
            cube_rest_m=tuple(float(v) for v in cube), cube_half_m=float(self.sim.object_half[k]),
            table_z=TABLE_Z, background=background)
        self.target_pos, self.target_rot = self._grip_in_base()
        self.steps = 0
        self.frame = self._render()
        self._save()
        return self.frame.copy(), {"task": self.task, "state": self._state()}

    def _state(self) -> dict[str, Any]:
        assert self.task is not None
        grip, _, cube = self._grip_and_cube()
        return {"grip_m": grip.tolist(), "cube_m": cube.tolist(), "gripper": self.sim.gripper_state(),
                "ee_px": self.task.camera.project(grip).tolist(), "cube_px": self.task.camera.project(cube).tolist()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Commit one chunk (chunk, 7) of dataset-unit actions; observation = the chunk's last frame."""
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        self._own()
        chunk = np.clip(np.asarray(action, np.float64).reshape(self.chunk, 7), ACTION_LOW, ACTION_HIGH)
        frames = np.empty((self.chunk, *self.size, 3), np.uint8)
        ee_px, target_px = [], []
        for t, a in enumerate(chunk):
            self.target_pos, self.target_rot = advance_target(self.target_pos, self.target_rot, a)
            self.sim.step(osc_command(self.target_pos, self.target_rot, *self._grip_in_base(), a[6]))
            frames[t] = self._render()
            state = self._state()
            ee_px.append(state["ee_px"])
            target_px.append(state["cube_px"])
        self._save()
        self.steps += 1
        self.frame = frames[-1]
        success = self.task.success_from_pixels(self.frame)
        reached = self.task.success_from_state(np.asarray(state["grip_m"]), np.asarray(state["cube_m"]))
        info = {"frames": frames, "success": success, "success_state": reached,
                "ee_px": np.asarray(ee_px), "target_px": np.asarray(target_px), "state": state}
        return self.frame.copy(), float(success), False, self.steps >= self.horizon, info

    def render(self) -> np.ndarray | None:
        return None if self.frame is None else self.frame.copy()
