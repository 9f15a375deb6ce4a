"""The true simulator beside the world model: a fresh scene, its first frame, one frame per action.

``open_scene(kind, seed, size)`` builds a pusher or arm scene drawn from ``seed`` (the same draw as
episode 0 of a dataset made with that seed). The arm's robosuite simulator is one per process, so
arm scenes take turns through a lock and each keeps its own physics state between steps.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from freeaction.sim import episode_rng, load_kind


class Scene(Protocol):
    """A simulator episode a person steers."""

    def first_frame(self) -> np.ndarray:
        """The scene's frame before any action."""
        ...

    def step(self, command: np.ndarray) -> np.ndarray: ...


class PusherScene:
    """The pusher's table: blocks and the effector disc (:mod:`freeaction.sim.pusher`)."""

    def __init__(self, seed: int, size: tuple[int, int], world: int = 1) -> None:
        pusher = load_kind("pusher")
        rng = episode_rng(seed, 0)
        w = pusher.WORLDS[world]
        n_blocks = int(rng.integers(w.blocks[0], w.blocks[1] + 1))
        self.sim = pusher.PusherSim(rng, pusher.TABLE_H_MM * size[1] / size[0], pusher.TABLE_H_MM, n_blocks, w)
        self.renderer = pusher.PusherRenderer(size, self.sim.blocks)
        self._first = self.renderer.draw(self.sim.ee_pos, self.sim.block_poses())

    def first_frame(self) -> np.ndarray:
        return self._first

    def step(self, command: np.ndarray) -> np.ndarray:
        """One control step with a displacement command in millimetres; the new frame."""
        self.sim.step(np.asarray(command, np.float64))
        return self.renderer.draw(self.sim.ee_pos, self.sim.block_poses())


_ARM_LOCK = threading.Lock()


class ArmScene:
    """The robosuite Panda scene (:mod:`freeaction.sim.arm`), sharing the process's one simulator."""

    def __init__(self, seed: int, size: tuple[int, int], world: int = 1) -> None:
        self.arm = load_kind("arm")
        self.size = size
        self.supersample = 2
        rng = episode_rng(seed, 0)
        self.world = self.arm.WORLDS[world]
        camera = self.arm.draw_camera(rng, 1.0, self.world)
        with _ARM_LOCK:
            sim = self.arm.get_sim()
            sim.reset(rng, camera, self.world)
            self.camera = camera
            self._first = sim.render(size, self.supersample)
            self._state = sim.physics_state()

    def first_frame(self) -> np.ndarray:
        return self._first

    def grip(self) -> tuple[np.ndarray, float]:
        """Where the gripper is now: the grip site's position in the robot's base frame (metres) and
        its closedness (0 open, 1 closed)."""
        with _ARM_LOCK:
            sim = self.arm.get_sim()
            sim.restore(self._state, self.camera, self.world)
            base_pos, base_rot = sim.base_pose()
            return base_rot.T @ (sim.observe().pos - base_pos), sim.gripper_state()

    def step(self, command: np.ndarray) -> np.ndarray:
        """One control step with a normalised OSC_POSE command plus gripper; the new frame."""
        with _ARM_LOCK:
            sim = self.arm.get_sim()
            sim.restore(self._state, self.camera, self.world)
            sim.step(np.asarray(command, np.float64))
            frame = sim.render(self.size, self.supersample)
            self._state = sim.physics_state()
        return frame


SCENES = {"pusher": PusherScene, "arm": ArmScene}


def free_renderers(kind: str) -> None:
    """Free the ``kind`` simulator's offscreen GL contexts. The arm's are current on the thread that
    rendered with them, so call this from that thread; the next frame makes new ones on its own
    thread. The pusher draws with numpy and holds none."""
    if kind == "arm":
        with _ARM_LOCK:
            load_kind("arm").get_sim().close()


def frames_per_step(kind: str | None, world: int = 1) -> int:
    """Video frames per 10 Hz control step in ``kind``'s ``world``: 2 in pusher world 3 (filmed at 20
    frames/s), else 1 (also with no simulator)."""
    return int(load_kind("pusher").WORLDS[world].frames_per_step) if kind == "pusher" else 1


def open_scene(kind: str, seed: int, size: tuple[int, int], world: int = 1) -> Scene:
    """A fresh ``kind`` scene (``pusher`` or ``arm``) drawn from ``seed`` at frame ``size`` (H, W)."""
    return SCENES[kind](seed, size, world)
