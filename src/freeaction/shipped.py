"""The default models shipped inside the package (``src/freeaction/assets/<name>/``).

Each is a freeaction checkpoint folder (``config.json`` + ``model.safetensors`` + ``vae/``)
with a ``MODEL_CARD.md`` and a ``shipped.json`` saying which simulator made its data (kind and
``simulator_options``, whose ``world`` is the world ``demo``, ``play`` and ``policy-eval`` make
scenes in: :func:`scene_of`) and how to sample from it. Anywhere a checkpoint path is accepted
(``freeaction.load_model``, ``WorldModel.load``, ``freeaction generate --checkpoint``, evaluation configs) the name
(``"pusher-64"``) works too, unless a file or folder of that name exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from freeaction.errors import CheckpointError, InputError

ASSETS = Path(__file__).resolve().parent / "assets"
SHIPPED_MODELS = {
    "pusher-64": "simulator pusher (2-D actions), 64x64 frames",
    "arm-64": "simulator arm (7-D actions), 64x64 frames",
}
INFO_FILE = "shipped.json"
# What to sample with when the model folder recommends nothing (no shipped.json):
IRASIM_SAMPLER = ("pndm", 50)  # IRASim's own sampler: `generate` and `evaluate`, which reproduce IRASim
QUICK_SAMPLER = ("ddim", 20)  # a quick look: `quality` and `demo`


def shipped_model_path(name: str) -> Path:
    """The asset folder of a shipped model; a clear error when the name is unknown or absent."""
    if name not in SHIPPED_MODELS:
        raise CheckpointError(f"unknown shipped model {name!r}; shipped: {sorted(SHIPPED_MODELS)}")
    folder = ASSETS / name
    if not (folder / "model.safetensors").is_file():
        have = available_models()
        raise CheckpointError(
            f"shipped model {name!r} is not in this installation ({folder} has no model.safetensors); "
            f"available: {have or 'none'}. Its model card says how to train it."
        )
    return folder


def available_models() -> list[str]:
    return [n for n in SHIPPED_MODELS if (ASSETS / n / "model.safetensors").is_file()]


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """``path`` itself when it exists, else the shipped model of that name, else ``path``."""
    p = Path(path)
    if not p.exists() and str(path) in SHIPPED_MODELS:
        return shipped_model_path(str(path))
    return p


def shipped_info(name: str) -> dict[str, Any]:
    """``shipped.json``: simulator kind and options, frame size, recommended sampler and steps."""
    path = shipped_model_path(name) / INFO_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable shipped-model description ({exc})") from exc


T = TypeVar("T")


def _from_info(checkpoint: str | os.PathLike[str], pick: Callable[[dict[str, Any]], T]) -> T | None:
    """``pick`` applied to a model folder's ``shipped.json`` (a shipped model's name works too);
    ``None`` for a folder without one, such as a training run's checkpoint; a clear error naming
    the file when it cannot be read or lacks what ``pick`` takes from it."""
    path = resolve_checkpoint(checkpoint) / INFO_FILE
    if not path.is_file():
        return None
    try:
        return pick(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: unreadable shipped-model description ({exc!r})") from exc


def recommended_sampler(checkpoint: str | os.PathLike[str]) -> tuple[str, int] | None:
    """The sampler and steps a model folder's ``shipped.json`` recommends (:func:`_from_info`)."""
    return _from_info(checkpoint, lambda info: (str(info["sampler"]), int(info["steps"])))


def scene_of(checkpoint: str | os.PathLike[str]) -> tuple[str, int] | None:
    """The simulator kind and world (``simulator_options["world"]``, 1 when absent) whose scenes a
    model folder's ``shipped.json`` names (:func:`_from_info`)."""
    return _from_info(checkpoint, lambda info: (str(info["simulator"]),
                                                int(info.get("simulator_options", {}).get("world", 1))))


def resolve_sampler(
    checkpoint: str | os.PathLike[str], sampler: str | None, steps: int | None, fallback: tuple[str, int]
) -> tuple[str, int]:
    """The sampler and steps to use: those given, else what the model folder recommends
    (:func:`recommended_sampler`), else ``fallback``; a sampler given without steps gets the
    recommended steps when it is the recommended sampler, else its usual step count."""
    from freeaction.diffusion.schedulers import DEFAULT_STEPS

    if steps is not None and steps < 1:
        raise InputError(f"--steps must be at least 1, got {steps}")
    default = recommended_sampler(checkpoint) or fallback
    sampler = sampler or default[0]
    return sampler, steps or (default[1] if sampler == default[0] else DEFAULT_STEPS.get(sampler, 50))
