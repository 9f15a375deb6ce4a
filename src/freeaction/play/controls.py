"""What a person controls in ``freeaction play``: the session settings and the actions keys make.

The page sends the *held keys* as a small vector: for the pusher a direction ``[dx, dy]`` with
each entry in [-1, 1] (x right, y down); for the arm ``[dx, dy, dz, grip]`` (base-frame x, y, z
directions and the gripper toggle, 0 open / 1 closed). :func:`raw_action` turns it into the
robot's raw action at the chosen speed, :func:`model_action` into the model's input (SPEC 1
scaler), and :func:`sim_command` into the simulator's command.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from freeaction import STANDARD_METHODS, Method
from freeaction.actions import action_scaler
from freeaction.diffusion.schedulers import SCHEDULERS
from freeaction.errors import InputError
from freeaction.play.method_options import play_method

PUSHER_MAX_STEP_M = 0.06
"""Raw pusher displacement per step at full speed (Language-Table's |dx| reaches ~0.06 m)."""
ARM_MAX_STEP_M = 0.04
"""Raw arm displacement per step at full speed (the arm data's deltas are 0-4 cm per step)."""
ARM_OSC_MAX_POS = 0.08
"""Metres per step of a normalised OSC_POSE command of 1 (:mod:`freeaction.sim.arm_policy`)."""
ARM_GRIP_DOWN = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
"""The grip site's orientation pointing straight down with yaw 0 (``arm_policy.R_DOWN``): arm
actions are deltas in the grip-site frame, so a base-frame move d is the action ``R^T d``."""

MAX_STEPS = 200
OFF = "off"
"""``method_b`` value that turns the second world-model panel off."""


@dataclass(frozen=True)
class PlaySettings:
    """Everything the page's controls set; the world-model panels are rebuilt from it."""

    method_a: str = "unguided"
    method_b: str = "freeaction"
    sampler: str = "dpm++"  # the fast default for any checkpoint; shipped models: PLAY_SAMPLERS
    steps: int = 4
    lam: float = 1.0  # FreeAction's lambda (w = lambda * m(a)), or the constant w of other guidance
    cutoff: float = 0.5  # guidance only while t > cutoff * T
    tau_min: float = 0.5
    tau_max: float = 1.5
    speed: float = 0.5  # fraction of the largest step per 10 Hz control step (per frame: / frames per step)
    fps: float = 8.0  # display rate of the panels
    seed: int = 0  # the world models' sampling seed (the same for both panels)

    def updated(self, changes: dict[str, Any]) -> PlaySettings:
        """A copy with ``changes`` applied; raises :class:`InputError` naming a bad key or value."""
        if not isinstance(changes, dict):
            raise InputError("settings must be an object of name: value")
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise InputError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
        typed: dict[str, Any] = {}
        for key, value in changes.items():
            kind = type(getattr(self, key))
            try:
                if kind is str:
                    if not isinstance(value, str):
                        raise TypeError
                    typed[key] = value
                elif kind is int:
                    typed[key] = int(value)
                else:
                    typed[key] = float(value)
            except (TypeError, ValueError):
                raise InputError(f"setting {key!r}: expected a {kind.__name__}, got {value!r}") from None
            if kind is float and not math.isfinite(typed[key]):
                raise InputError(f"setting {key!r} must be finite, got {value!r}")
        new = replace(self, **typed)
        new.validate()
        return new

    def validate(self) -> None:
        if self.method_a not in STANDARD_METHODS:
            raise InputError(f"method_a must be one of {sorted(STANDARD_METHODS)}, got {self.method_a!r}")
        if self.method_b not in (*STANDARD_METHODS, OFF):
            raise InputError(f"method_b must be one of {sorted(STANDARD_METHODS)} or {OFF!r}, got {self.method_b!r}")
        if self.sampler not in SCHEDULERS:
            raise InputError(f"sampler must be one of {sorted(SCHEDULERS)}, got {self.sampler!r}")
        if not 1 <= self.steps <= MAX_STEPS:
            raise InputError(f"steps must be 1..{MAX_STEPS}, got {self.steps}")
        if not 0.0 <= self.lam <= 20.0:
            raise InputError(f"lambda must be in [0, 20], got {self.lam}")
        if not 0.0 <= self.cutoff < 1.0:
            raise InputError(f"cutoff must be in [0, 1), got {self.cutoff}")
        if not 0.0 < self.tau_min <= self.tau_max <= 10.0:
            raise InputError(f"tau bounds must satisfy 0 < tau_min <= tau_max <= 10, got {self.tau_min}, "
                             f"{self.tau_max}")
        if not 0.0 <= self.speed <= 1.0:
            raise InputError(f"speed must be in [0, 1], got {self.speed}")
        if not 0.5 <= self.fps <= 30.0:
            raise InputError(f"fps must be in [0.5, 30], got {self.fps}")
        if not 0 <= self.seed < 2**31:
            raise InputError(f"seed must be in [0, 2^31), got {self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def method(self, name: str) -> Method:
        """The standard method ``name`` with this session's lambda, cutoff and tau bounds."""
        return play_method(name, self.lam, self.cutoff, self.tau_min, self.tau_max)


PLAY_SAMPLERS: dict[str, tuple[str, int]] = {"pusher-64": ("ddpm", 12), "arm-64": ("dpm++", 4)}
"""The page's initial sampler and steps for each shipped model: the cheapest setting measured to keep
the model card sampler's figures unguided (``benchmarks/play_quality.py``, docs/play.md): the pusher's
effector error; the arm's PSNR, SSIM and Latent L2 (it has no effector locator)."""


def initial_settings(model_name: str) -> PlaySettings:
    """The settings a new page starts with for ``model_name`` (a shipped model's name or a checkpoint)."""
    sampler, steps = PLAY_SAMPLERS.get(model_name, (PlaySettings.sampler, PlaySettings.steps))
    return PlaySettings(sampler=sampler, steps=steps)


def key_vector(message: Any, action_dim: int) -> np.ndarray:
    """The held-keys vector of a websocket ``keys`` message, validated (2 entries for 2-D models,
    4 for 7-D ones), each clipped to [-1, 1] (the gripper to [0, 1])."""
    size = 4 if action_dim == 7 else 2
    if not isinstance(message, list) or len(message) != size:
        raise InputError(f"keys must be a list of {size} numbers for this {action_dim}-D model, got {message!r}")
    try:
        v = np.array([float(x) for x in message], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"keys must be numbers, got {message!r}") from None
    if not np.isfinite(v).all():
        raise InputError("keys must be finite numbers")
    v = np.clip(v, -1.0, 1.0)
    if size == 4:
        v[3] = 1.0 if v[3] > 0.5 else 0.0
    return v


def raw_action(keys: np.ndarray, speed: float, action_dim: int) -> np.ndarray:
    """Held keys -> the raw robot action of one step (metres; the arm's gripper as 0 open / 1 closed)."""
    if action_dim == 7:
        move = keys[:3].copy()
        norm = np.linalg.norm(move)
        if norm > 1:
            move /= norm
        delta = ARM_GRIP_DOWN.T @ (move * speed * ARM_MAX_STEP_M)
        return np.concatenate([delta, np.zeros(3), keys[3:4]]).astype(np.float32)
    move = keys[:2].copy()
    norm = np.linalg.norm(move)
    if norm > 1:
        move /= norm
    action = np.zeros(action_dim, np.float32)
    action[:2] = move * speed * PUSHER_MAX_STEP_M
    return action


def model_action(raw: np.ndarray) -> np.ndarray:
    """Raw action(s) -> model space (SPEC 1: x20 deltas, x1 gripper state)."""
    return (np.asarray(raw, np.float32) * action_scaler(raw.shape[-1])).astype(np.float32)


def sim_command(raw: np.ndarray) -> np.ndarray:
    """Raw action -> the simulator's command: pusher millimetres, arm normalised OSC_POSE + grip (-1/+1)."""
    if raw.shape[-1] == 7:
        base_move = ARM_GRIP_DOWN @ raw[:3]
        grip = 1.0 if raw[6] > 0.5 else -1.0
        return np.concatenate([base_move / ARM_OSC_MAX_POS, np.zeros(3), [grip]])
    return np.asarray(raw[:2], np.float64) * 1000.0
