"""A tiny random-weight world model (VideoDiT "tiny" + the tiny test VAE) for environment tests."""

from __future__ import annotations

from pathlib import Path

import torch

from freeaction import VideoDiT, WorldModel, preset
from freeaction.vae import load_vae
from tiny_vae import make_vae


def make_tiny_world_model(vae_folder: Path, action_dim: int) -> WorldModel:
    """Seeded weights drawn from N(0, 0.05) (larger than the init, so actions change the frames);
    ``mu_act`` 1.0 for FreeAction's truncation."""
    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=action_dim, action_embedder="linear", latent_size=(8, 8),
                            num_frames=4))
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    wm = WorldModel(model.eval(), load_vae(make_vae(vae_folder)))
    wm.action_stats = {"mu_act": 1.0}
    return wm
