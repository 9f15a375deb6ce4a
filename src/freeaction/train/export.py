"""``run/model``: what a finished run hands to ``generate``, the EMA model of its last checkpoint
with the VAE its latents came from. What is handed on records no paths of the machine it was
trained on: a path in its ``config.json`` (the training dataset) is kept as the folder's name."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from freeaction.data.irasim_layout import ENCODE_MARKER
from freeaction.files import recover_dir, write_dir_atomic
from freeaction.model.checkpoint import CONFIG_FILE
from freeaction.train.checkpoint import MODEL_DIR
from freeaction.vae.autoencoder import vae_folder


def portable_config(config: Any) -> Any:
    """``config`` (a checkpoint's ``config.json``) with every absolute path replaced by its last
    component (``/home/me/runs/pusher`` -> ``pusher``), so a model handed on names its dataset
    without the machine's folders."""
    if isinstance(config, dict):
        return {k: portable_config(v) for k, v in config.items()}
    if isinstance(config, list):
        return [portable_config(v) for v in config]
    if isinstance(config, str):
        for flavour in (PurePosixPath, PureWindowsPath):
            if flavour(config).is_absolute():
                return flavour(config).name
    return config


def write_portable_config(folder: Path) -> None:
    """Rewrite ``folder/config.json`` through :func:`portable_config` (same JSON layout as
    :func:`freeaction.model.save_model` writes)."""
    path = folder / CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(portable_config(config), indent=2, sort_keys=True), encoding="utf-8")


def export_model(run: Path, checkpoint: Path, vae: str | None = None) -> Path:
    """``run/model``: the checkpoint's EMA model (+ the VAE in ``vae/``), what ``generate`` loads."""
    final = Path(run) / MODEL_DIR
    recover_dir(final)

    def write(tmp: Path) -> None:
        for f in (checkpoint / MODEL_DIR).iterdir():
            shutil.copy2(f, tmp / f.name)
        write_portable_config(tmp)
        if vae:
            shutil.copytree(vae_folder(vae), tmp / "vae", ignore=shutil.ignore_patterns("train_state*", ".*"))

    return write_dir_atomic(final, write)


def vae_of_dataset(dataset: str | Path) -> str | None:
    """The VAE folder ``freeaction encode`` recorded for this dataset, if it still exists."""
    marker = Path(dataset) / ENCODE_MARKER
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
        vae = json.loads(marker.read_text(encoding="utf-8")).get("vae")
        if vae and Path(vae).is_dir():
            return str(vae)
    return None
