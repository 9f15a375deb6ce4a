"""Tiny IRASim-layout datasets with latents, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from freeaction.data.synthetic import write_irasim_episode
from freeaction.train import TrainConfig


def latent_dataset(
    root: Path,
    episodes: int = 4,
    frames: int = 10,
    latent: tuple[int, int, int] = (4, 4, 4),
    splits: tuple[str, ...] = ("train", "val"),
    seed: int = 0,
) -> Path:
    """2-D episodes whose latents are a blob moved by the actions (so actions matter)."""
    rng = np.random.default_rng(seed)
    c, h, w = latent
    for split in splits:
        for e in range(episodes):
            actions = rng.uniform(-0.05, 0.05, (frames - 1, 2))
            pos = np.cumsum(np.vstack([rng.uniform(0, 1, (1, 2)), actions * 10]), axis=0) % 1.0
            yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
            lat = np.stack([np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) * 20) for p in pos])
            lat = np.repeat(lat[:, None], c, axis=1) * 2 - 0.5 + rng.normal(0, 0.05, (frames, c, h, w))
            video = np.zeros((frames, 16, 16, 3), np.uint8)
            write_irasim_episode(root, split, f"{split}{e}", video, actions=actions,
                                 latents=torch.tensor(lat, dtype=torch.float32))
    return root


def tiny_config(data: Path, out: Path, **kw) -> TrainConfig:
    """A config that trains in well under a second per few steps on one CPU core."""
    base = dict(
        dataset=str(data), out=str(out), model="tiny", num_frames=4, batch_size=2, max_steps=6,
        model_options={"hidden_size": 32, "depth": 2, "num_heads": 2}, save_every=3, log_every=1,
        action_check_every=3, action_check_clips=4, lr=1e-3, ema_decay=0.9, progress=False, device="cpu",
    )
    base.update(kw)
    return TrainConfig(**base)
