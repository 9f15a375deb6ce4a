"""The world model as an environment: ``WorldModelEnv`` and its batched form ``WorldModelVectorEnv``.

Both have the simulator env's spaces: one step commits one chunk of ``chunk = num_frames - 1``
actions (the model's window) and returns the last of the ``chunk`` frames the model generates for
it. The simulator is the one the model's actions belong to: :class:`~freeaction.envs.arm.ArmEnv`
for 7-D actions (needs the ``arm`` extra), :class:`~freeaction.envs.pusher.PusherEnv` otherwise
(:func:`scene_env`); ``world`` and ``task`` are that simulator's. Reset takes the **simulator's**
first frame of the scene the seed fixes (and its task), so an episode in the world model starts
from exactly the scene the same seed gives in the simulator env; from then on the world
model's own frames are its state: the last generated latent is the context of the next chunk (as
in :func:`freeaction.diffusion.rollout.rollout`), and only the decoded frames reach the policy.

Actions are multiplied by the datasets' model-space scaler (x20 for displacements and rotations,
x1 for the arm's absolute gripper closedness) before they reach the model; the model was trained
on achieved displacements, and gets the commanded ones, as a simulator's effector would follow
them where nothing blocks it. Sampling noise of chunk ``i`` of the episode
seeded ``s`` comes from a hash of ``(s, i)``, the same for every inference method and independent
of what else shares the batch, so methods are compared on the same noise.

Success is judged by the same pixel test as in the simulator (the task's ``success_from_pixels``:
:class:`~freeaction.envs.tasks.PusherTask`, :class:`~freeaction.envs.arm_tasks.ArmTask`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from freeaction.actions import action_scaler
from freeaction.envs.arm import ARM_HORIZON, ArmEnv
from freeaction.envs.arm_tasks import ArmTask
from freeaction.envs.pusher import PusherEnv, default_horizon
from freeaction.envs.tasks import PusherTask
from freeaction.method import STANDARD_METHODS, Method
from freeaction.pipeline import WorldModel


def chunk_seed(scene_seed: int, index: int) -> int:
    """The sampler seed of chunk ``index`` of the episode whose scene seed is ``scene_seed``."""
    digest = hashlib.sha256(f"wm-chunk|{int(scene_seed)}|{int(index)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


ARM_ACTION_DIM = 7


def scene_env(action_dim: int, size: tuple[int, int], chunk: int, *, world: int = 1, horizon: int | None = None,
              task: str | None = None) -> PusherEnv | ArmEnv:
    """The simulator env whose scenes start a world model's episodes: the arm for 7-D actions, the
    pusher otherwise; ``horizon`` and ``task`` default to that env's."""
    options: dict[str, Any] = {k: v for k, v in (("horizon", horizon), ("task", task)) if v is not None}
    if action_dim == ARM_ACTION_DIM:
        return ArmEnv(world=world, size=size, chunk=chunk, **options)
    return PusherEnv(world=world, size=size, chunk=chunk, **options)


def scene_horizon(simulator: str, world: int) -> int:
    """The default episode length in chunks of :func:`scene_env`'s env: the arm's, or the pusher world's
    (:func:`freeaction.envs.pusher.default_horizon`)."""
    return ARM_HORIZON if simulator == "arm" else default_horizon(world)


def resolve_method(method: str | Method) -> Method:
    if isinstance(method, Method):
        return method
    if method not in STANDARD_METHODS:
        raise ValueError(f"unknown method {method!r}; standard methods: {sorted(STANDARD_METHODS)} (or pass a Method)")
    return STANDARD_METHODS[method]


class WorldModelScenes:
    """A batch of scenes advanced together by one world model: the latent state of each episode."""

    def __init__(self, world_model: WorldModel, method: str | Method = "unguided", sampler: str = "ddpm",
                 steps: int | None = None) -> None:
        if world_model.vae is None:
            raise ValueError("a world model environment needs the model's VAE (observations are pixels)")
        self.world_model = world_model
        self.method = resolve_method(method)
        self.sampler, self.steps = sampler, steps
        self.chunk = world_model.config.num_frames - 1
        self.scaler = torch.as_tensor(action_scaler(world_model.config.action_dim))
        self.contexts: torch.Tensor | None = None
        self.seeds: list[int] = []
        self.chunks_done = 0

    def start(self, first_frames: np.ndarray, seeds: Sequence[int]) -> None:
        """Begin one episode per first frame (N, H, W, 3) uint8; ``seeds`` are the scenes' seeds."""
        self.contexts = self.world_model.encode(np.asarray(first_frames))
        self.seeds = [int(s) for s in seeds]
        self.chunks_done = 0

    def advance(self, chunks: np.ndarray) -> np.ndarray:
        """Generate the frames (N, chunk, H, W, 3) that follow a chunk of actions (N, chunk, action_dim)
        in the simulator's units."""
        if self.contexts is None:
            raise RuntimeError("start() the scenes before advancing them")
        actions = torch.as_tensor(np.asarray(chunks, np.float32)) * self.scaler
        latents = self.world_model.generate_batch(
            self.contexts, actions, method=self.method, sampler=self.sampler, steps=self.steps,
            seeds=[chunk_seed(s, self.chunks_done) for s in self.seeds],
        )
        assert latents is not None
        self.contexts = latents[:, -1]
        self.chunks_done += 1
        # the decoder runs at the model's precision too: under bf16 it takes ~0.55x the time of
        # fp32 and moves pixels by at most 3 levels (docs/policy_evaluation.md, "Speed")
        dtype = self.world_model.autocast_dtype
        with torch.autocast(self.world_model.device.type, dtype=dtype, enabled=dtype is not None):
            return self.world_model.decode(latents[:, 1:])


