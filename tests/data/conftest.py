"""Fixtures for the data tests: tiny IRASim-layout datasets written by the test itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from freeaction.data.synthetic import write_irasim_episode

# the helpers module next to this file is imported by name (works with --import-mode=importlib too)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_helpers import flat_frames, random_poses  # noqa: E402


@pytest.fixture
def rt1_root(tmp_path: Path) -> Path:
    """Two 7-D episodes (20 frames, 2 cameras, latents) in train and one in test."""
    rng = np.random.default_rng(0)
    root = tmp_path / "rt1"
    for split, eid in [("train", "ep0"), ("train", "ep1"), ("test", "ep2")]:
        states, grip = random_poses(rng, 20)
        lat = [torch.randn(20, 4, 4, 6), torch.randn(20, 4, 4, 6)]
        cams = [flat_frames(20, (200, 30, 30)), flat_frames(20, (30, 30, 200))]
        write_irasim_episode(root, split, eid, cams, states=states, gripper=grip, latents=lat)
    return root


@pytest.fixture
def lt_root(tmp_path: Path) -> Path:
    """Three 2-D episodes (18 frames = 17 actions) in train, no latents."""
    rng = np.random.default_rng(1)
    root = tmp_path / "lt"
    for e in range(3):
        write_irasim_episode(
            root, "train", f"{e:03d}", flat_frames(18, (20, 80 + 60 * e, 20)), actions=rng.normal(0, 0.03, (17, 2))
        )
    return root
