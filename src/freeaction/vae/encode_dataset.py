"""``freeaction encode``: pre-encode a dataset's videos into IRASim's ``latent_videos`` layout.

Each episode's frames go through the VAE (posterior mean, times its scaling factor) and are
written to the path its annotation names (``latent_video_path``, or
``latent_videos[camera].latent_video_path`` for RT-1/Bridge), by default
``latent_videos/{split}/{episode_id}/0.pt``. The file is a ``torch.save`` of a float32
(T, C, h, w) tensor, wrapped as ``{'obs': tensor}`` for Language-Table-style (2-D) annotations
as IRASim's own Language-Table latents are, bare for RT-1/Bridge; the reader
(:mod:`freeaction.data.latents`) takes both.

Files are written to a temporary name and renamed, so an episode's latent file is complete
whenever it exists. A rerun skips the episodes already encoded (resume after an
interruption). ``latent_videos/freeaction_encode.json`` records which VAE made the latents; a
rerun with a different VAE is refused unless ``overwrite=True`` (mixing two VAEs' latents in
one dataset would silently break training). Latent files that were there before (IRASim's own
pre-encoded latents) are kept as they are.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

from freeaction.data.irasim import IRASimDataset
from freeaction.data.irasim_layout import (
    ENCODE_MARKER,
    available_splits,
    flavour_of,
    is_irasim_root,
    media_path,
    save_latents,
)
from freeaction.data.paths import resolve_inside
from freeaction.errors import DataError, InputError
from freeaction.files import sha256_file, write_json_atomic
from freeaction.vae.autoencoder import encode, load_vae, vae_downsample_factor, vae_folder


def vae_identity(vae: Any, folder: str | Path | None = None) -> dict[str, Any]:
    """What identifies the VAE that made a dataset's latents: its config and weights hashes."""
    config = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
    ident: dict[str, Any] = {
        "config_sha256": hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest(),
        "scaling_factor": float(vae.config.scaling_factor),
        "latent_channels": int(vae.config.latent_channels),
        "vae": None,
        "weights_sha256": None,
    }
    if folder is not None:
        folder = vae_folder(Path(folder).resolve())
        ident["vae"] = str(folder)
        weights = sorted(folder.glob("diffusion_pytorch_model*"))
        if weights:
            ident["weights_sha256"] = sha256_file(weights[0])
    return ident


def _same_vae(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ["config_sha256", "scaling_factor"] + (["weights_sha256"] if a.get("weights_sha256") and
                                                   b.get("weights_sha256") else [])
    return all(a.get(k) == b.get(k) for k in keys)


def latent_target(root: Path, annotation: Path, split: str, camera: int) -> tuple[Path, str]:
    """(latent file path, flavour "2d"/"7d") an annotation names, checked to stay inside ``root``."""
    try:
        ann = json.loads(annotation.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{annotation}: cannot read ({exc})") from exc
    flavour = flavour_of(ann)
    rel, field = media_path(ann, "latent", camera, annotation)
    if rel is None:
        raise DataError(f"{annotation}: no {field!r} field to write latents to")
    return resolve_inside(root, rel, source=annotation, field=field), flavour


def encode_dataset(
    root: str | Path,
    vae: Any,
    splits: list[str] | None = None,
    *,
    batch_size: int = 32,
    size: tuple[int, int] | None = None,
    camera: int = 0,
    overwrite: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Encode every episode of ``splits`` (default: all) of the IRASim-layout dataset at ``root``.

    vae: a VAE folder (diffusers ``AutoencoderKL``, e.g. ``freeaction train-vae``'s output or
        the SDXL VAE) or a loaded model. Returns counts per split and the latent shape.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    if not is_irasim_root(root):
        raise DataError(f"{root}: not an IRASim-layout dataset (no annotation/); `freeaction data convert` it first")
    folder = None
    if isinstance(vae, (str, Path)):
        folder = vae
        vae = load_vae(vae, device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    ident = vae_identity(vae, folder)
    have = available_splits(root)
    splits = list(splits or have)
    unknown = [s for s in splits if s not in have]
    if unknown:
        raise InputError(f"{root}: no split(s) {unknown} (found {have})")

    marker = root / ENCODE_MARKER
    if marker.is_file() and not overwrite:
        try:
            previous = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            previous = {}
        if not _same_vae(previous, ident):
            raise InputError(
                f"{marker}: this dataset's latents were made with another VAE ({previous.get('vae')}, scaling factor "
                f"{previous.get('scaling_factor')}); pass overwrite=True (CLI --overwrite) to re-encode everything"
            )
    write_json_atomic(marker, {**ident, "encoded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2)

    factor = vae_downsample_factor(vae)
    summary: dict[str, Any] = {"root": str(root), "splits": {}, "latent_shape": None}
    t0 = time.perf_counter()
    frames_done = 0
    for split in splits:
        ds = IRASimDataset(root, split, num_frames=2, frames=True, latents=False, size=size, camera=camera)
        counts = {"encoded": 0, "skipped": 0}
        bar = tqdm(range(ds.num_episodes), desc=f"encode {split}", disable=not progress, unit="episode")
        for i in bar:
            target, flavour = latent_target(ds.root, ds.annotation_path(i), split, camera)
            if target.is_file() and not overwrite:
                counts["skipped"] += 1
                continue
            frames = ds.episode(i).frames
            h, w = frames.shape[1:3]
            if h % factor or w % factor:
                raise DataError(f"{ds.annotation_path(i)}: frames are {h}x{w}, not divisible by the VAE's "
                                f"downsampling factor {factor}; pass size=(H, W) (CLI --size HxW)")
            latents = encode(vae, frames, batch_size=batch_size).float().contiguous()
            save_latents(target, latents, flavour)
            summary["latent_shape"] = list(latents.shape[1:])
            counts["encoded"] += 1
            frames_done += len(frames)
        summary["splits"][split] = counts
    seconds = time.perf_counter() - t0
    summary.update(seconds=seconds, frames=frames_done, frames_per_second=frames_done / max(seconds, 1e-9),
                   vae=ident["vae"], scaling_factor=ident["scaling_factor"])
    return summary
