"""Load a diffusers ``AutoencoderKL`` from a local folder; encode frames, decode latents.

Latents are *scaled*: ``encode`` multiplies by the VAE's ``scaling_factor`` (0.13025 for the
SDXL VAE), as IRASim's pre-encoded ``latent_videos`` are, and ``decode`` divides by it.
Nothing is downloaded: the folder (or its ``vae/`` subfolder, as in a full SDXL checkout or a
freeaction model folder) must hold ``config.json`` and the weights. A shipped model's name
(``pusher-64``) stands for its folder, as it does for checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from freeaction.errors import CheckpointError
from freeaction.shipped import SHIPPED_MODELS, resolve_checkpoint


def vae_folder(path: str | os.PathLike[str]) -> Path:
    """The AutoencoderKL folder ``path`` stands for: itself, or its ``vae/`` subfolder when it holds
    no VAE weights of its own (a full SDXL checkout, a freeaction model folder, a shipped name)."""
    folder = resolve_checkpoint(path)
    if (folder / "vae" / "config.json").exists() and not any(folder.glob("diffusion_pytorch_model*")):
        return folder / "vae"
    return folder


def load_vae(path: str | os.PathLike[str], device: str | torch.device = "cpu"):
    """``AutoencoderKL.from_pretrained`` on a local folder (or a shipped model's name), with errors
    that say what is missing."""
    from diffusers import AutoencoderKL

    folder = vae_folder(path)
    if not folder.is_dir():
        raise CheckpointError(
            f"VAE folder not found: {path} (give a local diffusers AutoencoderKL folder or a shipped model's "
            f"name: {', '.join(SHIPPED_MODELS)})"
        )
    if not (folder / "config.json").exists():
        raise CheckpointError(f"{folder}: no config.json; expected a diffusers AutoencoderKL folder")
    weights = [p for p in folder.iterdir() if p.name.startswith("diffusion_pytorch_model")]
    if not weights:
        raise CheckpointError(f"{folder}: no diffusion_pytorch_model.safetensors (or .bin) weights")
    try:
        vae = AutoencoderKL.from_pretrained(
            str(folder), local_files_only=True, use_safetensors=any(p.suffix == ".safetensors" for p in weights)
        )
    except Exception as exc:  # diffusers raises several types for bad folders
        raise CheckpointError(f"{folder}: cannot load the VAE ({type(exc).__name__}: {exc})") from exc
    return vae.to(device).eval()


def vae_downsample_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


@torch.no_grad()
def encode(
    vae,
    frames: np.ndarray | torch.Tensor,
    batch_size: int = 32,
    sample: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """RGB uint8 (N, H, W, 3) -> scaled latents (N, C, H/f, W/f), float32 on the CPU.

    Uses the posterior mean by default (deterministic); ``sample=True`` draws from it.
    """
    frames = torch.from_numpy(np.array(frames, copy=True)) if not torch.is_tensor(frames) else frames
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {tuple(frames.shape)}")
    device = next(vae.parameters()).device
    out = []
    for i in range(0, len(frames), batch_size):
        x = frames[i : i + batch_size].to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        dist = vae.encode(x).latent_dist
        z = dist.sample(generator) if sample else dist.mean
        out.append((z * vae.config.scaling_factor).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def decode(vae, latents: torch.Tensor, batch_size: int = 32, quantize: str = "round") -> np.ndarray:
    """Scaled latents (N, C, h, w) -> RGB uint8 frames (N, H, W, 3).

    ``quantize`` turns the decoder's [-1, 1] output into 8 bits: ``"round"`` (to the nearest
    level) or ``"truncate"`` (IRASim's ``((x / 2 + 0.5).clamp(0, 1) * 255).to(uint8)``, which
    drops the fraction, so frames come out half a level darker on average).
    """
    if quantize not in QUANTIZERS:
        raise ValueError(f"quantize must be one of {sorted(QUANTIZERS)}, got {quantize!r}")
    device = next(vae.parameters()).device
    dtype = next(vae.parameters()).dtype
    out = []
    for i in range(0, len(latents), batch_size):
        z = latents[i : i + batch_size].to(device, dtype) / vae.config.scaling_factor
        x = vae.decode(z).sample.float()
        out.append(QUANTIZERS[quantize](x).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def quantize_round(x: torch.Tensor) -> torch.Tensor:
    """Decoder output in [-1, 1] -> uint8, rounded to the nearest level."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def quantize_truncate(x: torch.Tensor) -> torch.Tensor:
    """Decoder output in [-1, 1] -> uint8 as IRASim's scripts make it: scaled to [0, 255], fraction dropped."""
    return ((x / 2.0 + 0.5).clamp(0, 1) * 255).to(torch.uint8)


QUANTIZERS = {"round": quantize_round, "truncate": quantize_truncate}
"""The ways :func:`decode` can turn decoder output into 8-bit frames, by name."""
