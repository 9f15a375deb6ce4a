"""``run/model``: what a finished run hands to ``generate``, the EMA model of its last checkpoint
with the VAE its latents came from."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from freeaction.data.irasim_layout import ENCODE_MARKER
from freeaction.files import recover_dir, write_dir_atomic
from freeaction.train.checkpoint import MODEL_DIR
from freeaction.vae.autoencoder import vae_folder


def export_model(run: Path, checkpoint: Path, vae: str | None = None) -> Path:
    """``run/model``: the checkpoint's EMA model (+ the VAE in ``vae/``), what ``generate`` loads."""
    final = Path(run) / MODEL_DIR
    recover_dir(final)

    def write(tmp: Path) -> None:
        for f in (checkpoint / MODEL_DIR).iterdir():
            shutil.copy2(f, tmp / f.name)
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
