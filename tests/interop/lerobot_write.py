"""Run inside a lerobot environment: record a small LeRobotDataset with lerobot's own writer.

usage: python lerobot_write.py SPEC [SPEC ...], SPEC = OUT:FPS:CODEC[:VIDEO_FILE_MB] (CODEC h264 or libsvtav1)
Each dataset has 3 episodes of 18 frames; the frames and actions given to lerobot are saved as
``OUT.source.npz`` (``frames`` (3, 18, 48, 64, 3) uint8, ``actions`` (3, 18, 2) float32).
Frames are 48 x 64 pictures of a square moving over a gradient (so the codec has real motion
to encode), actions are 2-D float32 random values. lerobot 0.3.x writes v2.1 (always AV1),
lerobot 0.4.x v3.0 (``--video-file-mb`` small enough puts the episodes in several files).
"""

import inspect
import sys

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset

FEATURES = {
    "observation.images.main": {"dtype": "video", "shape": (48, 64, 3), "names": ["height", "width", "channels"]},
    "action": {"dtype": "float32", "shape": (2,), "names": ["x", "y"]},
}


def record(out: str, fps: int, codec: str, video_file_mb: float | None, episodes: int = 3, frames: int = 18) -> None:
    options = {"vcodec": codec} if "vcodec" in inspect.signature(LeRobotDataset.create).parameters else {}
    ds = LeRobotDataset.create("local/interop", fps=fps, features=FEATURES, root=out, **options)
    if video_file_mb is not None:
        ds.meta.update_chunk_settings(video_files_size_in_mb=video_file_mb, data_files_size_in_mb=video_file_mb)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :64]
    source = {"frames": [], "actions": []}
    for e in range(episodes):
        for t in range(frames):
            img = np.stack([xx * 3 + 20 * e, yy * 4, np.full_like(xx, 40 + 50 * e)], axis=-1).astype(np.uint8)
            y, x = 4 + (t * 2) % 36, 4 + (t * 3 + 7 * e) % 50
            img[y : y + 8, x : x + 8] = 255
            frame = {"observation.images.main": img, "action": rng.normal(0, 0.05, 2).astype(np.float32)}
            source["frames"].append(img)
            source["actions"].append(frame["action"])
            if "task" in inspect.signature(ds.add_frame).parameters:  # lerobot 0.3
                ds.add_frame(frame, task=f"push {e}")
            else:
                ds.add_frame(frame | {"task": f"push {e}"})
        ds.save_episode()
    if hasattr(ds, "finalize"):
        ds.finalize()
    shape = (episodes, frames)
    np.savez(f"{out}.source.npz", **{k: np.stack(v).reshape(*shape, *v[0].shape) for k, v in source.items()})


for spec in sys.argv[1:]:
    out, fps, codec, *mb = spec.split(":")
    record(out, int(fps), codec, float(mb[0]) if mb else None)
