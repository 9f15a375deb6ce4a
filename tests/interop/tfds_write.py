"""Run inside a tensorflow-datasets environment: write RLDS folders with tfds's own feature encoding.

usage: python tfds_write.py DIR LAYOUT [DIR LAYOUT ...], LAYOUT = fractal20220817_data | bridge | language_table
Each folder gets ``<layout>-train.tfrecord-00000-of-00001`` (3 episodes of 12 steps, serialised
by the layout's ``tfds.features.FeaturesDict``, the feature specs of the released Open X datasets
cut down to the image, action and episode parts) and tfds's ``dataset_info.json`` /
``features.json`` (``tfds.folder_dataset.write_metadata``).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

F = tfds.features


def spec(layout: str) -> F.FeaturesDict:
    flags = {k: F.Scalar(dtype=tf.bool) for k in ("is_first", "is_last", "is_terminal")}
    if layout == "language_table":
        step = {
            "observation": F.FeaturesDict({"rgb": F.Image(shape=(36, 64, 3), encoding_format="jpeg")}),
            "action": F.Tensor(shape=(2,), dtype=tf.float32),
        }
        episode = {}  # the released language_table has no episode-level features
    else:
        gripper = (
            {"open_gripper": F.Scalar(dtype=tf.bool)}
            if layout == "bridge"
            else {"gripper_closedness_action": F.Tensor(shape=(1,), dtype=tf.float32)}
        )
        step = {
            "observation": F.FeaturesDict({"image": F.Image(shape=(32, 40, 3), encoding_format="jpeg")}),
            "action": F.FeaturesDict(
                {
                    "world_vector": F.Tensor(shape=(3,), dtype=tf.float32),
                    "rotation_delta": F.Tensor(shape=(3,), dtype=tf.float32),
                    **gripper,
                }
            ),
        }
        episode = {"episode_metadata": F.FeaturesDict({"episode_id": F.Text()})}
    return F.FeaturesDict({"steps": F.Dataset({**step, **flags, "reward": F.Scalar(dtype=tf.float32)}), **episode})


def episode(layout: str, e: int, rng: np.random.Generator, steps: int = 12) -> dict:
    shape = (36, 64, 3) if layout == "language_table" else (32, 40, 3)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = []
    for t in range(steps):
        img = np.stack([xx * 4, yy * 5 + 10 * e, np.full_like(xx, 60)], axis=-1).astype(np.uint8)
        img[(2 * t) % 24 : (2 * t) % 24 + 6, (3 * t) % 30 : (3 * t) % 30 + 6] = 250
        if layout == "language_table":
            action = rng.normal(0, 0.03, 2).astype(np.float32)
            obs = {"rgb": img}
        else:
            action = {
                "world_vector": rng.normal(0, 0.02, 3).astype(np.float32),
                "rotation_delta": rng.normal(0, 0.05, 3).astype(np.float32),
            }
            if layout == "bridge":
                action["open_gripper"] = bool(t % 5 < 3)
            else:
                action["gripper_closedness_action"] = rng.uniform(-1, 1, 1).astype(np.float32)
            obs = {"image": img}
        step = {"observation": obs, "action": action, "reward": np.float32(t == steps - 1)}
        out.append(step | {"is_first": t == 0, "is_last": t == steps - 1, "is_terminal": t == steps - 1})
    ep = {"steps": out}
    if layout != "language_table":
        ep["episode_metadata"] = {"episode_id": f"{layout}-episode-{e}"}
    return ep


def write(folder: str, layout: str) -> None:
    os.makedirs(folder, exist_ok=True)
    features = spec(layout)
    rng = np.random.default_rng(0)
    path = os.path.join(folder, f"{layout}-train.tfrecord-00000-of-00001")
    with tf.io.TFRecordWriter(path) as w:
        for e in range(3):
            w.write(features.serialize_example(episode(layout, e, rng)))
    split = tfds.core.SplitInfo(name="train", shard_lengths=[3], num_bytes=os.path.getsize(path))
    tfds.folder_dataset.write_metadata(
        data_dir=folder,
        features=features,
        split_infos=[split],
        filename_template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
        check_data=False,
    )


for folder, layout in zip(sys.argv[1::2], sys.argv[2::2], strict=True):
    write(folder, layout)
