"""Fixtures of the play tests: a tiny checkpoint (random DiT + tiny VAE, 64x64 frames) and its world model."""

from __future__ import annotations

import pytest

from freeaction import WorldModel, save_model
from tiny_vae import make_vae


@pytest.fixture
def tiny_checkpoint(tmp_path, tiny_model):
    folder = save_model(tiny_model, tmp_path / "ckpt", action_stats={"mu_act": 1.0})
    make_vae(folder / "vae", width=8)
    return folder


@pytest.fixture
def tiny_world(tiny_checkpoint):
    return WorldModel.load(tiny_checkpoint)
