"""Run inside a lerobot environment: read a LeRobotDataset with lerobot and save what it returns.

usage: python lerobot_read.py ROOT OUT.npz [ROOT OUT.npz ...]
Saves, per frame in dataset order, the camera frames as uint8 (lerobot's [0, 1] floats times
255, rounded), the actions, episode_index, frame_index and task, and lerobot's version.
"""

import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import CODEBASE_VERSION, LeRobotDataset


def dump(root: str, out: str) -> None:
    ds = LeRobotDataset("local/interop", root=root, video_backend="pyav")
    camera = ds.meta.video_keys[0] if ds.meta.video_keys else ds.meta.camera_keys[0]
    items = [ds[i] for i in range(len(ds))]
    np.savez(
        out,
        frames=np.stack([(it[camera].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for it in items]),
        actions=np.stack([it["action"].numpy() for it in items]),
        episode_index=np.array([int(it["episode_index"]) for it in items]),
        frame_index=np.array([int(it["frame_index"]) for it in items]),
        task=np.array([it["task"] for it in items]),
        codebase_version=CODEBASE_VERSION,
        has_stats=ds.meta.stats is not None,
    )


for root, out in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    dump(root, out)
