"""A tiny random diffusers AutoencoderKL (8x downsampling, 4 latent channels) saved for tests."""

from __future__ import annotations

from pathlib import Path

import torch


def make_vae(folder: Path, seed: int = 0, width: int = 4) -> Path:
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(width,) * 4,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=width // 2,
    )
    vae.save_pretrained(folder)
    return folder
