"""Datasets: one clip interface, readers for IRASim / LeRobot / RLDS, statistics, converters.

    from freeaction.data import open_dataset, compute_stats, load_stats
    ds = open_dataset("data/pusher", "train", frames=False)   # format detected on disk
    clip = ds[0]                # Clip: actions (15, D) model space, frames / latents (16, ...)
    episode = ds.episode(0)     # the whole episode, for long rollouts
    mu_act = load_stats("data/pusher")["mu_act"]

Heavy modules (PyAV, pyarrow) are imported on first use of the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from freeaction.data.clip import Clip, Episode

_LAZY = {
    "ClipDataset": "freeaction.data.base",
    "Skipped": "freeaction.data.base",
    "IRASimDataset": "freeaction.data.irasim",
    "LeRobotDataset": "freeaction.data.lerobot",
    "RLDSDataset": "freeaction.data.rlds",
    "open_dataset": "freeaction.data.open",
    "detect_format": "freeaction.data.open",
    "list_splits": "freeaction.data.open",
    "compute_stats": "freeaction.data.stats",
    "save_stats": "freeaction.data.stats",
    "load_stats": "freeaction.data.stats",
    "mu_act_from_stats": "freeaction.data.stats",
    "convert": "freeaction.data.convert",
    "write_irasim_episode": "freeaction.data.synthetic",
}

__all__ = ["Clip", "Episode", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'freeaction.data' has no attribute {name!r}")
