"""``pusher``: a Language-Table-like 2-DoF tabletop simulator (pymunk physics, numpy rendering).

A round end effector pushes coloured blocks (squares, discs, triangles, pentagons, bars) around a
walled table seen from above. Three worlds (option ``world``, :data:`WORLDS`):

- ``world: 1`` (the default): 3-5 blocks of 8-10 px at 64x64 (bars 12-14 x 6-7 px), shapes drawn
  independently, behaviours mixed evenly.
- ``world: 2``: 3-4 blocks of 11-13 px (bars 17-19 x 7-8 px), every block of a scene with its own
  colour and shape, and a behaviour mix biased toward pushing at a moderate speed, so that most
  training windows hold a contact and a pushed block covers several latent cells.
- ``world: 3``: world 2 filmed at 20 frames/s (:func:`frame_rate`): the same physics, policy and
  episodes (the same seed and index give world 2's episode), with a frame recorded halfway
  through every control step too, so each frame moves half as far. ``frames`` still counts the
  10 Hz frames: an episode of ``frames: 40`` records 79.

There is no gravity in the image plane; a Coulomb-like friction with the table (a pivot and a gear
joint to the table with limited force, the pymunk "top-down friction" construction) stops the blocks.

Conventions (recorded in every annotation under ``sim``):

- The table is 0.5 m tall (image rows) and ``0.5 * W / H`` m wide (image columns); it fills
  the frame. The physics runs in millimetres.
- Control at :data:`FPS` = 10 Hz with 10 physics substeps per step (video at 10 frames/s, 20 in
  world 3). A scripted policy
  (:mod:`freeaction.sim.pusher_policy`) commands effector displacements; the effector is a
  heavy dynamic disc that tracks them unless a wall or a block resists.
- ``actions[t]`` = effector position at frame t+1 minus at frame t, in **metres**, ``[dx, dy]``
  with x along image columns (right) and y along image rows (down). These are the achieved
  displacements measured in the simulation, so frames and actions agree exactly. Raw
  magnitudes match Language-Table (|dx| up to ~0.06); model space is x20
  (:func:`freeaction.actions.action_scaler`).
- ``ee_px[t] = [x, y]``: effector centre in frame t in pixel coordinates (column, row; centre
  of the top-left pixel at (0, 0)); ``ee_xy[t]``: the same in metres.
  ``ee_px = ee_xy * px_per_meter - 0.5``.
- ``commanded_actions`` (what the policy asked for), ``behaviours`` (the scripted segments),
  ``blocks`` (shape, colour, size) and ``block_xy``/``block_angle`` per frame are kept too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pymunk

from freeaction.errors import InputError
from freeaction.sim import episode_rng
from freeaction.sim.pusher_policy import run_policy
from freeaction.sim.render import Canvas

FPS = 10
ACTION_DIM = 2
GENERATOR_VERSION = "pusher-1"

TABLE_H_MM = 500.0
EE_RADIUS_MM = 28.0  # 7.2 px across at 64x64
MAX_STEP_MM = 60.0  # per-axis command limit: Language-Table's raw |dx| <= ~0.06 m
SUBSTEPS = 10
EE_MASS = 1.0  # kg
SERVO_FORCE = 3.0e4  # kg mm / s^2: pushes several blocks, yields to a wall
GRAVITY_MM = 9810.0

TABLE_COLOR = (201, 196, 186)
EE_COLOR = (24, 24, 28)
BLOCK_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (214, 39, 40),
    "blue": (31, 96, 214),
    "green": (44, 160, 64),
    "yellow": (240, 196, 25),
    "purple": (140, 70, 190),
    "orange": (245, 128, 20),
    "cyan": (23, 178, 190),
}
SHAPES = ("square", "disc", "triangle", "pentagon", "bar")

DEFAULT_OPTIONS: dict[str, Any] = {"frames": [40, 60], "blocks": None, "world": 1}


@dataclass(frozen=True)
class World:
    """What differs between the pusher's worlds: block count and sizes, and the behaviour mix."""

    blocks: tuple[int, int]  # default [min, max] blocks per scene
    block_mm: tuple[float, float]  # size range of squares, discs, pentagons (triangles x triangle_scale)
    bar_mm: tuple[float, float]  # length range of bars
    bar_aspect: float  # bar length / width
    triangle_scale: float
    distinct_shapes: bool  # every block of a scene its own shape (up to len(SHAPES) blocks)
    mix_concentration: tuple[float, ...]  # Dirichlet concentration over pusher_policy.BEHAVIOURS
    push_speed_mm: float  # the push behaviour's speed limit per step
    frames_per_step: int = 1  # video frames recorded per control step (evenly through it)

    @property
    def frame_rate(self) -> int:
        """Video frames per second: :data:`FPS` x ``frames_per_step``."""
        return FPS * self.frames_per_step


