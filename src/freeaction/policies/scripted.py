"""Scripted pusher policies that act from pixels: a colour state estimator and a push planner.

Each chunk, the policy finds the effector and the target block in the observation by colour
(:func:`freeaction.envs.perception.locate_color`), then plans the chunk open loop with a
kinematic model of pushing: go to the point behind the block on the line to the goal (around
the block when it is in the way), then push along that line, assuming the block moves with the
effector, and stop once the block is predicted inside the goal. Nothing but the image and the
task (target colour, goal disc) is used.

:class:`PusherControllerParams` turns that expert into weaker ones: slower or faster speeds,
action noise, stale observations (``delay`` chunks old), a constant aim error, a chance of pushing
the wrong block, sloppy alignment, stopping short of the goal. The built-in policies
(:data:`freeaction.policies.BUILTIN`) are presets of these parameters.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from freeaction.envs.perception import locate_color
from freeaction.envs.tasks import PusherTask
from freeaction.sim.pusher import EE_RADIUS_MM, MAX_STEP_MM


@dataclass(frozen=True)
class PusherControllerParams:
    """Skill knobs of :class:`PusherController` (distances in mm; speeds and noise per 10 Hz control step).

    In a world filmed faster (:attr:`PusherTask.frames_per_step` frames per control step) the
    controller moves ``speed / frames_per_step`` per frame, so it pushes at the same speed in
    mm/s, and its per-frame noise is ``noise / sqrt(frames_per_step)`` (the same spread per 0.1 s).
    """

    approach_speed: float = 40.0  # moving to the pushing position
    push_speed: float = 25.0  # pushing the block
    noise: float = 0.0  # std of Gaussian noise added to every action
    delay: int = 0  # act on the observation of ``delay`` chunks ago
    aim_error_deg: float = 0.0  # push direction rotated by +-this (sign drawn per episode)
    wrong_block: float = 0.0  # probability of pushing another block (reach: heading for a block) all episode
    align_tolerance: float = 8.0  # how close to the pushing position counts as aligned
    stop_short: float = 0.0  # stop pushing this far before the goal centre
    random: bool = False  # ignore everything: uniform random displacements


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


def _toward(delta: np.ndarray, speed: float) -> np.ndarray:
    d = float(np.hypot(delta[0], delta[1]))
    return delta.copy() if d <= speed else delta * (speed / d)


def _rotate(v: np.ndarray, deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])


class PusherController:
    """A chunking pusher policy: ``reset(task, seed)`` per episode, then ``act(observation)`` ->
    (chunk, 2) displacements in metres."""

    def __init__(self, params: PusherControllerParams, chunk: int = 7) -> None:
        self.params, self.chunk = params, int(chunk)
        self.task: PusherTask | None = None
        self.rng = np.random.default_rng(0)
        self.history: deque[np.ndarray] = deque(maxlen=params.delay + 1)
        self.target, self.aim, self.decoy = "", 0.0, None
        self.last_block: np.ndarray | None = None
        self.block_radius = 40.0

    def reset(self, task: PusherTask, seed: int = 0) -> None:
        p = self.params
        self.task, self.rng = task, np.random.default_rng(seed)
        self.history.clear()
        blocks = [c for c in task.palette if c not in ("table", "effector")]
        others = [c for c in blocks if c != task.target] if task.target != "effector" else []
        self.target, self.decoy = task.target, None
        if others and self.rng.random() < p.wrong_block:
            self.target = others[int(self.rng.integers(len(others)))]
        elif task.target == "effector" and blocks and self.rng.random() < p.wrong_block:
            self.decoy = blocks[int(self.rng.integers(len(blocks)))]
        self.aim = p.aim_error_deg * (1 if self.rng.random() < 0.5 else -1)
        self.last_block = None

    def _see(self, frame: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Effector and target-block centres in table millimetres (None where not seen)."""
        task = self.task
        assert task is not None
        to_mm = 1.0 / task.px_per_mm
        ee = locate_color(frame, "effector", task.palette)
        block = locate_color(frame, self.target, task.palette)
        ee_mm = None if ee is None else (ee[0] + 0.5) * to_mm
        block_mm = None
        if block is not None:
            block_mm = (block[0] + 0.5) * to_mm
            self.block_radius = math.sqrt(block[1] / math.pi) * to_mm
        return ee_mm, block_mm

    def act(self, observation: np.ndarray) -> np.ndarray:
        p, task = self.params, self.task
        if task is None:
            raise RuntimeError("reset(task, seed) the policy before act()")
        k = task.frames_per_step
        if p.random:
            return self.rng.uniform(-MAX_STEP_MM, MAX_STEP_MM, (self.chunk, 2)) / (1000.0 * k)
        self.history.append(np.asarray(observation))
        ee, block = self._see(self.history[0])
        if self.target == "effector":  # a reach task: the effector is the object to move
            block = ee
        block = block if block is not None else self.last_block
        self.last_block = block
        actions = np.zeros((self.chunk, 2))
        goal = np.asarray(task.goal_mm)
        if self.decoy is not None:  # a reach task, heading for a block instead of the goal
            seen = locate_color(self.history[0], self.decoy, task.palette)
            goal = goal if seen is None else (seen[0] + 0.5) / task.px_per_mm
        if ee is not None and block is not None:
            plan = self._plan_reach if self.target == "effector" else self._plan
            actions = plan(ee, block, goal, p.approach_speed / k, p.push_speed / k)
        if p.noise:
            actions = actions + self.rng.normal(0, p.noise / math.sqrt(k), actions.shape)
        return np.clip(actions, -MAX_STEP_MM, MAX_STEP_MM) / 1000.0

    def _plan_reach(self, ee: np.ndarray, _: np.ndarray, goal: np.ndarray, approach: float,
                    push: float) -> np.ndarray:
        """Open-loop displacements (chunk, 2) in mm straight to the goal (aim error and stopping short
        included), ``approach`` mm per frame."""
        p = self.params
        out = np.zeros((self.chunk, 2))
        ee = ee.copy()
        for t in range(self.chunk):
            to_goal = goal - ee
            dist = float(np.hypot(*to_goal)) - p.stop_short
            if dist <= 2.0:
                break
            out[t] = _rotate(_unit(to_goal), self.aim) * min(approach, dist)
            ee = ee + out[t]
        return out

    def _plan(self, ee: np.ndarray, block: np.ndarray, goal: np.ndarray, approach: float,
              push: float) -> np.ndarray:
        """Open-loop displacements (chunk, 2) in mm from the estimated positions, moving ``approach``
        mm per frame to the pushing position and pushing ``push`` mm per frame."""
        p = self.params
        reach = self.block_radius + EE_RADIUS_MM
        out = np.zeros((self.chunk, 2))
        ee, block = ee.copy(), block.copy()
        for t in range(self.chunk):
            to_goal = goal - block
            if np.hypot(*to_goal) <= max(p.stop_short, 6.0):
                break
            u = _rotate(_unit(to_goal), self.aim)
            behind = block - u * (reach + 4.0)
            off = behind - ee
            if np.hypot(*off) > p.align_tolerance:
                # go around the block: head for a point beside it when the straight way crosses it
                rel = ee - block
                if np.dot(_unit(rel), u) > -0.3 and np.hypot(*rel) < reach + 30.0:
                    side = np.array([-u[1], u[0]])
                    side = side if np.dot(side, rel) >= 0 else -side
                    target = block + side * (reach + 12.0) - u * 0.5 * reach
                else:
                    target = behind
                move = _toward(target - ee, approach)
            else:
                dist = float(np.hypot(*to_goal)) - p.stop_short
                move = u * min(push, max(dist, 0.0)) + 0.5 * off
                block = block + u * min(push, max(dist, 0.0))
            ee = ee + move
            out[t] = move
        return out


def preset(**changes: float | int | bool) -> PusherControllerParams:
    return replace(PusherControllerParams(), **changes)
