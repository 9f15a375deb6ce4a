"""Small diffusers ``AutoencoderKL`` configurations for simulator-sized frames (64x64 and up).

Each preset is a dict of ``AutoencoderKL(**config)`` keyword arguments. The name says the
downsampling factor: ``f4`` maps 64x64 frames to 4x16x16 latents, ``f8`` to 4x8x8 (the SDXL
VAE's factor, at ~1/20 of its 84M parameters); ``f4-small`` is a 4x cheaper f4 (0.7M
parameters). ``tiny`` (factor 2) is for tests.
The SDXL VAE from a local folder remains a drop-in choice wherever a VAE folder is asked for.
"""

from __future__ import annotations

from typing import Any

from freeaction.errors import InputError


def _config(channels: tuple[int, ...], layers: int, groups: int, latent_channels: int = 4) -> dict[str, Any]:
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * len(channels),
        "up_block_types": ["UpDecoderBlock2D"] * len(channels),
        "block_out_channels": list(channels),
        "layers_per_block": layers,
        "latent_channels": latent_channels,
        "norm_num_groups": groups,
        "sample_size": 64,
        "scaling_factor": 1.0,  # replaced by 1/std of the training latents after training
    }


VAE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": _config((16, 32), 1, 8),
    "f4-small": _config((16, 32, 64), 1, 8),
    "f4": _config((32, 64, 128), 1, 16),
    "f8": _config((32, 64, 128, 128), 1, 16),
    "f8-wide": _config((64, 128, 256, 256), 2, 32),
}


def vae_preset(name: str, **overrides: Any) -> dict[str, Any]:
    """The ``AutoencoderKL`` keyword arguments of preset ``name`` (with ``overrides``)."""
    if name not in VAE_PRESETS:
        raise InputError(f"unknown VAE preset {name!r}; choose one of {sorted(VAE_PRESETS)}")
    return {**VAE_PRESETS[name], **overrides}


def downsample_factor(config: dict[str, Any]) -> int:
    return 2 ** (len(config["block_out_channels"]) - 1)
