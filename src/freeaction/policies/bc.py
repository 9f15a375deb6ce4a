"""Behaviour-cloned pusher policies: a tiny CNN from the image and the task to one action chunk.

The network (:class:`BCNet`) sees five planes at the observation's size (:func:`policy_input`):
the RGB frame, a **target plane** (how close each pixel's colour is to the named object's colour,
``exp(-(d / 40)^2)`` with ``d`` the RGB distance) and a **goal plane** (1 inside the goal disc), so
the task reaches the network as an instruction would, beside the image. Three convolutions and a
spatial softmax (the expected image position of each feature map, Levine et al. 2016, "End-to-End
Training of Deep Visuomotor Policies", arXiv:1504.00702) turn them into keypoints; an MLP maps the
keypoints to the chunk the environment commits per step, ``(chunk, 2)`` displacements in units of
the simulator's limit (``tanh``, times 0.06 m = metres, the datasets' units).

A trained policy is a folder (:func:`save_bc`, :func:`load_bc`)::

    policy.json          {"format": "freeaction-bc", "net": BCNetConfig, "training": {...}}
    policy.safetensors   the network's weights (float32; no pickle)

Loading refuses a file whose tensors do not match the config's network (a missing, extra or
misshapen tensor) or are not finite, naming the file. :func:`bc_factory` makes a policy factory
from a folder; the built-ins ``bc-10``, ``bc-50``, ``bc-400`` (:data:`BUILTIN_BC`) are folders
shipped under ``assets/policies/``, trained by ``freeaction train-policy``
(:mod:`freeaction.policies.bc_train`) with ``scripts/bc_policies.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from freeaction.envs.pusher import MAX_ACTION_M
from freeaction.envs.tasks import PusherTask
from freeaction.errors import CheckpointError
from freeaction.files import atomic_path, write_json_atomic
from freeaction.shipped import ASSETS

FORMAT = "freeaction-bc"
CONFIG_FILE = "policy.json"
WEIGHTS_FILE = "policy.safetensors"
INPUT_PLANES = 5  # RGB, target, goal
TARGET_COLOR_SCALE = 40.0  # RGB distance at which the target plane falls to 1/e
BUILTIN_DIR = ASSETS / "policies"
BUILTIN_BC = ("bc-10", "bc-50", "bc-400")
"""The shipped behaviour-cloned policies, named after their number of demonstration episodes."""


@dataclass(frozen=True)
class BCNetConfig:
    """The architecture of a :class:`BCNet` and the observations it was made for."""

    chunk: int = 7  # actions per step (the env's chunk)
    size: tuple[int, int] = (64, 64)  # (H, W) of the observations
    channels: tuple[int, int, int] = (16, 32, 32)  # the three convolutions' widths; the last = keypoints
    hidden: int = 128  # width of the MLP's two hidden layers

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", tuple(int(v) for v in self.size))
        object.__setattr__(self, "channels", tuple(int(v) for v in self.channels))
        if self.chunk < 1 or self.hidden < 1 or len(self.size) != 2 or min(self.size) < 8:
            raise ValueError(f"chunk and hidden must be >= 1 and size two sides >= 8, got {self}")
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise ValueError(f"channels must be three widths >= 1, got {self.channels}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BCNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown network option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return {"chunk": self.chunk, "size": list(self.size), "channels": list(self.channels), "hidden": self.hidden}


# -- the network ----------------------------------------------------------------------------------
class SpatialSoftmax(nn.Module):
    """Feature maps (B, K, h, w) -> the expected [x, y] of each map's softmax over pixels, (B, 2K) in [-1, 1]."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        b, k, h, w = features.shape
        weights = features.flatten(2).softmax(dim=-1).view(b, k, h, w)  # (B, K, h, w)
        xs = torch.linspace(-1.0, 1.0, w, device=features.device, dtype=features.dtype)
        ys = torch.linspace(-1.0, 1.0, h, device=features.device, dtype=features.dtype)
        x = (weights.sum(dim=2) * xs).sum(dim=-1)  # (B, K)
        y = (weights.sum(dim=3) * ys).sum(dim=-1)  # (B, K)
        return torch.cat([x, y], dim=1)  # (B, 2K)


class BCNet(nn.Module):
    """Input planes (B, 5, H, W) -> an action chunk (B, chunk, 2) in units of the action limit (tanh)."""

    def __init__(self, config: BCNetConfig) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(INPUT_PLANES, c1, 5, stride=2, padding=2), nn.ReLU(),  # (B, c1, H/2, W/2)
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),  # (B, c2, H/4, W/4)
            nn.Conv2d(c2, c3, 3, padding=1),  # (B, c3, H/4, W/4)
        )
        self.keypoints = SpatialSoftmax()
        self.head = nn.Sequential(
            nn.Linear(2 * c3, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, 2 * config.chunk),
        )

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        keypoints = self.keypoints(self.features(planes))  # (B, 2 * c3)
        return torch.tanh(self.head(keypoints)).view(-1, self.config.chunk, 2)  # (B, chunk, 2)


# -- observations in, actions out -----------------------------------------------------------------
def policy_input(observation: np.ndarray, task: PusherTask) -> np.ndarray:
    """The network's input planes (5, H, W) float32 for one RGB uint8 frame (H, W, 3) and its task."""
    frame = np.asarray(observation, np.float32)
    h, w = frame.shape[:2]
    target = np.asarray(task.palette[task.target], np.float32)
    distance = np.linalg.norm(frame - target, axis=-1)  # (H, W)
    rows, cols = np.mgrid[0:h, 0:w]
    col, row = task.goal_px
    goal = np.hypot(cols - col, rows - row) <= task.goal_radius_px
    planes = [*(frame / 255.0).transpose(2, 0, 1), np.exp(-((distance / TARGET_COLOR_SCALE) ** 2)), goal]
    return np.stack(planes).astype(np.float32)


