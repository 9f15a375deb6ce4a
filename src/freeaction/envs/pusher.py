"""``PusherEnv``: the pusher simulator as a gymnasium environment with a push-to-goal task.

One ``step`` commits one **action chunk**: ``chunk`` effector displacements (metres, ``[dx, dy]``
per frame, the datasets' units: x along image columns, y along image rows), executed open loop
at the world's frame rate (10 Hz; 20 Hz in world 3, where a frame is half a control step). The
observation is the last frame of the chunk (RGB uint8 at the world model's frame size) and
``info["frames"]`` holds all ``chunk`` new frames. The chunk length defaults to a world model's
window (``num_frames - 1``, 7 for ``pusher-64``), the unit a world model generates
in, so a policy that outputs chunks (Diffusion Policy, ACT) is asked once per generated window in
both environments and the two see exactly the same decision points.

An episode lasts ``horizon`` chunks (it is then truncated; it never terminates early, so every
episode, in the simulator or in a world model, is judged after the same number of steps). The
default, :func:`default_horizon`, is 3 chunks of a 10 Hz world and as many seconds in a faster one
(6 chunks in world 3). Success
is judged on the last frame from pixels (``info["success"]``, :class:`~freeaction.envs.tasks.PusherTask`);
``info["success_state"]`` is the simulator's true state-based answer for reference.

Seeds fix the scene: ``reset(seed=s)`` draws blocks, effector start and task from ``s`` alone.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from freeaction.envs.tasks import TASK_KINDS, PusherTask, draw_task
from freeaction.sim.pusher import MAX_STEP_MM, TABLE_H_MM, WORLDS, PusherRenderer, PusherSim

DEFAULT_CHUNK = 7
DEFAULT_HORIZON = 3  # chunks, in a world filmed at 10 frames/s
MAX_ACTION_M = MAX_STEP_MM / 1000.0


def default_horizon(world: int) -> int:
    """Chunks per episode by default: :data:`DEFAULT_HORIZON` at 10 frames/s, the same time in a world
    filmed faster (its chunks span fewer seconds)."""
    return DEFAULT_HORIZON * WORLDS[world].frames_per_step


def action_space(chunk: int) -> gym.spaces.Box:
    """A chunk of ``chunk`` effector displacements in metres, each axis within the simulator's limit."""
    return gym.spaces.Box(-MAX_ACTION_M, MAX_ACTION_M, shape=(chunk, 2), dtype=np.float32)


def observation_space(size: tuple[int, int]) -> gym.spaces.Box:
    return gym.spaces.Box(0, 255, shape=(int(size[0]), int(size[1]), 3), dtype=np.uint8)


class PusherEnv(gym.Env):
    """The pusher simulator: image observations, chunked displacement actions, a push-to-goal task.

    ``world``: the simulator's world (1, 2 or 3, :data:`freeaction.sim.pusher.WORLDS`).
    ``task``: ``push`` (a named block into a goal disc) or ``reach`` (the effector into one).
    ``size``: (H, W) of the observations. ``chunk``: actions per step. ``horizon``: steps per episode
    (default: :func:`default_horizon`).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, world: int = 1, size: tuple[int, int] = (64, 64), chunk: int = DEFAULT_CHUNK,
                 horizon: int | None = None, task: str = "push", render_mode: str | None = "rgb_array") -> None:
        if task not in TASK_KINDS:
            raise ValueError(f"task must be one of {TASK_KINDS}, got {task!r}")
        if world not in WORLDS:
            raise ValueError(f"world must be one of {sorted(WORLDS)}, got {world!r}")
        self.world, self.size = int(world), (int(size[0]), int(size[1]))
        self.metadata = {**self.metadata, "render_fps": WORLDS[self.world].frame_rate}
        self.chunk = int(chunk)
        self.horizon = default_horizon(self.world) if horizon is None else int(horizon)
        self.render_mode, self.task_kind = render_mode, task
        self.observation_space = observation_space(self.size)
        self.action_space = action_space(self.chunk)
        self.sim: PusherSim | None = None
        self.renderer: PusherRenderer | None = None
        self.task: PusherTask | None = None
        self.frame: np.ndarray | None = None
        self.steps = 0

    # -- scene ------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        sim = self.sim
        assert sim is not None and self.renderer is not None
        return {"ee_px": self.renderer.to_px(sim.ee_pos).tolist(),
                "blocks_px": {b.color: self.renderer.to_px(np.array(b.body.position)).tolist() for b in sim.blocks}}

    def _target_xy(self) -> np.ndarray:
        assert self.sim is not None and self.task is not None
        if self.task.target == "effector":
            return self.sim.ee_pos
        return next(np.array(b.body.position) for b in self.sim.blocks if b.color == self.task.target)

    def _draw(self) -> np.ndarray:
        assert self.sim is not None and self.renderer is not None
        return self.renderer.draw(self.sim.ee_pos, self.sim.block_poses())

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """A new scene and task, fixed by ``seed`` (a random one when None)."""
        super().reset(seed=seed)
        rng = self.np_random
        world = WORLDS[self.world]
        n_blocks = int(rng.integers(world.blocks[0], world.blocks[1] + 1))
        height, width = self.size
        self.sim = PusherSim(rng, TABLE_H_MM * width / height, TABLE_H_MM, n_blocks, world)
        self.renderer = PusherRenderer(self.size, self.sim.blocks)
        self.task = draw_task(self.sim, rng, self.renderer.px_per_mm, self.task_kind)
        self.steps = 0
        self.frame = self._draw()
        return self.frame.copy(), {"task": self.task, "state": self._state()}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Commit one chunk (chunk, 2) of displacements in metres; observation = the chunk's last frame."""
        if self.sim is None or self.task is None:
            raise RuntimeError("call reset() before step()")
        chunk = np.clip(np.asarray(action, np.float64).reshape(self.chunk, 2), -MAX_ACTION_M, MAX_ACTION_M)
        frames = np.empty((self.chunk, *self.size, 3), np.uint8)
        ee_px, target_px = [], []
        for t, command in enumerate(chunk):
            self.sim.step(command * 1000.0)
            frames[t] = self._draw()
            state = self._state()
            ee_px.append(state["ee_px"])
            target_px.append(state["ee_px"] if self.task.target == "effector" else state["blocks_px"][self.task.target])
        self.steps += 1
        self.frame = frames[-1]
        success = self.task.success_from_pixels(self.frame)
        info = {"frames": frames, "success": success, "success_state": self.task.success_from_state(self._target_xy()),
                "ee_px": np.asarray(ee_px), "target_px": np.asarray(target_px), "state": self._state()}
        return self.frame.copy(), float(success), False, self.steps >= self.horizon, info

    def render(self) -> np.ndarray | None:
        return None if self.frame is None else self.frame.copy()
