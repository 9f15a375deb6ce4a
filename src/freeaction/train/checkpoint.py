"""Training checkpoints: written atomically, resumed exactly, refused clearly when corrupt.

A run folder holds ``checkpoints/step-00001000/`` etc., each with

- ``model/``: ``config.json`` + ``model.safetensors`` written by
  :func:`freeaction.model.save_model` with the EMA weights and the dataset's action statistics
  (``mu_act``), so ``load_model``/``WorldModel.load`` and the sampler can use it directly;
- ``train_state.safetensors``: the raw weights (``model.*``), the EMA weights (``ema.*``), the
  optimizer tensors (``optim.<param>.<name>``) and the torch RNG states (``rng.*``);
- ``train_state.json`` (written last): step, EMA update count, optimizer hyper-parameters, the
  training config, the world size and a checksum of the tensors file.

The folder is written under a temporary name and renamed into place in one ``os.rename``, so
a checkpoint directory either is complete or does not exist; a crash (even ``kill -9``) while
saving leaves only a hidden ``.*.tmp-*`` folder (:mod:`freeaction.files`), which is ignored and
cleaned up. Existing checkpoints are never written into; old ones are pruned only after the new
one is in place.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from freeaction.errors import CheckpointError
from freeaction.files import clean_temp_files, sha256_file, write_dir_atomic
from freeaction.optimizer_state import optimizer_from_flat, optimizer_to_flat

CHECKPOINTS = "checkpoints"
STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"
MODEL_DIR = "model"
FORMAT_VERSION = 1
_STEP_DIR = re.compile(r"^step-(\d+)$")


# -- save / find / load ---------------------------------------------------------------------------
@dataclass
class TrainState:
    """What :func:`load_checkpoint` returns: everything needed to continue a run."""

    path: Path
    step: int
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor]
    ema_updates: int
    optimizer: dict[str, Any]
    rng: dict[str, torch.Tensor]
    meta: dict[str, Any]


def step_dir(run: Path, step: int) -> Path:
    return Path(run) / CHECKPOINTS / f"step-{step:08d}"


def save_checkpoint(
    run: Path,
    step: int,
    *,
    model: torch.nn.Module,
    ema_weights: dict[str, torch.Tensor],
    ema_updates: int,
    optimizer_state: dict[str, Any],
    config: dict[str, Any],
    action_stats: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
    keep: int = 3,
    keep_every: int = 0,
) -> Path:
    """Write ``run/checkpoints/step-NNNNNNNN`` atomically, then prune to the newest ``keep``; with
    ``keep_every``, the checkpoints at multiples of it stay as well (the points of a learning curve)."""
    from freeaction.model.checkpoint import save_model

    raw = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    ema = {f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema_weights.items()}
    optim_tensors, optim_meta = optimizer_to_flat(optimizer_state)
    rng = {"rng.torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["rng.torch_cuda"] = torch.cuda.get_rng_state()

    def write(tmp: Path) -> None:
        save_model(
            model,
            tmp / MODEL_DIR,
            action_stats=action_stats,
            state_dict=ema_weights,
            extra={"training": {"step": step, "weights": "ema", **(extra or {})}},
        )
        save_file({**raw, **ema, **optim_tensors, **rng}, str(tmp / STATE_TENSORS), metadata={"format": "pt"})
        meta = {
            "format": "freeaction-train-state",
            "format_version": FORMAT_VERSION,
            "step": int(step),
            "ema_updates": int(ema_updates),
            "optimizer": optim_meta,
            "config": config,
            "tensors_sha256": sha256_file(tmp / STATE_TENSORS),
            **(extra or {}),
        }
        (tmp / STATE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")

    root = Path(run) / CHECKPOINTS
    final = write_dir_atomic(step_dir(run, step), write)
    for old in list_checkpoints(run)[:-keep] if keep > 0 else []:
        if old != final and not (keep_every and _step_of(old) % keep_every == 0):
            shutil.rmtree(old, ignore_errors=True)
    clean_temp_files(root)
    return final


def list_checkpoints(run: Path) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first (a complete one has its JSON)."""
    root = Path(run) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _STEP_DIR.match(p.name))]
    return [p for _, p in sorted(found) if (p / STATE_JSON).is_file()]


def _step_of(path: Path) -> int:
    return int(path.name.removeprefix("step-"))


def latest_checkpoint(run: Path) -> Path | None:
    found = list_checkpoints(run)
    return found[-1] if found else None


def load_checkpoint(path: Path) -> TrainState:
    """Read a checkpoint folder, checking it thoroughly; a damaged one raises CheckpointError."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    meta_file, tensors_file = path / STATE_JSON, path / STATE_TENSORS
    hint = f"delete {path} to resume from the previous checkpoint, or pass --resume-from with another one"
    if not meta_file.is_file():
        raise CheckpointError(f"{path}: no {STATE_JSON}; not a complete training checkpoint ({hint})")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{meta_file}: corrupt JSON ({exc}); {hint}") from exc
    if not isinstance(meta, dict) or meta.get("format") != "freeaction-train-state" or "step" not in meta:
        raise CheckpointError(f"{meta_file}: not a freeaction training state; {hint}")
    if not tensors_file.is_file():
        raise CheckpointError(f"{path}: {STATE_TENSORS} is missing; {hint}")
    if meta.get("tensors_sha256") and sha256_file(tensors_file) != meta["tensors_sha256"]:
        raise CheckpointError(f"{tensors_file}: checksum mismatch, the file is corrupt or truncated; {hint}")
    try:
        tensors = load_file(str(tensors_file))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{tensors_file}: corrupt safetensors file ({exc}); {hint}") from exc
    model = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    if not model or not ema:
        raise CheckpointError(f"{tensors_file}: no model/EMA weights in this training state; {hint}")
    bad = [k for k, v in {**model, **ema}.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{tensors_file}: non-finite weights in {bad[:4]}; {hint}")
    try:
        optimizer = optimizer_from_flat(tensors, meta["optimizer"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{meta_file}: malformed optimizer state ({exc}); {hint}") from exc
    return TrainState(
        path=path,
        step=int(meta["step"]),
        model=model,
        ema=ema,
        ema_updates=int(meta.get("ema_updates", meta["step"])),
        optimizer=optimizer,
        rng=rng,
        meta=meta,
    )