def actions_to_units(actions: np.ndarray) -> np.ndarray:
    """Displacements in metres -> the network's units (the action limit is 1)."""
    return np.asarray(actions, np.float32) / MAX_ACTION_M


class BCPolicy:
    """A :class:`BCNet` as a pusher policy: ``reset(task, seed)``, then ``act(observation)`` -> (chunk, 2) metres.

    Deterministic (the seed is unused). Observations must have the size the network was made for.
    """

    def __init__(self, net: BCNet, source: str = "") -> None:
        self.net, self.source = net.eval(), source
        self.chunk = net.config.chunk
        self.task: PusherTask | None = None

    def reset(self, task: PusherTask, seed: int = 0) -> None:
        self.task = task

    @torch.no_grad()
    def act(self, observation: np.ndarray) -> np.ndarray:
        if self.task is None:
            raise RuntimeError("reset(task, seed) the policy before act()")
        size = tuple(np.shape(observation)[:2])
        if size != self.net.config.size:
            raise ValueError(f"BC policy {self.source or ''}: made for {self.net.config.size[0]}x"
                             f"{self.net.config.size[1]} observations, got {size[0]}x{size[1]}")
        planes = torch.from_numpy(policy_input(observation, self.task))[None]  # (1, 5, H, W)
        chunk = self.net(planes)[0].numpy().astype(np.float64) * MAX_ACTION_M  # (chunk, 2) metres
        return np.clip(chunk, -MAX_ACTION_M, MAX_ACTION_M)


# -- files ----------------------------------------------------------------------------------------
def save_bc(net: BCNet, folder: str | Path, training: dict[str, Any] | None = None) -> Path:
    """Write ``folder/policy.json`` + ``folder/policy.safetensors`` (each atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous().cpu() for k, v in net.state_dict().items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    write_json_atomic(folder / CONFIG_FILE, {"format": FORMAT, "net": net.config.to_dict(),
                                             "training": training or {}}, indent=2, sort_keys=True)
    return folder


def is_bc_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a BC policy's config (its weights are checked on loading)."""
    return (Path(path) / CONFIG_FILE).is_file()


def read_bc_config(folder: str | Path) -> dict[str, Any]:
    """``policy.json`` of a BC policy folder, checked to be one."""
    folder = Path(folder)
    path = folder / CONFIG_FILE
    if not folder.is_dir():
        raise CheckpointError(f"BC policy not found: {folder} (a folder with {CONFIG_FILE} and {WEIGHTS_FILE})")
    if not path.is_file():
        raise CheckpointError(f"{folder}: no {CONFIG_FILE} (not a BC policy folder; `freeaction train-policy` "
                              "writes one)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: malformed JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT or not isinstance(config.get("net"), dict):
        raise CheckpointError(f"{path}: not a BC policy config (expected format {FORMAT!r} and a 'net' mapping)")
    return config


def bc_training_world(spec: str | Path) -> int | None:
    """The pusher world a BC policy learned in (``policy.json``'s training config), for a built-in BC
    name or a BC policy folder; None for anything else or a config that does not say."""
    folder = BUILTIN_DIR / str(spec) if str(spec) in BUILTIN_BC else Path(spec)
    if not is_bc_folder(folder):
        return None
    training = read_bc_config(folder).get("training")
    world = training.get("config", {}).get("world") if isinstance(training, dict) else None
    return world if isinstance(world, int) and not isinstance(world, bool) else None


def load_bc(folder: str | Path) -> BCNet:
    """The network stored in a BC policy folder, in eval mode; a clear error naming the file when the
    weights are unreadable or do not match the config's network."""
    folder = Path(folder)
    config = read_bc_config(folder)
    try:
        net = BCNet(BCNetConfig.from_dict(config["net"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: bad 'net' ({exc})") from exc
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{folder}: no {WEIGHTS_FILE}")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: corrupt or unreadable safetensors file ({exc})") from exc
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{weights}: does not match the network in {CONFIG_FILE} "
                              f"(missing {missing}, unexpected {extra})")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise CheckpointError(f"{weights}: {key} has shape {tuple(state[key].shape)}, the network in "
                                  f"{CONFIG_FILE} needs {shape}")
        if not state[key].is_floating_point() or not bool(torch.isfinite(state[key]).all()):
            raise CheckpointError(f"{weights}: {key} is not finite floating point")
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return net.eval()


def bc_factory(folder: str | Path, name: str | None = None) -> Callable[..., BCPolicy]:
    """A policy factory ``factory(chunk=..., **kwargs)`` for the BC policy in ``folder`` (loaded once, on
    first use). The chunk must be the network's; no other keyword is accepted. ``policy-eval`` configs
    name a folder by its path (:func:`freeaction.policies.load_factory`)."""
    folder = Path(folder)
    cache: list[BCNet] = []

    def factory(chunk: int | None = None, **kwargs: Any) -> BCPolicy:
        if kwargs:
            raise TypeError(f"BC policy {folder}: unexpected option(s) {sorted(kwargs)}")
        if not cache:
            cache.append(load_bc(folder))
        net = cache[0]
        if chunk is not None and int(chunk) != net.config.chunk:
            raise ValueError(f"BC policy {folder} acts in chunks of {net.config.chunk}, the environment asks for "
                             f"{chunk}; train one for this chunk (freeaction train-policy --chunk {chunk})")
        return BCPolicy(net, str(folder))

    factory.__name__ = f"make_{(name or folder.name).replace('-', '_')}"
    factory.__doc__ = f"The BC policy in {folder}."
    return factory


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
