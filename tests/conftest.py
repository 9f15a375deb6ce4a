"""Shared test fixtures."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_model():
    """A tiny random Frame-Ada model with non-zero weights (2-D actions, 8x8 latents)."""
    from freeaction import VideoDiT, preset

    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, action_embedder="linear", latent_size=(8, 8)))
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.05)
    return model.eval()

