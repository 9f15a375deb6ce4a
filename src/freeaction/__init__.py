"""freeaction: action-conditioned robot video world models with FreeAction's training-free
guidance and noise truncation.

Main entry points: :func:`load_model` (IRASim or freeaction checkpoints), :class:`WorldModel`
(generate videos), :mod:`freeaction.method` (guidance, truncation, :class:`Method`),
:func:`freeaction.diffusion.sampler.sample` and :func:`freeaction.diffusion.rollout.rollout`.

The names below are imported on first use, so ``import freeaction.sim`` (simulator worker
processes) or the CLI's start-up do not pay for torch and diffusers until they need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "STANDARD_METHODS": "freeaction.method",
    "Method": "freeaction.method",
    "ModelConfig": "freeaction.model",
    "VideoDiT": "freeaction.model",
    "load_model": "freeaction.model",
    "preset": "freeaction.model",
    "save_model": "freeaction.model",
    "WorldModel": "freeaction.pipeline",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'freeaction' has no attribute {name!r}")
