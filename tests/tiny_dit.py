"""A tiny trajectory-condition DiT with random non-zero weights (2-D actions, 8x8 latents, 6 frames)."""

from __future__ import annotations

import torch

from freeaction import VideoDiT, preset


def random_trajectory_dit(seed: int = 0, **options: bool) -> VideoDiT:
    """Every weight drawn from N(0, 0.05), zero-initialised branches included, so they all act."""
    torch.manual_seed(seed)
    model = VideoDiT(preset("tiny", action_dim=2, condition="trajectory", latent_size=(8, 8), num_frames=6, **options))
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    return model.eval()
