"""Pusher tasks: push a named block into a goal region, or reach one; drawn from the scene's seed.

``push`` (:data:`TASK_KINDS`): a task names one block of the scene by colour and a goal disc on
the table (centre and radius, in millimetres and in pixels of the observation). ``reach``: the
effector itself is to be brought into a smaller disc (no contact needed). The goal is not drawn
in the frames (the world model never saw goal markers), so a policy gets it alongside the image,
as a language instruction ("push the red block to the upper left") would be given.

Success from pixels (:meth:`PusherTask.success_from_pixels`): the target block's colour centroid
(:func:`freeaction.envs.perception.locate_color`) lies in the goal disc. Success from state
(:meth:`PusherTask.success_from_state`): the block's true centre does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from freeaction.envs.perception import in_goal, locate_color
from freeaction.sim.pusher import BLOCK_COLORS, EE_COLOR, EE_RADIUS_MM, TABLE_COLOR, PusherSim

GOAL_RADIUS_MM = 40.0  # 5.1 px at 64x64
GOAL_DISTANCE_MM = (80.0, 140.0)  # from the target block's start
REACH_RADIUS_MM = 25.0  # 3.2 px at 64x64
REACH_DISTANCE_MM = (150.0, 330.0)  # from the effector's start
TASK_KINDS = ("push", "reach")


@dataclass(frozen=True)
class PusherTask:
    """Bring ``target`` (a block's colour name, or ``effector``) into the disc around ``goal_mm``."""

    target: str
    goal_mm: tuple[float, float]
    goal_radius_mm: float
    px_per_mm: float
    palette: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # table, effector, blocks
    frames_per_step: int = 1  # the world's frames per 10 Hz control step: an action moves 1/this as far

    @property
    def goal_px(self) -> np.ndarray:
        """Goal centre in pixel coordinates [column, row]."""
        return np.asarray(self.goal_mm) * self.px_per_mm - 0.5

    @property
    def goal_radius_px(self) -> float:
        return self.goal_radius_mm * self.px_per_mm

    def locate_target(self, frame: np.ndarray) -> np.ndarray | None:
        """The target block's [column, row] in a frame, or None when it is not seen."""
        found = locate_color(frame, self.target, self.palette)
        return None if found is None else found[0]

    def locate_effector(self, frame: np.ndarray) -> np.ndarray | None:
        """The effector's [column, row] in a frame, or None when it is not seen."""
        found = locate_color(frame, "effector", self.palette)
        return None if found is None else found[0]

    def success_from_pixels(self, frame: np.ndarray) -> bool:
        return in_goal(self.locate_target(frame), self.goal_px, self.goal_radius_px)

    def success_from_state(self, block_xy_mm: np.ndarray) -> bool:
        return float(np.hypot(*(np.asarray(block_xy_mm) - self.goal_mm))) <= self.goal_radius_mm

    def describe(self) -> str:
        col, row = self.goal_px
        if self.target == "effector":
            return f"move to pixel ({col:.1f}, {row:.1f}), within {self.goal_radius_px:.1f}"
        return (f"push the {self.target} block into the goal at pixel ({col:.1f}, {row:.1f}), "
                f"radius {self.goal_radius_px:.1f}")

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "goal_mm": list(self.goal_mm), "goal_radius_mm": self.goal_radius_mm,
                "goal_px": self.goal_px.tolist(), "goal_radius_px": self.goal_radius_px,
                "palette": {k: list(v) for k, v in self.palette.items()}, "frames_per_step": self.frames_per_step}


def scene_palette(sim: PusherSim) -> dict[str, tuple[int, int, int]]:
    """Every colour of a scene by name: ``table``, ``effector`` and each block's colour name."""
    return {"table": TABLE_COLOR, "effector": EE_COLOR, **{b.color: BLOCK_COLORS[b.color] for b in sim.blocks}}


def draw_task(sim: PusherSim, rng: np.random.Generator, px_per_mm: float, kind: str = "push") -> PusherTask:
    """A task for a fresh scene. ``push``: a random block, and a goal 80-140 mm from it; ``reach``: a
    goal 150-330 mm from the effector, of radius 25 mm. The goal disc lies on the table, its centre clear of the
    other blocks."""
    if kind not in TASK_KINDS:
        raise ValueError(f"task must be one of {TASK_KINDS}, got {kind!r}")
    if kind == "push":
        k = int(rng.integers(len(sim.blocks)))
        name, start, radius, distance = sim.blocks[k].color, np.array(sim.blocks[k].body.position), \
            sim.blocks[k].radius_mm, GOAL_DISTANCE_MM
    else:
        k, name, start, radius, distance = -1, "effector", sim.ee_pos, EE_RADIUS_MM, REACH_DISTANCE_MM
    goal_radius = GOAL_RADIUS_MM if kind == "push" else REACH_RADIUS_MM
    others = [np.array(b.body.position) for i, b in enumerate(sim.blocks) if i != k]
    margin = max(goal_radius, radius) + 4.0
    goal = start
    for attempt in range(200):
        angle = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(*distance)
        goal = start + dist * np.array([math.cos(angle), math.sin(angle)])
        on_table = margin <= goal[0] <= sim.width - margin and margin <= goal[1] <= sim.height - margin
        clear = all(np.hypot(*(goal - o)) > goal_radius + 30.0 for o in others) or attempt > 150
        if on_table and clear:
            break
    goal = np.clip(goal, margin, [sim.width - margin, sim.height - margin])
    return PusherTask(name, (float(goal[0]), float(goal[1])), goal_radius, px_per_mm, scene_palette(sim),
                      sim.world.frames_per_step)
