"""Train a behaviour-cloned pusher policy (:mod:`freeaction.policies.bc`) on simulator demonstrations.

Demonstrations (:func:`collect_demonstrations`): a teacher policy (the scripted ``expert`` by
default, any name :func:`freeaction.policies.load_factory` accepts) plays ``episodes`` episodes in
:class:`~freeaction.envs.PusherEnv` on the scenes seeded ``DEMO_SEED_START + e``, far from the seeds
``policy-eval`` and the documentation's tables use (below 10 000). Every step of every episode
gives one example: the input planes of the observation the teacher saw and the chunk it committed.

Training (:func:`train_bc`) is plain regression, read in one sitting: per step the learning rate
(warm-up then cosine), a batch drawn from a generator seeded by (seed, step), the mean squared
error of the predicted chunk in units of the action limit, backward, clipping, AdamW, the log. The
run folder gets the policy (``policy.json`` + ``policy.safetensors``) and ``log.jsonl``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.config_files import config_from_mapping, option
from freeaction.envs.pusher import PusherEnv
from freeaction.envs.tasks import TASK_KINDS
from freeaction.errors import InputError
from freeaction.policies import load_factory
from freeaction.policies.bc import BCNet, BCNetConfig, actions_to_units, parameter_count, policy_input, save_bc
from freeaction.sim.pusher import WORLDS
from freeaction.training import JsonLog, learning_rate, step_seed

DEMO_SEED_START = 1_000_000
"""Scene seed of demonstration episode 0; episode ``e`` is ``DEMO_SEED_START + e``."""
LOG_FILE = "log.jsonl"


@dataclass
class BCTrainConfig:
    """Options of ``freeaction train-policy`` (see the module doc); the defaults are ``bc-50``'s recipe."""

    out: str = option("", help="folder the policy is written to")
    episodes: int = option(50, help="demonstration episodes")
    teacher: str = option("expert", help="the policy that demonstrates (a built-in name or module:factory)")
    world: int = option(1, help="the pusher world of the scenes (1, 2 or 3)")
    task: str = option("push", help="push or reach")
    horizon: int | None = option(None, help="chunks per demonstration episode (default: the world's, 3 at "
                                            "10 frames/s, 6 in world 3)")
    chunk: int = option(7, help="actions per chunk (the world model's window)")
    size: tuple[int, int] = option((64, 64), help="observation size HxW")
    channels: tuple[int, int, int] = option((16, 32, 32), help="widths of the three convolutions")
    hidden: int = option(128, help="width of the MLP's hidden layers")
    steps: int = option(1000, help="optimizer steps")
    batch_size: int = option(32, help="examples per step")
    lr: float = option(3e-3, help="peak AdamW learning rate (cosine decay to a tenth)")
    warmup_steps: int = option(50, help="linear warm-up steps")
    weight_decay: float = option(1e-4, help="AdamW weight decay")
    augment: bool = option(True, help="train on the examples' mirror images and (square frames) transposes too")
    seed: int = option(0, help="seed of the initial weights and the batches")
    progress: bool = option(True, help="show a progress bar")

    def __post_init__(self) -> None:
        self.size = tuple(int(v) for v in self.size)  # type: ignore[assignment]
        self.channels = tuple(int(v) for v in self.channels)  # type: ignore[assignment]

    def validate(self) -> None:
        problems = []
        if not self.out:
            problems.append("out is required")
        for name in ("episodes", "horizon", "chunk", "hidden", "steps", "batch_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.world not in WORLDS:
            problems.append(f"world must be one of {sorted(WORLDS)}, got {self.world}")
        if self.task not in TASK_KINDS:
            problems.append(f"task must be one of {list(TASK_KINDS)}, got {self.task!r}")
        if len(self.size) != 2 or min(self.size) < 8:
            problems.append(f"size must be HxW with sides >= 8, got {self.size}")
        if len(self.channels) != 3 or min(self.channels) < 1:
            problems.append(f"channels must be three widths >= 1, got {list(self.channels)}")
        if self.lr <= 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        for name in ("warmup_steps", "weight_decay"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if problems:
            raise InputError("invalid train-policy options: " + "; ".join(problems))
        try:
            load_factory(self.teacher)
        except ValueError as exc:
            raise InputError(f"train-policy teacher: {exc}") from exc

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "options") -> BCTrainConfig:
        return config_from_mapping(cls, d, origin=source, what="train-policy option")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "size": list(self.size), "channels": list(self.channels)}

    def net_config(self) -> BCNetConfig:
        return BCNetConfig(chunk=self.chunk, size=self.size, channels=self.channels, hidden=self.hidden)


@dataclass
class Demonstrations:
    """Examples of a teacher: input planes (N, 5, H, W) stored as uint8 (x255) and chunks (N, chunk, 2)
    in units of the action limit; ``successes`` of ``episodes`` episodes ended in the goal (state)."""

    planes: np.ndarray
    actions: np.ndarray
    episodes: int
    successes: int


