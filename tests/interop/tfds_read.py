"""Run inside a tensorflow-datasets environment: read RLDS folders with tfds and save what it returns.

usage: python tfds_read.py DIR OUT.npz [DIR OUT.npz ...]
Opens DIR with ``tfds.builder_from_directory`` and saves, for every split and episode, the
frames (decoded by TensorFlow with the accurate integer IDCT, and as tfds decodes them by
default), the actions concatenated in the layout's order (``world_vector``, ``rotation_delta``,
then the gripper part, a bool as 0/1), the episode id and the step count. Keys: ``<split>/<name>``.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

ACTION_PARTS = ("world_vector", "rotation_delta", "gripper_closedness_action", "open_gripper")


def actions(step_action) -> np.ndarray:
    if not isinstance(step_action, dict):
        return step_action.numpy().astype(np.float32).reshape(-1)
    parts = [np.asarray(step_action[k].numpy(), np.float32).reshape(-1) for k in ACTION_PARTS if k in step_action]
    return np.concatenate(parts)


def dump(folder: str, out: str) -> None:
    builder = tfds.builder_from_directory(folder)
    obs = builder.info.features["steps"]["observation"]
    image_key = "image" if "image" in obs else "rgb"
    saved = {"name": builder.info.name}
    for split in builder.info.splits:
        undecoded = {"steps": {"observation": {image_key: tfds.decode.SkipDecoding()}}}
        raw = builder.as_dataset(split=split, decoders=undecoded)
        decoded = builder.as_dataset(split=split)
        ids, lengths, frames, default_frames, acts = [], [], [], [], []
        for ep_raw, ep in zip(raw, decoded, strict=True):
            meta = ep.get("episode_metadata", {})
            ids.append(meta["episode_id"].numpy().decode() if "episode_id" in meta else "")
            steps = list(ep_raw["steps"])
            lengths.append(len(steps))
            for step, dstep in zip(steps, ep["steps"], strict=True):
                data = step["observation"][image_key]
                frames.append(tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE").numpy())
                default_frames.append(dstep["observation"][image_key].numpy())
                acts.append(actions(step["action"]))
        saved |= {
            f"{split}/ids": np.array(ids),
            f"{split}/lengths": np.array(lengths),
            f"{split}/frames": np.stack(frames),
            f"{split}/default_frames": np.stack(default_frames),
            f"{split}/actions": np.stack(acts),
        }
    np.savez(out, **saved)


for folder, out in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    dump(folder, out)