WORLDS: dict[int, World] = {
    1: World((3, 5), (60.0, 75.0), (95.0, 110.0), 2.0, 1.2, False, (0.8,) * 6, 45.0),
    # reach, push, sweep, wander, jitter, pause: pushing is the commonest behaviour
    2: World((3, 4), (85.0, 100.0), (135.0, 150.0), 2.5, 1.25, True, (0.8, 2.4, 0.6, 0.8, 0.6, 0.6), 35.0),
}
WORLDS[3] = replace(WORLDS[2], frames_per_step=2)  # world 2 at 20 frames/s: half the motion per frame


def frame_rate(options: dict[str, Any]) -> int:
    """Frames per second of the episodes made with ``options`` (``FPS`` x the world's frames per step)."""
    return WORLDS[normalize_options(options).get("world", 1)].frame_rate


def _int_range(name: str, value: Any, lo: int, hi: int) -> list[int]:
    """An int or [min, max] option as a validated [min, max] list."""
    pair = [value, value] if isinstance(value, int | np.integer) else list(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise InputError(f"pusher option {name!r} must be an int or [min, max] ints, got {value!r}")
    a, b = int(pair[0]), int(pair[1])
    if not lo <= a <= b <= hi:
        raise InputError(f"pusher option {name!r} must lie in [{lo}, {hi}] with min <= max, got {value!r}")
    return [a, b]


def normalize_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate pusher options and fill defaults.

    ``frames``: frames per episode, an int or [min, max] (drawn per episode; default [40, 60]);
    control steps + 1, so a world filmed at k frames per step records (frames - 1) * k + 1.
    ``blocks``: blocks on the table, an int or [min, max] (default: the world's, at most 7).
    ``world``: 1, 2 or 3 (:data:`WORLDS`; default 1). It is recorded only when it is not 1, so
    world-1 datasets made before the option existed keep their settings.
    """
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise InputError(f"unknown pusher option(s) {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    merged = {**DEFAULT_OPTIONS, **options}
    world = merged["world"]
    if isinstance(world, bool) or world not in WORLDS:
        raise InputError(f"pusher option 'world' must be one of {sorted(WORLDS)}, got {world!r}")
    blocks = WORLDS[world].blocks if merged["blocks"] is None else merged["blocks"]
    out = {"frames": _int_range("frames", merged["frames"], 2, 100_000),
           "blocks": _int_range("blocks", blocks, 0, len(BLOCK_COLORS))}
    if world != 1:
        out["world"] = int(world)
    return out


@dataclass
class Block:
    """One block: its body, drawing outline and description."""

    body: pymunk.Body
    shape: str
    color: str
    size_mm: float  # characteristic size: side, diameter, or long side of the bar
    radius_mm: float  # bounding radius
    local_vertices: np.ndarray | None  # (n, 2) in mm, None for a disc


def _outline(shape: str, size: float, bar_aspect: float = 2.0) -> np.ndarray | None:
    """Local vertices (mm, centred on the centroid) of a block shape; None for a disc."""
    if shape == "disc":
        return None
    if shape == "square":
        h = size / 2
        return np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    if shape == "bar":
        a, b = size / 2, size / (2 * bar_aspect)
        return np.array([[-a, -b], [a, -b], [a, b], [-a, b]])
    n = {"triangle": 3, "pentagon": 5}[shape]
    r = size / (2 * math.sin(math.pi / n))  # circumradius for side length ``size``
    ang = -math.pi / 2 + 2 * math.pi * np.arange(n) / n
    return np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1)


class PusherSim:
    """The physics of one episode: table walls, blocks, and the effector."""

    ee_radius_mm = EE_RADIUS_MM  # what the scripted behaviours (pusher_policy) read of the effector

    def __init__(self, rng: np.random.Generator, width_mm: float, height_mm: float, n_blocks: int,
                 world: World = WORLDS[1]):
        self.width, self.height = width_mm, height_mm
        self.space = space = pymunk.Space()
        space.gravity = (0.0, 0.0)
        space.iterations = 12
        space.collision_slop = 0.2
        static = space.static_body
        t = 40.0  # wall thickness (radius); inner faces on the table edge
        w, h = width_mm, height_mm
        for a, b in [((-t, -t), (w + t, -t)), ((w + t, -t), (w + t, h + t)),
                     ((w + t, h + t), (-t, h + t)), ((-t, h + t), (-t, -t))]:
            seg = pymunk.Segment(static, a, b, t)
            seg.elasticity, seg.friction = 0.0, 0.5
            space.add(seg)

        self.blocks: list[Block] = []
        placed: list[tuple[float, float, float]] = []  # x, y, bounding radius
        self.world = world
        colors = rng.permutation(list(BLOCK_COLORS))[:n_blocks]
        shapes: list[str] = []
        if world.distinct_shapes:
            shapes = [SHAPES[int(i)] for i in rng.permutation(len(SHAPES))]
        for k, color in enumerate(colors):
            shape = shapes[k] if k < len(shapes) else SHAPES[int(rng.integers(len(SHAPES)))]
            size = float(rng.uniform(*world.block_mm) if shape != "bar" else rng.uniform(*world.bar_mm))
            if shape == "triangle":
                size *= world.triangle_scale
            verts = _outline(shape, size, world.bar_aspect)
            radius = size / 2 if verts is None else float(np.linalg.norm(verts, axis=1).max())
            x, y = self._free_spot(rng, radius, placed)
            placed.append((x, y, radius))
            mass = 0.1 * (size / 65.0) ** 2
            if verts is None:
                body = pymunk.Body(mass, pymunk.moment_for_circle(mass, 0, radius))
                sh: pymunk.Shape = pymunk.Circle(body, radius)
            else:
                body = pymunk.Body(mass, pymunk.moment_for_poly(mass, verts.tolist()))
                sh = pymunk.Poly(body, verts.tolist())
            body.position = (x, y)
            body.angle = float(rng.uniform(0, 2 * math.pi))
            sh.elasticity, sh.friction = 0.0, 0.6
            mu = float(rng.uniform(0.3, 0.6))
            pivot = pymunk.PivotJoint(static, body, (0, 0), (0, 0))
            pivot.max_bias, pivot.max_force = 0.0, mu * mass * GRAVITY_MM
            gear = pymunk.GearJoint(static, body, 0.0, 1.0)
            gear.max_bias, gear.max_force = 0.0, mu * mass * GRAVITY_MM * radius * 0.5
            space.add(body, sh, pivot, gear)
            self.blocks.append(Block(body, shape, str(color), size, radius, verts))

        # The effector is a dynamic disc pulled by a force-limited servo (a pivot joint) toward a
        # kinematic control point, so a block pinned against a wall stops it instead of being
        # crushed, and the solver treats the servo and the contacts together.
        ee = pymunk.Body(EE_MASS, float("inf"))
        ee.position = self._free_spot(rng, EE_RADIUS_MM, placed)
        circ = pymunk.Circle(ee, EE_RADIUS_MM)
        circ.elasticity, circ.friction = 0.0, 0.3
        control = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        control.position = ee.position
        servo = pymunk.PivotJoint(control, ee, (0, 0), (0, 0))
        servo.max_force = SERVO_FORCE
        servo.max_bias = 2.0 * MAX_STEP_MM * FPS
        servo.error_bias = 1e-40  # close most of the tracking error within a substep
        space.add(ee, circ, control, servo)
        self.ee, self.control = ee, control

    def _free_spot(self, rng: np.random.Generator, radius: float,
                   placed: list[tuple[float, float, float]]) -> tuple[float, float]:
        """A random position whose bounding circle is inside the table and clear of ``placed``."""
        m = radius + 6.0
        for attempt in range(400):
            x = float(rng.uniform(m, self.width - m))
            y = float(rng.uniform(m, self.height - m))
            gap = 12.0 if attempt < 200 else 1.0
            if all(math.hypot(x - px, y - py) > radius + pr + gap for px, py, pr in placed):
                return x, y
        raise RuntimeError("pusher: no free spot for a block; use fewer blocks or a larger table")

    @property
    def ee_pos(self) -> np.ndarray:
        """Effector centre (mm)."""
        return np.array(self.ee.position, dtype=np.float64)

    def block_poses(self) -> np.ndarray:
        """(n, 3) block x, y (mm) and angle (rad)."""
        return np.array([[b.body.position.x, b.body.position.y, b.body.angle] for b in self.blocks],
                        dtype=np.float64).reshape(-1, 3)

    def _drive(self, command_mm: np.ndarray, substeps: int, parts: int) -> Iterator[None]:
        """Move the control point by ``command_mm`` over ``substeps`` physics substeps, pausing
        (yielding) ``parts`` times, after each equal share of them.

        The control point moves at constant velocity along the commanded segment (clamped inside
        the table); the servo pulls the effector along, and blocks and walls may resist.
        """
        if substeps % parts:
            raise ValueError(f"parts must divide the {substeps} substeps, got {parts}")
        start = np.array(self.control.position)
        r = EE_RADIUS_MM + 0.5
        goal = np.clip(start + command_mm, [r, r], [self.width - r, self.height - r])
        dt = 1.0 / (FPS * SUBSTEPS)
        v = (goal - start) / (substeps * dt)
        self.control.velocity = (float(v[0]), float(v[1]))
        for part in range(parts):
            for _ in range(substeps // parts):
                self.space.step(dt)
            if part == parts - 1:
                self.control.velocity = (0.0, 0.0)
                # Where the effector was held back, the control point waits for it (no wind-up).
                self.control.position = self.ee.position
            yield

    def step_in_parts(self, command_mm: np.ndarray, parts: int) -> Iterator[None]:
        """One control step (1/FPS s) of ``command_mm``, paused ``parts`` times (after each equal
        share of its substeps) so that a caller can film it; the same substeps as one whole step."""
        yield from self._drive(command_mm, SUBSTEPS, parts)

    def step(self, command_mm: np.ndarray) -> None:
        """Advance one frame of this world while the effector tracks ``command_mm``: a control step
        (1/FPS s) in worlds 1 and 2, 1 / (FPS x frames_per_step) s in a world filmed faster."""
        for _ in self._drive(command_mm, SUBSTEPS // self.world.frames_per_step, 1):
            pass


def _frame_count(rng: np.random.Generator, options: dict[str, Any]) -> int:
    lo, hi = options["frames"]
    return int(rng.integers(lo, hi + 1))


class PusherRenderer:
    """Draws a :class:`PusherSim` state at a given image size."""

    def __init__(self, size: tuple[int, int], blocks: list[Block]):
        self.height, self.width = size
        self.px_per_mm = self.height / TABLE_H_MM
        self.canvas = Canvas(self.height, self.width, TABLE_COLOR)
        self.blocks = blocks
        self.colors = [np.asarray(BLOCK_COLORS[b.color], np.float32) for b in blocks]
        self.ee_color = np.asarray(EE_COLOR, np.float32)

    def to_px(self, xy_mm: np.ndarray) -> np.ndarray:
        """Table millimetres -> pixel coordinates (centre of the top-left pixel at 0, 0)."""
        return np.asarray(xy_mm) * self.px_per_mm - 0.5

    def draw(self, ee_mm: np.ndarray, poses: np.ndarray) -> np.ndarray:
        """One uint8 frame (H, W, 3)."""
        c, s = self.canvas, self.px_per_mm
        frame = c.new_frame()
        for block, color, (x, y, a) in zip(self.blocks, self.colors, poses, strict=True):
            cx, cy = x * s - 0.5, y * s - 0.5
            if block.local_vertices is None:
                c.disc(frame, cx, cy, block.radius_mm * s, color)
            else:
                ca, sa = math.cos(a), math.sin(a)
                v = block.local_vertices
                world = np.stack([v[:, 0] * ca - v[:, 1] * sa, v[:, 0] * sa + v[:, 1] * ca], axis=1)
                c.polygon(frame, world * s + (cx, cy), color)
        ex, ey = self.to_px(ee_mm)
        c.disc(frame, ex, ey, EE_RADIUS_MM * s, self.ee_color)
        return c.to_uint8(frame)


def generate_episode(index: int, seed: int, size: tuple[int, int] = (64, 64),
                     **options: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Simulate and render pusher episode ``index`` of the dataset made with ``seed``.

    Returns RGB uint8 frames (T, H, W, 3) and the Language-Table-style annotation (without
    path fields; see the module doc for its keys). Depends only on the arguments.
    """
    options = normalize_options(options)
    rng = episode_rng(seed, index)
    height, width = int(size[0]), int(size[1])
    n_frames = _frame_count(rng, options)
    lo, hi = options["blocks"]
    n_blocks = int(rng.integers(lo, hi + 1))
    width_mm = TABLE_H_MM * width / height
    world = WORLDS[options.get("world", 1)]
    sim = PusherSim(rng, width_mm, TABLE_H_MM, n_blocks, world)
    renderer = PusherRenderer((height, width), sim.blocks)

    k = world.frames_per_step
    steps = n_frames - 1  # control steps; the option counts them + 1
    recorded = steps * k + 1
    ee = np.empty((recorded, 2))
    poses = np.empty((recorded, len(sim.blocks), 3))
    frames = np.empty((recorded, height, width, 3), np.uint8)
    ee[0], poses[0] = sim.ee_pos, sim.block_poses()
    frames[0] = renderer.draw(ee[0], poses[0])
    commands = np.empty((steps, 2))
    policy = run_policy(sim, rng, steps, MAX_STEP_MM, world.mix_concentration, world.push_speed_mm)
    t = 0
    for s in range(steps):
        commands[s] = next(policy)
        for _ in sim.step_in_parts(commands[s], k):
            t += 1
            ee[t], poses[t] = sim.ee_pos, sim.block_poses()
            frames[t] = renderer.draw(ee[t], poses[t])

    px_per_meter = renderer.px_per_mm * 1000.0
    ee_m = ee / 1000.0
    annotation = {
        "actions": np.diff(ee_m, axis=0).tolist(),
        "ee_xy": ee_m.tolist(),
        "ee_px": renderer.to_px(ee).tolist(),
        # per frame: a control step's command is spread evenly over its k frames
        "commanded_actions": (np.repeat(commands, k, axis=0) / (1000.0 * k)).tolist(),
        "behaviours": [{**seg, "start": seg["start"] * k} for seg in policy.segments],  # type: ignore[attr-defined]
        "blocks": [{"shape": b.shape, "color": b.color, "rgb": list(BLOCK_COLORS[b.color]),
                    "size_m": b.size_mm / 1000.0} for b in sim.blocks],
        "block_xy": (poses[..., :2] / 1000.0).tolist(),
        "block_angle": poses[..., 2].tolist(),
        "ee_color": list(EE_COLOR),
        "table_color": list(TABLE_COLOR),
        "sim": {"name": "pusher", "version": GENERATOR_VERSION, "index": int(index), "seed": int(seed),
                "table_m": [width_mm / 1000.0, TABLE_H_MM / 1000.0], "ee_radius_m": EE_RADIUS_MM / 1000.0,
                "px_per_meter": px_per_meter, "substeps": SUBSTEPS,
                "action_frame": "x = image column (right), y = image row (down), metres"},
    }
    if options.get("world", 1) != 1:
        annotation["sim"]["world"] = int(options["world"])
    if k != 1:
        annotation["sim"]["frames_per_step"] = k
    return frames, annotation
