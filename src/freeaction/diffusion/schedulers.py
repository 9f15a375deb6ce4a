"""Diffusers schedulers configured for IRASim's diffusion (docs/method.md §2).

1000 training steps, linear betas 1e-4 to 0.02, epsilon prediction. ``"pndm"`` is IRASim's own
sampler exactly: diffusers' PNDM with the PRK warm-up (50 inference steps = 59 model calls),
``timestep_spacing="linspace"`` and ``steps_offset=0`` (IRASim builds it from a scheduler config
with those values), ``set_alpha_to_one=False``.
"""

from __future__ import annotations

from typing import Any

from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)

NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 1e-4
BETA_END = 0.02

_COMMON: dict[str, Any] = {
    "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
    "beta_start": BETA_START,
    "beta_end": BETA_END,
    "beta_schedule": "linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "linspace",
    "steps_offset": 0,
}

SCHEDULERS: dict[str, tuple[type, dict[str, Any]]] = {
    "pndm": (PNDMScheduler, {"skip_prk_steps": False, "set_alpha_to_one": False}),
    "ddim": (DDIMScheduler, {"set_alpha_to_one": False, "clip_sample": False}),
    "ddpm": (DDPMScheduler, {"clip_sample": False, "variance_type": "fixed_small"}),
    "dpm++": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "unipc": (UniPCMultistepScheduler, {"solver_order": 2}),
}

DEFAULT_STEPS = {"pndm": 50, "ddim": 50, "ddpm": 1000, "dpm++": 25, "unipc": 25}


def make_scheduler(name: str, **overrides: Any) -> Any:
    """A fresh diffusers scheduler by short name: pndm, ddim, ddpm, dpm++ (DPM-Solver++), unipc."""
    key = name.lower().replace("dpmsolver++", "dpm++").replace("dpm-solver++", "dpm++")
    if key not in SCHEDULERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SCHEDULERS)}")
    cls, extra = SCHEDULERS[key]
    return cls(**{**_COMMON, **extra, **overrides})


def fresh_copy(scheduler: Any) -> Any:
    """Schedulers keep per-run state (PNDM's history, DPM's model outputs): copy before each run."""
    return type(scheduler).from_config(scheduler.config)
