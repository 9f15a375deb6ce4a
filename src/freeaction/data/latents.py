"""Load pre-encoded latent videos safely (``torch.load(weights_only=True)``, never unpickling).

IRASim stores one file per episode: either a tensor (RT-1/Bridge) or a dict ``{'obs': tensor}``
(Language-Table), (T, C, h, w) float, already multiplied by the VAE scaling factor.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from freeaction.errors import DataError

ENCODE_HINT = "run `freeaction encode DATASET` to pre-encode the videos into latent_videos/"


def load_latent_file(path: Path) -> torch.Tensor:
    """The (T, C, h, w) float32 latent tensor stored in ``path``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: latent file is missing; {ENCODE_HINT}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot load latents safely with weights_only=True ({exc})") from exc
    if isinstance(obj, dict):
        if "obs" not in obj:
            raise DataError(f"{path}: latent dict has keys {sorted(obj)}, expected 'obs'")
        obj = obj["obs"]
    if not isinstance(obj, torch.Tensor) or obj.ndim != 4:
        shape = tuple(obj.shape) if isinstance(obj, torch.Tensor) else type(obj).__name__
        raise DataError(f"{path}: expected a (T, C, h, w) latent tensor, got {shape}")
    return obj.float()