def collect_demonstrations(cfg: BCTrainConfig) -> Demonstrations:
    """``cfg.episodes`` teacher episodes in the simulator, every step an example (see the module doc)."""
    from tqdm.auto import tqdm

    env = PusherEnv(world=cfg.world, size=cfg.size, chunk=cfg.chunk, horizon=cfg.horizon, task=cfg.task)
    factory = load_factory(cfg.teacher)
    planes, actions, successes = [], [], 0
    for e in tqdm(range(cfg.episodes), disable=not cfg.progress, unit="episode", dynamic_ncols=True,
                  desc=f"demonstrations by {cfg.teacher}"):
        obs, info = env.reset(seed=DEMO_SEED_START + e)
        teacher = factory(cfg.chunk)
        teacher.reset(info["task"], DEMO_SEED_START + e)
        done = False
        while not done:
            chunk = np.asarray(teacher.act(obs), np.float32)
            planes.append(np.round(policy_input(obs, info["task"]) * 255).astype(np.uint8))
            actions.append(actions_to_units(chunk))
            obs, _, terminated, truncated, step = env.step(chunk)
            done = terminated or truncated
        successes += bool(step["success_state"])
    return Demonstrations(np.stack(planes), np.stack(actions).clip(-1.0, 1.0), cfg.episodes, successes)


def symmetric_copies(planes: torch.Tensor, actions: torch.Tensor,
                     g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Each example (planes (B, 5, H, W), chunk (B, chunk, 2) as [dx, dy]) mirrored left-right and/or
    top-bottom and, for square frames, transposed, each with probability 1/2: the table, the push
    physics and the expert are symmetric under these, so the mirrored chunk is the mirrored scene's."""
    planes, actions = planes.clone(), actions.clone()
    flips = torch.rand(3, len(planes), generator=g) < 0.5  # (3, B): columns, rows, transpose
    for axis, (mask, dim) in enumerate(zip(flips[:2], (-1, -2), strict=True)):
        planes[mask] = planes[mask].flip(dim)
        actions[mask, :, axis] = -actions[mask, :, axis]
    if planes.shape[-1] == planes.shape[-2]:
        mask = flips[2]
        planes[mask] = planes[mask].transpose(-1, -2)
        actions[mask] = actions[mask].flip(-1)
    return planes, actions


def train_bc(cfg: BCTrainConfig) -> dict[str, Any]:
    """Collect demonstrations, fit a :class:`BCNet`, write the policy into ``cfg.out``; returns a summary
    (``first_loss``, ``loss``: mean loss of the first and last 50 steps, or quarter of the steps when
    fewer; ``demo_success``, ...)."""
    from tqdm.auto import tqdm

    cfg.validate()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    demos = collect_demonstrations(cfg)
    torch.manual_seed(cfg.seed)
    net = BCNet(cfg.net_config())
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    planes, actions = torch.from_numpy(demos.planes), torch.from_numpy(demos.actions)
    losses: list[float] = []
    bar = tqdm(total=cfg.steps, disable=not cfg.progress, unit="step", dynamic_ncols=True,
               desc=f"train-policy ({len(planes)} examples)")
    (out / LOG_FILE).unlink(missing_ok=True)
    with JsonLog(out / LOG_FILE) as log:
        try:
            for step in range(cfg.steps):
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, cfg.lr, cfg.warmup_steps, cfg.steps, 0.1)
                g = torch.Generator().manual_seed(step_seed(cfg.seed, step))
                idx = torch.randint(0, len(planes), (cfg.batch_size,), generator=g)
                x, y = planes[idx].float() / 255.0, actions[idx]
                if cfg.augment:
                    x, y = symmetric_copies(x, y, g)
                loss = torch.nn.functional.mse_loss(net(x), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                if (step + 1) % 25 == 0 or step + 1 == cfg.steps:
                    log.write({"step": step + 1, "loss": losses[-1], "lr": optimizer.param_groups[0]["lr"]})
                    bar.set_postfix(loss=f"{np.mean(losses[-25:]):.4f}")
                bar.update(1)
        finally:
            bar.close()
    window = max(1, min(50, len(losses) // 4))
    summary = {"examples": len(planes), "episodes": demos.episodes, "demo_success": demos.successes / demos.episodes,
               "first_loss": float(np.mean(losses[:window])), "loss": float(np.mean(losses[-window:])),
               "parameters": parameter_count(net), "seconds": time.perf_counter() - t0}
    net.eval()
    save_bc(net, out, {"config": {k: v for k, v in cfg.to_dict().items() if k not in ("out", "progress")},
                       "demo_seed_start": DEMO_SEED_START, **summary})
    return {**summary, "out": str(out)}