class WorldModelEnv(gym.Env):
    """One episode at a time inside a world model (see the module doc). ``world`` picks the
    simulator world whose scenes start the episodes; ``horizon`` is the number of chunks; ``task``
    is the simulator's (pusher: ``push`` or ``reach``, :mod:`freeaction.envs.tasks`; arm: ``reach``
    or ``lift``, :mod:`freeaction.envs.arm_tasks`); both default to the simulator env's."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, world_model: WorldModel, method: str | Method = "unguided", sampler: str = "ddpm",
                 steps: int | None = None, *, world: int = 1, horizon: int | None = None, task: str | None = None,
                 render_mode: str | None = "rgb_array") -> None:
        self.scenes = WorldModelScenes(world_model, method, sampler, steps)
        size = world_model.frame_size
        assert size is not None
        self.action_dim = world_model.config.action_dim
        self.scene_env = scene_env(self.action_dim, size, self.scenes.chunk, world=world, horizon=horizon, task=task)
        self.chunk, self.horizon, self.render_mode = self.scenes.chunk, self.scene_env.horizon, render_mode
        self.metadata = {**self.metadata, "render_fps": self.scene_env.metadata["render_fps"]}  # the world's rate
        self.observation_space = self.scene_env.observation_space
        self.action_space = self.scene_env.action_space
        self.task: PusherTask | ArmTask | None = None
        self.frame: np.ndarray | None = None
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        scene_seed = int(seed) if seed is not None else int(self.np_random.integers(2**31))
        first, info = self.scene_env.reset(seed=scene_seed)
        self.scenes.start(first[None], [scene_seed])
        self.task, self.frame, self.steps = info["task"], first, 0
        return first.copy(), {"task": self.task}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        chunk = np.clip(np.asarray(action, np.float32).reshape(1, self.chunk, self.action_dim),
                        self.action_space.low, self.action_space.high)
        frames = self.scenes.advance(chunk)[0]
        self.steps += 1
        self.frame = frames[-1]
        success = self.task.success_from_pixels(self.frame)
        info = {"frames": frames, "success": success}
        return self.frame.copy(), float(success), False, self.steps >= self.horizon, info

    def render(self) -> np.ndarray | None:
        return None if self.frame is None else self.frame.copy()


class WorldModelVectorEnv(VectorEnv):
    """``num_envs`` world-model episodes generated in one batch per step (one sampler call per chunk).

    All episodes start together (``reset(seed=[s0, s1, ...])``, or ``seed=s`` for ``s, s+1, ...``)
    and end together after ``horizon`` steps; there is no autoreset (reset again for new scenes).
    ``infos`` carry ``task`` (object array), ``frames`` (N, chunk, H, W, 3) and ``success`` (N,).
    """

    metadata = {"autoreset_mode": AutoresetMode.DISABLED, "render_modes": []}

    def __init__(self, world_model: WorldModel, num_envs: int, method: str | Method = "unguided",
                 sampler: str = "ddpm", steps: int | None = None, *, world: int = 1,
                 horizon: int | None = None, task: str | None = None) -> None:
        self.scenes = WorldModelScenes(world_model, method, sampler, steps)
        size = world_model.frame_size
        assert size is not None
        self.num_envs, self.chunk = int(num_envs), self.scenes.chunk
        self.action_dim = world_model.config.action_dim
        self.scene_envs = [scene_env(self.action_dim, size, self.chunk, world=world, horizon=horizon, task=task)
                           for _ in range(self.num_envs)]
        self.horizon = self.scene_envs[0].horizon
        self.single_observation_space = self.scene_envs[0].observation_space
        self.single_action_space = self.scene_envs[0].action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.tasks: list[PusherTask | ArmTask] = []
        self.steps = 0

    def reset(self, *, seed: int | Sequence[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if seed is None:
            seeds = [int(s) for s in np.random.default_rng().integers(2**31, size=self.num_envs)]
        elif isinstance(seed, int | np.integer):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = [int(s) for s in seed]
        if len(seeds) != self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} environments")
        firsts, self.tasks = [], []
        for env, s in zip(self.scene_envs, seeds, strict=True):
            first, info = env.reset(seed=s)
            firsts.append(first)
            self.tasks.append(info["task"])
        obs = np.stack(firsts)
        self.scenes.start(obs, seeds)
        self.steps = 0
        return obs, {"task": np.array(self.tasks, dtype=object)}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.tasks:
            raise RuntimeError("call reset() before step()")
        if self.steps >= self.horizon:
            raise RuntimeError("the episodes are over (horizon reached): call reset()")
        chunks = np.clip(np.asarray(actions, np.float32).reshape(self.num_envs, self.chunk, self.action_dim),
                         self.single_action_space.low, self.single_action_space.high)
        frames = self.scenes.advance(chunks)
        self.steps += 1
        obs = frames[:, -1]
        success = np.array([t.success_from_pixels(f) for t, f in zip(self.tasks, obs, strict=True)])
        truncated = np.full(self.num_envs, self.steps >= self.horizon)
        return (obs.copy(), success.astype(np.float64), np.zeros(self.num_envs, bool), truncated,
                {"frames": frames, "success": success, "task": np.array(self.tasks, dtype=object)})
