"""``arm``: an RT-1/Bridge-like 7-DoF arm dataset made with robosuite (MuJoCo).

A Franka Panda (robosuite 1.5 ``Stack`` scene: a table with a red and a green wooden cube,
enlarged to 5.4 and 6.2 cm) is driven by robosuite's ``OSC_POSE`` controller (delta commands in
the base frame, kp 300, at most 8 cm / 0.5 rad per step) from scripted
behaviours (:mod:`freeaction.sim.arm_policy`): reach above a cube, pick it up (then hold it,
place it elsewhere or stack it on the other cube), push a cube along the table, wander to random
poses (with yaw and small tilts), pause. Each episode draws its behaviours, speeds, cube poses,
start configuration and camera jitter from ``(seed, index)`` only.

Five worlds (option ``world``, :data:`WORLDS`): ``world: 1`` (the default) is the scene above with
robosuite's white-and-grey Panda seen from 1.3 m; in ``world: 2`` the camera is closer (0.95 m) so
the arm fills more of the frame, and the Panda's links are painted blue and its gripper orange
(:data:`ROBOT_RGBA`, :data:`GRIPPER_RGBA`), so the robot stands out from the white table and a
generated frame's robot can be found by its colour. ``world: 3`` is world 2 with the two fingers painted
magenta (:data:`FINGER_RGBA`), so whether the gripper is open shows as a colour pattern (two
fingers apart, or one block) rather than as a 1-px gap; ``world: 4`` is world 2 through a narrower
lens aimed higher (the gripper 1.34x larger). Neither lifted the gripper's decoded reading in an
A/B on the same episodes (docs/evaluation.md §7). ``world: 5`` is world 2 with a status lamp: the
hand is painted magenta (:data:`CLOSED_RGBA`) while the gripper is closed (state above
:data:`LAMP_CLOSED_ABOVE`), so its state shows on the hand's few dozen pixels.

Conventions (recorded in every annotation under ``sim``):

- Control at :data:`FPS` = 10 Hz (25 physics steps of 4 ms each, see :data:`PHYSICS_TIMESTEP`); one
  frame is recorded after reset and one after every control step, so T frames have T-1 actions.
- ``state[t]`` = pose of the Panda's grip site (between the fingertips) in the **robot base
  frame** at the moment frame t was rendered: ``[x, y, z, roll, pitch, yaw]`` in metres and
  radians with ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (scipy ``Rotation.from_euler("xyz", ...)``).
  The gripper points down, so roll is near +-pi. Readers derive RT-1-style actions from it
  (:func:`freeaction.data.poses.actions_from_states`); typical raw deltas are 0-4 cm per step.
- ``continuous_gripper_state[t]`` = ``1 - finger opening / 0.08 m``, measured: 0 fully open,
  1 fully closed, ~0.33 holding the red cube, ~0.23 the green one.
- Extras: ``commanded_actions`` (T-1, 7) normalised OSC commands, ``behaviours`` (name, text,
  first frame), ``language_instruction`` (the behaviour texts joined), ``object_pos`` (T, 2, 3)
  cube centres in the base frame, ``task``, ``camera``.
- Frames: RGB, rendered by MuJoCo (EGL unless ``MUJOCO_GL`` says otherwise) from a front-right
  elevated camera looking at the workspace, jittered per episode; rendered at ``supersample``
  times the requested size without MSAA and box-filtered down (anti-aliased).

One simulator per process is built on first use (about 3 s; 10-15 s more the first time after
installing, while numba compiles robosuite's kernels) and reused; episodes do not depend on what
ran before in the process (every state is reset explicitly).

Speed at 64x64 (``benchmarks/bench_sim.py``): about 25 ms of CPU per frame, two thirds of it
software rendering (Mesa llvmpipe: ~170k triangles of Panda meshes) and one third physics plus
robosuite's Python controller; i.e. ~40 frames/s per free core. Importing this module sets
``MUJOCO_GL=egl`` and ``LP_NUM_THREADS=0`` unless they are set already; import it before anything
imports mujoco, or set ``MUJOCO_GL`` yourself (if mujoco was imported first and picked GLFW, the
renderer is switched to the backend ``MUJOCO_GL`` names).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import math
import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from freeaction.errors import InputError
from freeaction.sim import episode_rng
from freeaction.sim.arm_policy import (
    OSC_MAX_POS,
    OSC_MAX_ROT,
    TABLE_Z,
    ArmObservation,
    ScriptedPolicy,
)
from freeaction.sim.arm_scene import (  # noqa: F401 (re-exported: the arm's options and worlds)
    CAMERA_AZIMUTH,
    CAMERA_DISTANCE,
    CAMERA_ELEVATION,
    CAMERA_FOVY,
    CAMERA_TARGET,
    CLOSED_RGBA,
    DEFAULT_OPTIONS,
    FINGER_RGBA,
    GRIPPER_RGBA,
    LAMP_CLOSED_ABOVE,
    ROBOT_RGBA,
    WORLDS,
    Camera,
    World,
    draw_camera,
    normalize_options,
)

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must precede importing mujoco
# Mesa's software rasteriser (llvmpipe, what EGL gives without a GPU) hands 128x128 frames to
# worker threads by default; rendering in the calling thread costs the same CPU and saves ~9 ms
# of wall time per frame when cores are busy (make_dataset runs one process per core).
os.environ.setdefault("LP_NUM_THREADS", "0")

# robosuite logs warnings at import (no private macro file, optional robot models, mink IK):
# a filter on its logger, added before the import, keeps only errors.
logging.getLogger("robosuite_logs").addFilter(lambda record: record.levelno >= logging.ERROR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mujoco
    import robosuite
    import robosuite.macros
    from robosuite.controllers import load_composite_controller_config

FPS = 10
ACTION_DIM = 7
GENERATOR_VERSION = "arm-1"

PHYSICS_TIMESTEP = 0.004
"""Seconds per physics step: 25 per control step. robosuite's default is 0.002; 0.004 gives the
same episodes to about 1 mm (end effector and cubes, pick/push/wander compared) at 20% less CPU."""
OSC_KP = 300.0
"""OSC stiffness (robosuite's default is 150; 300, its upper limit, tracks faster motions)."""
ROBOSUITE_ENV = "Stack"
ROBOT = "Panda"
OBJECT_NAMES: tuple[str, ...] = ("red cube", "green cube")
OBJECT_BODIES: tuple[str, ...] = ("cubeA_main", "cubeB_main")
OBJECT_JOINTS: tuple[str, ...] = ("cubeA_joint0", "cubeB_joint0")
OBJECT_HALF: tuple[float, ...] = (0.027, 0.031)
"""Cube half sizes (m): robosuite's are 0.02 and 0.025, enlarged so they show at 64x64."""
CAMERA = "agentview"  # the scene's camera that this module re-aims every episode
FINGER_OPEN = 0.04  # Panda finger joint range: [0, 0.04] m each
GRIPPER_SPAN = 2 * FINGER_OPEN
INIT_QPOS = np.array([0.0, math.pi / 16, 0.0, -math.pi / 2 - math.pi / 3, 0.0, math.pi - 0.2, math.pi / 4])
JOINT_JITTER = np.array([0.25, 0.12, 0.15, 0.15, 0.15, 0.15, 0.3])  # start configuration spread (rad)

def _use_requested_gl_backend() -> None:
    """Make mujoco.Renderer use the backend MUJOCO_GL names (egl or osmesa).

    mujoco picks its GL backend once, when it is first imported; if that happened before
    ``MUJOCO_GL`` was set (e.g. ``import robosuite`` or ``import mujoco`` before this module),
    it picked GLFW, which fails without a display. Switch to the requested one.
    """
    from mujoco import gl_context

    want = os.environ.get("MUJOCO_GL", "").lower().strip()
    have = getattr(getattr(gl_context, "GLContext", None), "__module__", None)
    if want in ("egl", "osmesa") and have is not None and have != f"mujoco.{want}":
        gl_context.GLContext = importlib.import_module(f"mujoco.{want}").GLContext


@contextlib.contextmanager
def _physics_timestep() -> Iterator[None]:
    """robosuite reads its timestep from a module global when it builds the scene and each time
    it (re)creates controllers (every reset): set ours for that time only."""
    old = robosuite.macros.SIMULATION_TIMESTEP
    robosuite.macros.SIMULATION_TIMESTEP = PHYSICS_TIMESTEP
    try:
        yield
    finally:
        robosuite.macros.SIMULATION_TIMESTEP = old


def frame_looks_rendered(frame: np.ndarray) -> bool:
    """False for blank, constant or noise-like frames (a broken GL context gives those)."""
    f = frame.astype(np.float32)
    if f.std() < 8.0:
        return False
    # Natural renders are smooth: neighbouring pixels differ much less than distant ones do.
    neighbour = np.abs(np.diff(f, axis=1)).mean() + np.abs(np.diff(f, axis=0)).mean()
    far = np.abs(f - np.roll(f, (f.shape[0] // 2, f.shape[1] // 2), axis=(0, 1))).mean()
    return bool(neighbour < far)


class ArmSim:
    """One robosuite environment plus offscreen renderers (one per render size)."""

    def __init__(self) -> None:
        config = load_composite_controller_config(controller="BASIC", robot=ROBOT)
        arm = config["body_parts"]["right"]
        arm["kp"] = OSC_KP
        arm["output_max"] = [OSC_MAX_POS] * 3 + [OSC_MAX_ROT] * 3
        arm["output_min"] = [-OSC_MAX_POS] * 3 + [-OSC_MAX_ROT] * 3
        with warnings.catch_warnings(), _physics_timestep():
            warnings.simplefilter("ignore")
            self.env = robosuite.make(
                ROBOSUITE_ENV, robots=ROBOT, controller_configs=config, has_renderer=False,
                has_offscreen_renderer=False, use_camera_obs=False, use_object_obs=False,
                control_freq=FPS, horizon=10**9, ignore_done=True, hard_reset=False,
                initialization_noise=None,
            )
        self.robot = self.env.robots[0]
        self.model: mujoco.MjModel = self.env.sim.model._model
        self.data: mujoco.MjData = self.env.sim.data._data
        # Rendering: no reflections (the table's reflectance doubles the render cost), no MSAA
        # (a multisampled buffer costs ~25 ms per frame in software GL; supersampling is cheaper).
        self.model.mat_reflectance[:] = 0.0
        self.model.vis.quality.offsamples = 0
        self.scene_option = mujoco.MjvOption()
        self.scene_option.geomgroup[:] = 0
        self.scene_option.geomgroup[1] = 1  # robosuite's visual geoms (group 0 = collision)
        self.camera_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA)
        self.site_id = self.robot.eef_site_id["right"]
        self.finger_qpos = np.asarray(self.robot._ref_gripper_joint_pos_indexes["right"])
        self.body_ids = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, b) for b in OBJECT_BODIES]
        self.paint_geoms, self.gripper_geoms, self.finger_geoms = self._robot_visual_geoms()
        self.hand_geoms = np.setdiff1d(self.gripper_geoms, self.finger_geoms)
        self.world = WORLDS[1]
        self._own_paint = (self.model.geom_matid.copy(), self.model.geom_rgba.copy())
        prefixes = (self.robot.robot_model.naming_prefix, self.robot.gripper["right"].naming_prefix)
        body_names = [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_BODY, b) or "" for b in self.model.geom_bodyid]
        # the arm's and gripper's geoms (not the fixed mount): what robot_mask and render_background select
        self.robot_geoms = np.array([name.startswith(prefixes) for name in body_names])
        self._resize_objects()
        self.object_half = np.array(OBJECT_HALF)
        self.renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._atexit = False
        # Warm up: a few control steps before the first render (numba-compiled controller code
        # runs once; on a fresh install the first images of a process were seen to be garbage).
        with _physics_timestep():
            self.env.reset()
        for _ in range(3):
            self.env.step(np.zeros(self.env.action_dim))

    def close(self) -> None:
        """Free the renderers' GL contexts."""
        for renderer in self.renderers.values():
            with contextlib.suppress(Exception):  # best effort at exit
                renderer.close()
        self.renderers.clear()

    def _resize_objects(self) -> None:
        """Scale the cubes (collision and visual boxes, mass, inertia) to :data:`OBJECT_HALF`."""
        m = self.model
        for body, half in zip(self.body_ids, OBJECT_HALF, strict=True):
            geoms = [g for g in range(m.ngeom)
                     if m.geom_bodyid[g] == body and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX]
            if not geoms:
                raise RuntimeError("cube geoms not found in the robosuite scene")
            scale = half / float(m.geom_size[geoms[0]][0])
            for g in geoms:
                m.geom_size[g] *= scale
                m.geom_rbound[g] *= scale
                m.geom_aabb[g][3:] *= scale
            m.body_mass[body] *= scale**3
            m.body_inertia[body] *= scale**5
        mujoco.mj_setConst(m, self.data)

    def _robot_visual_geoms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Visual geoms (group 1) of the robot's bodies, the subset that belongs to the gripper, and the
        gripper's fingers (bodies named ``...finger...``: the two fingers and their tips)."""
        m = self.model
        root = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, self.robot.robot_model.root_body)

        def in_robot(body: int) -> bool:
            while body > 0:
                if body == root:
                    return True
                body = int(m.body_parentid[body])
            return False

        robot = [g for g in range(m.ngeom) if m.geom_group[g] == 1 and in_robot(int(m.geom_bodyid[g]))]
        def body_name(g: int) -> str:
            return mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, int(m.geom_bodyid[g])) or ""

        gripper = [g for g in robot if "gripper" in body_name(g)]
        fingers = [g for g in gripper if "finger" in body_name(g)]
        if not robot or not gripper or not fingers:
            raise RuntimeError("the robot's visual geoms were not found in the robosuite scene")
        return np.array(robot), np.array(gripper), np.array(fingers)

    def paint(self, world: World) -> None:
        """Paint the robot as ``world`` says (flat colours replace its materials), or restore robosuite's;
        :meth:`render` lights the hand by the gripper's state where the world says so."""
        self.world = world
        matid, rgba = self._own_paint
        self.model.geom_matid[:] = matid
        self.model.geom_rgba[:] = rgba
        # in this order: the gripper's geoms are among the robot's, the fingers' among the gripper's
        for geoms, rgba in ((self.paint_geoms, world.robot_rgba), (self.gripper_geoms, world.gripper_rgba),
                            (self.finger_geoms, world.finger_rgba)):
            if rgba is not None:
                self.model.geom_matid[geoms] = -1
                self.model.geom_rgba[geoms] = rgba

    # --- episode set-up -------------------------------------------------------------------
    def reset(self, rng: np.random.Generator, camera: Camera, world: World = WORLDS[1]) -> None:
        """Reset to a scene drawn from ``rng``: start joints, open gripper, cube poses, camera, paint."""
        self.robot.init_qpos = INIT_QPOS + rng.uniform(-1.0, 1.0, 7) * JOINT_JITTER
        with warnings.catch_warnings(), _physics_timestep():
            warnings.simplefilter("ignore")
            self.env.reset()
        q = self.data.qpos
        q[self.finger_qpos] = [FINGER_OPEN, -FINGER_OPEN]
        placed: list[np.ndarray] = []
        for joint, half in zip(OBJECT_JOINTS, self.object_half, strict=True):
            for _ in range(100):
                xy = rng.uniform([-0.16, -0.2], [0.12, 0.2])
                if all(np.linalg.norm(xy - p) > 0.1 for p in placed):
                    break
            placed.append(xy)
            yaw = float(rng.uniform(-math.pi, math.pi))
            quat = [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
            adr = self.model.jnt_qposadr[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, joint)]
            q[adr:adr + 7] = [xy[0], xy[1], TABLE_Z + half + 0.0005, *quat]
        self.data.qvel[:] = 0.0
        self._show(camera, world)

    def _show(self, camera: Camera, world: World) -> None:
        """Place ``camera``, paint as ``world`` says and bring the derived quantities up to date."""
        self.model.cam_pos[self.camera_id] = camera.position()
        self.model.cam_quat[self.camera_id] = camera.quaternion()
        self.model.cam_fovy[self.camera_id] = camera.fovy
        self.paint(world)
        mujoco.mj_forward(self.model, self.data)

    def physics_state(self) -> tuple[np.ndarray, ...]:
        """Copies of the physics state (joint positions and velocities, actuator state, controls,
        solver warm start) that :meth:`restore` puts back: what users sharing this one simulator
        (environments, play sessions) keep of their episode between steps."""
        d = self.data
        return d.qpos.copy(), d.qvel.copy(), d.act.copy(), d.ctrl.copy(), d.qacc_warmstart.copy()

    def restore(self, state: tuple[np.ndarray, ...], camera: Camera, world: World) -> None:
        """Put back a :meth:`physics_state` with its episode's camera and paint."""
        d = self.data
        d.qpos[:], d.qvel[:], d.act[:], d.ctrl[:], d.qacc_warmstart[:] = state
        self._show(camera, world)

    def step(self, command: np.ndarray) -> None:
        """One control step; afterwards every derived quantity matches the new physics state."""
        self.env.step(command)
        mujoco.mj_forward(self.model, self.data)  # robosuite's last sub-step leaves kinematics stale

    # --- reading --------------------------------------------------------------------------
    def observe(self) -> ArmObservation:
        """Grip site pose, gripper closedness and cube poses (world frame)."""
        objects = np.array([self.data.xpos[b] for b in self.body_ids])
        yaws = np.array([math.atan2(m[3], m[0]) for m in (self.data.xmat[b] for b in self.body_ids)])
        return ArmObservation(
            pos=self.data.site_xpos[self.site_id].copy(),
            rot=self.data.site_xmat[self.site_id].reshape(3, 3).copy(),
            gripper=self.gripper_state(), objects=objects, object_yaws=yaws,
            object_half=self.object_half.copy(),
        )

    def gripper_state(self) -> float:
        """1 - finger opening / 0.08 m: 0 open, 1 closed."""
        q1, q2 = self.data.qpos[self.finger_qpos]
        return float(np.clip(1.0 - (q1 - q2) / GRIPPER_SPAN, 0.0, 1.0))

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Robot base position and rotation (world frame)."""
        body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, self.robot.robot_model.root_body)
        return self.data.xpos[body].copy(), self.data.xmat[body].reshape(3, 3).copy()

    def render(self, size: tuple[int, int], supersample: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) from the episode camera, the right way up."""
        if self.world.closed_rgba is not None:  # the lamp: the hand's colour follows the gripper's state
            closed = self.gripper_state() > LAMP_CLOSED_ABOVE
            # colour only: render_background hides the robot through its geoms' alpha
            lit = self.world.closed_rgba if closed else self.world.gripper_rgba
            self.model.geom_rgba[self.hand_geoms, :3] = lit[:3]
        renderer = self._renderer(size, supersample)
        renderer.update_scene(self.data, camera=self.camera_id, scene_option=self.scene_option)
        image = renderer.render()
        if supersample > 1:
            blocks = image.reshape(size[0], supersample, size[1], supersample, 3).astype(np.uint16)
            image = ((blocks.sum(axis=(1, 3)) + supersample**2 // 2) // supersample**2).astype(np.uint8)
        return np.ascontiguousarray(image)

    def robot_mask(self, size: tuple[int, int], supersample: int) -> np.ndarray:
        """(H, W) bool: pixels at least half covered by the arm's or gripper's geoms (MuJoCo's
        segmentation render of the episode camera, at ``supersample`` times the size)."""
        renderer = self._renderer(size, supersample)
        renderer.enable_segmentation_rendering()
        try:
            renderer.update_scene(self.data, camera=self.camera_id, scene_option=self.scene_option)
            ids = renderer.render()  # (h, w, 2): object id, object type
        finally:
            renderer.disable_segmentation_rendering()
        robot = (ids[..., 1] == mujoco.mjtObj.mjOBJ_GEOM) & self.robot_geoms[np.clip(ids[..., 0], 0, None)]
        return robot.reshape(size[0], supersample, size[1], supersample).mean(axis=(1, 3)) >= 0.5

    def render_background(self, size: tuple[int, int], supersample: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of the scene without the arm and gripper (their geoms hidden)."""
        alpha = self.model.geom_rgba[self.robot_geoms, 3].copy()
        self.model.geom_rgba[self.robot_geoms, 3] = 0.0
        try:
            return self.render(size, supersample)
        finally:
            self.model.geom_rgba[self.robot_geoms, 3] = alpha

    def _renderer(self, size: tuple[int, int], supersample: int) -> mujoco.Renderer:
        """The offscreen renderer for ``size`` times ``supersample``, made on first use."""
        h, w = size[0] * supersample, size[1] * supersample
        renderer = self.renderers.get((h, w))
        if renderer is None:
            vis = self.model.vis.global_
            vis.offwidth, vis.offheight = max(vis.offwidth, w), max(vis.offheight, h)
            _use_requested_gl_backend()
            try:
                renderer = mujoco.Renderer(self.model, h, w)
            except Exception as exc:
                raise RuntimeError(f"cannot create a MuJoCo offscreen renderer (MUJOCO_GL="
                                   f"{os.environ.get('MUJOCO_GL')!r}): {exc}. Headless rendering needs "
                                   "EGL (libegl1 + Mesa or an NVIDIA driver) or OSMesa (MUJOCO_GL="
                                   "osmesa, libosmesa6)") from exc
            self.renderers[(h, w)] = renderer
            if not self._atexit:  # after the first GL context, so it runs before mujoco's eglTerminate
                atexit.register(self.close)
                self._atexit = True
        return renderer


_SIM: ArmSim | None = None


def get_sim() -> ArmSim:
    """The process's simulator, built on first use."""
    global _SIM
    if _SIM is None:
        _SIM = ArmSim()
    return _SIM


def pose_to_state(pos: np.ndarray, rot: np.ndarray, base_pos: np.ndarray, base_rot: np.ndarray) -> np.ndarray:
    """World pose -> base-frame ``[x, y, z, roll, pitch, yaw]`` with R = Rz(yaw) Ry(pitch) Rx(roll)."""
    p = base_rot.T @ (pos - base_pos)
    rpy = Rotation.from_matrix(base_rot.T @ rot).as_euler("xyz")
    return np.concatenate([p, rpy])


def generate_episode(index: int, seed: int, size: tuple[int, int] = (64, 64), *, robot_masks: bool = False,
                     **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Simulate and render one episode.

    Args:
        index: episode index; with ``seed`` it fixes everything drawn.
        seed: dataset seed.
        size: frame (height, width) in pixels.
        robot_masks: also render, for every frame, the robot's silhouette and the scene without
            the robot (for object metrics; the frames and the rest are the same either way).
        **options: see :func:`normalize_options` (``frames``, ``behaviours``,
            ``camera_jitter``, ``supersample``, ``world``).

    Returns:
        ``(frames, annotation)``: RGB uint8 frames (T, H, W, 3) and the RT-1-style annotation
        (``state`` (T, 6), ``continuous_gripper_state`` (T,), plus the extras in the module doc).
        With ``robot_masks``, the annotation also holds ``robot_mask`` (T, H, W) bool
        (:meth:`ArmSim.robot_mask`) and ``robot_free_frames`` (T, H, W, 3) uint8
        (:meth:`ArmSim.render_background`): arrays for measuring, too large to write as JSON.

    Raises:
        InputError: bad options or size.
        RuntimeError: the renderer keeps producing blank or garbage frames.
    """
    opts = normalize_options(options)
    size = (int(size[0]), int(size[1]))
    if min(size) < 8:
        raise InputError(f"size must be (height, width) with both >= 8, got {size}")
    rng = episode_rng(seed, index)
    n_frames = int(rng.integers(opts["frames"][0], opts["frames"][1] + 1))
    world = WORLDS[opts.get("world", 1)]
    camera = draw_camera(rng, opts["camera_jitter"], world)
    sim = get_sim()
    sim.reset(rng, camera, world)
    policy = ScriptedPolicy(rng, tuple(opts["behaviours"]), OBJECT_NAMES)
    base_pos, base_rot = sim.base_pose()

    frames = np.empty((n_frames, size[0], size[1], 3), np.uint8)
    states = np.empty((n_frames, 6))
    gripper = np.empty(n_frames)
    objects = np.empty((n_frames, len(OBJECT_BODIES), 3))
    commands = np.empty((n_frames - 1, 7))
    silhouettes: list[np.ndarray] = []
    robot_free: list[np.ndarray] = []
    obs = sim.observe()
    for t in range(n_frames):
        if t > 0:
            commands[t - 1] = policy.act(obs, t - 1)
            sim.step(commands[t - 1])
            obs = sim.observe()
        states[t] = pose_to_state(obs.pos, obs.rot, base_pos, base_rot)
        gripper[t] = obs.gripper
        objects[t] = (obs.objects - base_pos) @ base_rot
        frames[t] = sim.render(size, opts["supersample"])
        if t == 0 and not frame_looks_rendered(frames[0]):
            sim.close()  # a fresh GL context, once
            frames[0] = sim.render(size, opts["supersample"])
            if not frame_looks_rendered(frames[0]):
                raise RuntimeError("MuJoCo renders blank or garbage frames; check MUJOCO_GL "
                                   f"(now {os.environ.get('MUJOCO_GL')!r}) and the EGL/OSMesa libraries")
        if robot_masks:
            silhouettes.append(sim.robot_mask(size, opts["supersample"]))
            robot_free.append(sim.render_background(size, opts["supersample"]))

    behaviours = [{"name": b["name"], "text": b["text"], "start_frame": b["step"]} for b in policy.log]
    annotation: dict[str, Any] = {
        "state": states,
        "continuous_gripper_state": gripper,
        "task": "tabletop cubes (scripted)",
        "language_instruction": ", then ".join(b["text"] for b in behaviours) or "stay still",
        "behaviours": behaviours,
        "commanded_actions": commands,
        "object_pos": objects,
        "camera": camera.to_json(),
        "sim": {
            "simulator": f"robosuite {robosuite.__version__} {ROBOSUITE_ENV}, mujoco {mujoco.__version__}",
            "robot": ROBOT,
            "controller": "OSC_POSE delta, base frame (BASIC composite)",
            "control_freq": FPS,
            "physics_timestep": float(sim.model.opt.timestep),
            "state": "grip site pose in the robot base frame: x, y, z (m), roll, pitch, yaw (rad), "
                     "R = Rz(yaw) Ry(pitch) Rx(roll)",
            "continuous_gripper_state": "1 - finger opening / 0.08 m (0 open, 1 closed)",
            "object_names": list(OBJECT_NAMES),
            "generator_version": GENERATOR_VERSION,
        },
    }
    if opts.get("world", 1) != 1:
        annotation["sim"].update(world=int(opts["world"]), robot_rgba=list(world.robot_rgba or ()),
                                 gripper_rgba=list(world.gripper_rgba or ()))
        if world.finger_rgba is not None:
            annotation["sim"]["finger_rgba"] = list(world.finger_rgba)
        if world.closed_rgba is not None:
            annotation["sim"].update(gripper_closed_rgba=list(world.closed_rgba),
                                     gripper_closed_above=LAMP_CLOSED_ABOVE)
    if robot_masks:
        annotation["robot_mask"] = np.stack(silhouettes)
        annotation["robot_free_frames"] = np.stack(robot_free)
    return frames, annotation
