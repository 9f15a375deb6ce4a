"""freeaction: action-conditioned robot video world models with FreeAction's training-free
guidance and noise truncation.

Main entry points: :func:`load_model` (IRASim or freeaction checkpoints), :class:`WorldModel`
(generate videos), :mod:`freeaction.guidance`, :mod:`freeaction.noise`,
:func:`freeaction.diffusion.sampler.sample` and :func:`freeaction.diffusion.rollout.rollout`.
"""

from freeaction.methods import STANDARD_METHODS, Method
from freeaction.model import ModelConfig, VideoDiT, load_model, preset, save_model
from freeaction.pipeline import WorldModel

__version__ = "0.1.0"

__all__ = [
    "STANDARD_METHODS",
    "Method",
    "ModelConfig",
    "VideoDiT",
    "WorldModel",
    "__version__",
    "load_model",
    "preset",
    "save_model",
]
