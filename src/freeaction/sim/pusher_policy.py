"""Scripted, varied behaviour for the pusher: reach, push, sweep, wander, jitter, pause.

Each episode draws its own mix of behaviours (Dirichlet weights, whose concentration the world
sets: even in world 1, biased toward pushing in world 2) and speed scale from its random
generator, so a dataset holds both near-zero and Language-Table-sized large motions.
A behaviour is a generator that reads the live simulation and yields displacement commands
(millimetres per control step); the policy chains behaviours until the episode ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np


class PushScene(Protocol):
    """What a behaviour reads of the live simulation (:class:`freeaction.sim.pusher.PusherSim` is one):
    the table's size and the effector's place and radius (mm), and the blocks (each with ``body`` and
    ``radius_mm``)."""

    width: float
    height: float
    ee_radius_mm: float
    blocks: list[Any]

    @property
    def ee_pos(self) -> np.ndarray: ...

BEHAVIOURS = ("reach", "push", "sweep", "wander", "jitter", "pause")
Command = Iterator[np.ndarray]


def _toward(delta: np.ndarray, speed: float) -> np.ndarray:
    """A step along ``delta`` of length at most ``speed``."""
    d = float(np.hypot(delta[0], delta[1]))
    return delta.copy() if d <= speed else delta * (speed / d)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([1.0, 0.0])


def _random_point(sim: PushScene, rng: np.random.Generator, margin: float) -> np.ndarray:
    return np.array([rng.uniform(margin, sim.width - margin), rng.uniform(margin, sim.height - margin)])


def reach(sim: PushScene, rng: np.random.Generator, speed: float) -> Command:
    """Move next to a block (or a random point when there is none) and stop there."""
    if sim.blocks:
        block = sim.blocks[int(rng.integers(len(sim.blocks)))]
        side = _unit(sim.ee_pos - np.array(block.body.position))
        side = _unit(side + rng.normal(0, 0.4, 2))
    for _ in range(25):
        if sim.blocks:
            target = np.array(block.body.position) + side * (block.radius_mm + sim.ee_radius_mm + 4)
        else:
            target = _random_point(sim, rng, 60)
        delta = target - sim.ee_pos
        if np.hypot(*delta) < 3.0:
            return
        yield _toward(delta, speed) + rng.normal(0, 0.5, 2)


def push(sim: PushScene, rng: np.random.Generator, speed: float, max_push: float = 45.0) -> Command:
    """Go behind a block, then push it toward a random goal on the table at most ``max_push`` mm a step."""
    if not sim.blocks:
        yield from wander(sim, rng, speed)
        return
    block = sim.blocks[int(rng.integers(len(sim.blocks)))]
    goal = _random_point(sim, rng, block.radius_mm + 20)
    behind = block.radius_mm + sim.ee_radius_mm
    for _ in range(15):  # approach: stand behind the block on the line to the goal
        pos = np.array(block.body.position)
        target = pos - _unit(goal - pos) * (behind + 6)
        delta = target - sim.ee_pos
        if np.hypot(*delta) < 6.0:
            break
        yield _toward(delta, max(speed, 25.0))
    push_speed = min(speed, max_push)
    for _ in range(30):  # push through the block toward the goal, steering back onto the line
        pos = np.array(block.body.position)
        to_goal = goal - pos
        if np.hypot(*to_goal) < 15.0:
            return
        u = _unit(to_goal)
        want = pos - u * (behind - 8)
        correction = (want - sim.ee_pos) - u * np.dot(want - sim.ee_pos, u)
        yield u * push_speed + 0.5 * correction + rng.normal(0, 0.7, 2)


def sweep(sim: PushScene, rng: np.random.Generator, speed: float) -> Command:
    """Fast straight strokes across the table (the large motions)."""
    fast = max(speed, 40.0)
    for _ in range(int(rng.integers(1, 4))):
        target = _random_point(sim, rng, 40)
        for _ in range(20):
            delta = target - sim.ee_pos
            if np.hypot(*delta) < 5.0:
                break
            yield _toward(delta, fast)


def wander(sim: PushScene, rng: np.random.Generator, speed: float) -> Command:
    """A smooth random walk (Ornstein-Uhlenbeck velocity) of moderate speed."""
    v = rng.normal(0, speed / 2, 2)
    centre = np.array([sim.width / 2, sim.height / 2])
    for _ in range(int(rng.integers(5, 16))):
        v = 0.7 * v + rng.normal(0, speed / 2.5, 2) + 0.02 * (centre - sim.ee_pos)
        yield v.copy()


def jitter(sim: PushScene, rng: np.random.Generator, speed: float) -> Command:
    """Small random back-and-forth moves (a few millimetres)."""
    size = rng.uniform(2.0, 12.0)
    for _ in range(int(rng.integers(3, 11))):
        ang = rng.uniform(0, 2 * math.pi)
        yield size * rng.uniform(0.3, 1.0) * np.array([math.cos(ang), math.sin(ang)])


def pause(sim: PushScene, rng: np.random.Generator, speed: float) -> Command:
    """Stand (almost) still: near-zero commands."""
    for _ in range(int(rng.integers(2, 9))):
        yield rng.normal(0, 0.3, 2)


_FUNCS = {"reach": reach, "push": push, "sweep": sweep, "wander": wander, "jitter": jitter, "pause": pause}


class ScriptedPolicy:
    """Chains behaviours for ``n_steps`` control steps; iterate it for commands (mm).

    ``segments`` lists ``{"start": step, "behaviour": name, "speed_m": speed}`` in order.
    """

    def __init__(self, sim: PushScene, rng: np.random.Generator, n_steps: int, max_step: float,
                 concentration: tuple[float, ...] = (0.8,) * len(BEHAVIOURS), max_push: float = 45.0):
        self.sim, self.rng, self.n_steps, self.max_step = sim, rng, n_steps, max_step
        self.max_push = max_push
        self.weights = rng.dirichlet(np.asarray(concentration, np.float64))
        self.speed_scale = float(np.exp(rng.uniform(math.log(0.5), math.log(1.3))))
        self.segments: list[dict[str, Any]] = []
        self.step = 0
        self._current: Command | None = None
        self._pending: dict[str, Any] | None = None  # segment recorded once it yields

    def __iter__(self) -> ScriptedPolicy:
        return self

    def _start(self) -> Command:
        name = BEHAVIOURS[int(self.rng.choice(len(BEHAVIOURS), p=self.weights))]
        speed = self.max_step * self.speed_scale * float(self.rng.uniform(0.4, 1.0))
        self._pending = {"start": self.step, "behaviour": name, "speed_m": round(speed / 1000, 5)}
        if name == "push":
            return push(self.sim, self.rng, speed, self.max_push)
        return _FUNCS[name](self.sim, self.rng, speed)

    def __next__(self) -> np.ndarray:
        if self.step >= self.n_steps:
            raise StopIteration
        for _ in range(100):
            if self._current is None:
                self._current = self._start()
            try:
                command = next(self._current)
                if self._pending is not None:
                    self.segments.append(self._pending)
                    self._pending = None
                break
            except StopIteration:
                self._current = None
        else:  # pragma: no cover - every behaviour yields within a few tries
            command = np.zeros(2)
        self.step += 1
        return np.clip(np.asarray(command, np.float64), -self.max_step, self.max_step)


def run_policy(sim: PushScene, rng: np.random.Generator, n_steps: int, max_step: float,
               concentration: tuple[float, ...] = (0.8,) * len(BEHAVIOURS), max_push: float = 45.0) -> ScriptedPolicy:
    """The scripted policy of one episode (see :class:`ScriptedPolicy`)."""
    return ScriptedPolicy(sim, rng, n_steps, max_step, concentration, max_push)
