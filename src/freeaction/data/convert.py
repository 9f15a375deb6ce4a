"""Write any reader's episodes as LeRobotDataset (v2.1 / v3.0) or RLDS TFRecord shards.

Used by ``freeaction data convert SRC --to lerobot|rlds OUT``, the tests and the reader
benchmark. The source is read with its own reader (every split it has); the dataset's own
(unscaled) actions are written as float32, bit for bit when the source stores float32 (LeRobot,
RLDS), so reading the result back gives the same raw and model-space actions.

Conventions of what is written:

- LeRobot: one row per frame; row k holds action k (frame k -> k + 1), the last row of an
  episode repeats zeros (no next frame). One video feature ``observation.images.<camera>``
  (H.264 mp4). ``info["splits"]`` maps each source split to an episode range; the original
  episode id is kept as an extra ``episode_id`` field of the episode metadata. Feature statistics
  as lerobot computes them (``freeaction.data.lerobot_stats``): v2.1 ``meta/episodes_stats.jsonl``,
  v3.0 ``stats/...`` columns of the episodes parquet and ``meta/stats.json``.
- RLDS: one ``tf.train.Example`` per episode in ``<name>-<split>.tfrecord-00000-of-00001``,
  layout ``language_table`` for 2-D actions, ``fractal20220817_data`` for 7-D (or ``bridge``);
  JPEG frames; the last step's action is zeros; ``episode_metadata/episode_id`` kept. Beside the
  shards, the ``features.json`` / ``dataset_info.json`` that ``tfds.builder_from_directory`` reads.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from freeaction.data import lerobot_stats
from freeaction.data.base import ClipDataset
from freeaction.data.example_proto import encode_example
from freeaction.data.rlds import LAYOUTS, RLDSLayout
from freeaction.data.tfds_metadata import FeatureSpec, SplitShards, write_metadata
from freeaction.data.tfrecord import TFRecordWriter
from freeaction.data.video import write_video
from freeaction.errors import DataError, InputError

CHUNKS_SIZE = 1000


def _episodes(readers: dict[str, ClipDataset]) -> Iterable[tuple[str, ClipDataset, int]]:
    for split, ds in readers.items():
        for i in range(ds.num_episodes):
            yield split, ds, i


def _episode_arrays(ds: ClipDataset, i: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(frames (T, H, W, 3), raw actions (T, D) with a zero last row) of one episode;
    None when it is bad and the reader skips bad items (then it is recorded in ``ds.skipped``)."""
    try:
        ep = ds.episode(i)
    except DataError as exc:
        ds._skip_or_raise(ds.episode_id(i), exc)
        return None
    raw = np.asarray(ds.episode_raw_actions(i), dtype=np.float32)
    raw = np.concatenate([raw, np.zeros((1, raw.shape[1]), np.float32)])
    if ep.frames is None:
        raise DataError(f"{ds.root}: episode {ep.episode_id} has no frames to convert")
    return ep.frames, raw


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"{out}: output directory exists and is not empty (use --overwrite)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _frame_columns(raw: np.ndarray, fps: int, ep_index: int, index: int) -> dict[str, np.ndarray]:
    """The per-frame columns of one episode's LeRobot data rows (``raw``: its (T, D) actions)."""
    n = len(raw)
    return {
        "action": raw,
        "timestamp": np.arange(n, dtype=np.float32) / np.float32(fps),
        "frame_index": np.arange(n, dtype=np.int64),
        "episode_index": np.full(n, ep_index, dtype=np.int64),
        "index": np.arange(index, index + n, dtype=np.int64),
        "task_index": np.zeros(n, dtype=np.int64),
    }


def _write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")


def _write_tasks_parquet(path: Path, tasks: list[str]) -> None:
    """v3.0 ``meta/tasks.parquet`` as lerobot writes it: a pandas frame of ``task_index`` indexed by the task."""
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "__index_level_0__": tasks})
    column = {"pandas_type": "int64", "numpy_type": "int64", "metadata": None}
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [],
        "columns": [
            {"name": "task_index", "field_name": "task_index", **column},
            {
                "name": None,
                "field_name": "__index_level_0__",
                **column,
                "pandas_type": "unicode",
                "numpy_type": "object",
            },
        ],
    }
    pq.write_table(table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}), path)


def write_lerobot(
    readers: dict[str, ClipDataset],
    out: Path | str,
    *,
    version: str = "v2.1",
    fps: int = 10,
    camera: str = "main",
    task: str = "",
    episodes_per_file: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the episodes of ``readers`` (split -> reader) as a LeRobotDataset ``version``."""
    if version not in ("v2.1", "v3.0"):
        raise InputError(f"LeRobot version must be v2.1 or v3.0, got {version!r}")
    out = Path(out)
    _prepare(out, overwrite)
    key = f"observation.images.{camera}"
    v3 = version == "v3.0"
    splits: dict[str, str] = {}
    episodes_meta: list[dict[str, Any]] = []
    episodes_stats: list[dict[str, lerobot_stats.Stats]] = []
    pending_rows: list[pa.Table] = []
    pending_frames: list[np.ndarray] = []
    file_index = 0
    index = 0
    dim = height = width = None
    start_of_split: dict[str, int] = {}
    end_of_split: dict[str, int] = {}
    ep_index = 0

    def flush() -> None:
        nonlocal pending_rows, pending_frames, file_index
        if not pending_rows:
            return
        data = out / f"data/chunk-000/file-{file_index:03d}.parquet"
        data.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(pending_rows), data)
        write_video(out / f"videos/{key}/chunk-000/file-{file_index:03d}.mp4", np.concatenate(pending_frames), fps)
        pending_rows, pending_frames = [], []
        file_index += 1

    for split, ds, i in _episodes(readers):
        start_of_split.setdefault(split, ep_index)
        arrays = _episode_arrays(ds, i)
        if arrays is None:
            continue
        frames, raw = arrays
        n = len(frames)
        dim, (height, width) = raw.shape[1], frames.shape[1:3]
        columns = _frame_columns(raw, fps, ep_index, index)
        rows = pa.table(
            {k: pa.array(list(v), type=pa.list_(pa.float32(), dim)) if v.ndim == 2 else v for k, v in columns.items()}
        )
        stats = {key: lerobot_stats.camera_stats(frames)} | {
            k: lerobot_stats.numeric_stats(v) for k, v in columns.items()
        }
        episodes_stats.append(stats)
        meta: dict[str, Any] = {"episode_index": ep_index, "tasks": [task], "length": n, "episode_id": ds.episode_id(i)}
        if v3:
            offset = sum(len(f) for f in pending_frames)
            meta.update(
                {
                    "data/chunk_index": 0,
                    "data/file_index": file_index,
                    "dataset_from_index": index,
                    "dataset_to_index": index + n,
                    f"videos/{key}/chunk_index": 0,
                    f"videos/{key}/file_index": file_index,
                    f"videos/{key}/from_timestamp": offset / fps,
                    f"videos/{key}/to_timestamp": (offset + n) / fps,
                    **lerobot_stats.to_columns(stats),
                }
            )
            pending_rows.append(rows)
            pending_frames.append(frames)
            if episodes_per_file and len(pending_rows) >= episodes_per_file:
                flush()
        else:
            chunk = ep_index // CHUNKS_SIZE
            data = out / f"data/chunk-{chunk:03d}/episode_{ep_index:06d}.parquet"
            data.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows, data)
            write_video(out / f"videos/chunk-{chunk:03d}/{key}/episode_{ep_index:06d}.mp4", frames, fps)
        episodes_meta.append(meta)
        index += n
        ep_index += 1
        end_of_split[split] = ep_index
    flush()
    for split in readers:
        if split in start_of_split:
            splits[split] = f"{start_of_split[split]}:{end_of_split.get(split, start_of_split[split])}"
    if dim is None:
        raise DataError(f"no episodes to convert in splits {list(readers)}")
    info = {
        "codebase_version": version,
        "robot_type": None,
        "total_episodes": ep_index,
        "total_frames": index,
        "total_tasks": 1,
        "chunks_size": CHUNKS_SIZE,
        "fps": fps,
        "splits": splits,
        "data_path": (
            "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
            if v3
            else "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
        ),
        "video_path": (
            "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
            if v3
            else "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
        ),
        "features": {
            key: {
                "dtype": "video",
                "shape": [height, width, 3],
                "names": ["height", "width", "channels"],
                "info": {"video.fps": fps, "video.codec": "h264", "video.pix_fmt": "yuv420p"},
            },
            "action": {"dtype": "float32", "shape": [dim], "names": None},
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        },
    }
    _write_lerobot_meta(out, info, episodes_meta, episodes_stats, task)
    return out


def _write_lerobot_meta(
    out: Path,
    info: dict[str, Any],
    episodes_meta: list[dict[str, Any]],
    episodes_stats: list[dict[str, lerobot_stats.Stats]],
    task: str,
) -> None:
    """``meta/`` of a LeRobotDataset: info, episodes, their stats and the task, as its version keeps them."""
    v3 = info["codebase_version"] == "v3.0"
    ep_index = info["total_episodes"]
    if not v3:
        info.update(total_chunks=(ep_index - 1) // CHUNKS_SIZE + 1, total_videos=ep_index)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    (out / "meta/info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if v3:
        ep_file = out / "meta/episodes/chunk-000/file-000.parquet"
        ep_file.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(episodes_meta), ep_file)
        _write_tasks_parquet(out / "meta/tasks.parquet", [task])
        total = lerobot_stats.to_json(lerobot_stats.aggregate_features(episodes_stats))
        (out / "meta/stats.json").write_text(json.dumps(total, indent=4) + "\n", encoding="utf-8")
    else:
        _write_jsonl(out / "meta/episodes.jsonl", episodes_meta)
        _write_jsonl(
            out / "meta/episodes_stats.jsonl",
            [
                {"episode_index": m["episode_index"], "stats": lerobot_stats.to_json(st)}
                for m, st in zip(episodes_meta, episodes_stats, strict=True)
            ],
        )
        _write_jsonl(out / "meta/tasks.jsonl", [{"task_index": 0, "task": task}])


def _jpeg(frame: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _rlds_features(lay: RLDSLayout, frame_shapes: set[tuple[int, ...]]) -> dict[str, FeatureSpec]:
    """What ``write_rlds`` stores per episode, as tensorflow-datasets features (-1: sizes differ)."""
    shape = tuple(dims.pop() if len(dims) == 1 else -1 for dims in map(set, zip(*frame_shapes, strict=True)))
    features = {lay.image_key: FeatureSpec("image", shape)}
    for key, d in lay.action_keys:
        features[key] = FeatureSpec("bool") if key.endswith("open_gripper") else FeatureSpec("tensor", (d,))
    for flag in ("is_first", "is_last", "is_terminal"):
        features[f"steps/{flag}"] = FeatureSpec("bool")
    features["steps/reward"] = FeatureSpec("float")
    features["episode_metadata/episode_id"] = FeatureSpec("text")
    return features


def write_rlds(
    readers: dict[str, ClipDataset],
    out: Path | str,
    *,
    layout: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the episodes as RLDS TFRecord shards (one per split) in an Open X layout, with the
    ``features.json`` / ``dataset_info.json`` that let ``tfds.builder_from_directory`` open them."""
    out = Path(out)
    _prepare(out, overwrite)
    names: set[str] = set()
    frame_shapes: set[tuple[int, ...]] = set()
    shards: list[SplitShards] = []
    for split, ds in readers.items():
        if ds.num_episodes == 0:
            continue
        dim = ds.action_dim
        name = layout or ("language_table" if dim == 2 else "fractal20220817_data")
        if name not in LAYOUTS:
            raise InputError(f"unknown RLDS layout {name!r}; choose one of {sorted(LAYOUTS)}")
        lay = LAYOUTS[name]
        if lay.action_dim != dim:
            raise InputError(f"layout {name} has {lay.action_dim}-D actions, the source has {dim}-D")
        names.add(name)
        path = out / f"{name}-{split}.tfrecord-00000-of-00001"
        written = 0
        with TFRecordWriter(path) as w:
            for i in range(ds.num_episodes):
                arrays = _episode_arrays(ds, i)
                if arrays is None:
                    continue
                frames, raw = arrays
                frame_shapes.add(frames.shape[1:])
                w.write(encode_example(_rlds_episode(lay, frames, raw, ds.episode_id(i))))
                written += 1
        shards.append(SplitShards(split, (written,), path.stat().st_size))
    if len(names) > 1:
        raise InputError(f"the splits need different RLDS layouts ({sorted(names)}); convert them separately")
    if names and frame_shapes:
        (name,) = names
        write_metadata(out, name, _rlds_features(LAYOUTS[name], frame_shapes), shards, "Written by freeaction.")
    return out


def _rlds_episode(lay: RLDSLayout, frames: np.ndarray, raw: np.ndarray, episode_id: str) -> dict[str, Any]:
    """One episode's flattened RLDS features (``raw``: (T, D) actions with a zero last row)."""
    t = len(frames)
    feats: dict[str, Any] = {lay.image_key: [_jpeg(f) for f in frames]}
    col = 0
    for key, d in lay.action_keys:
        part = raw[:, col : col + d]
        feats[key] = (part > 0.5).astype(np.int64) if key.endswith("open_gripper") else part
        col += d
    feats["steps/is_first"] = (np.arange(t) == 0).astype(np.int64)
    feats["steps/is_last"] = (np.arange(t) == t - 1).astype(np.int64)
    feats["steps/is_terminal"] = (np.arange(t) == t - 1).astype(np.int64)
    feats["steps/reward"] = np.zeros(t, np.float32)
    feats["episode_metadata/episode_id"] = [episode_id.encode()]
    return feats


def convert(
    src: Path | str,
    to: str,
    out: Path | str,
    *,
    splits: list[str] | None = None,
    version: str = "v2.1",
    layout: str | None = None,
    fps: int = 10,
    episodes_per_file: int | None = None,
    overwrite: bool = False,
    skip_bad: bool = False,
) -> tuple[Path, list]:
    """Convert the dataset at ``src`` (any readable format) to ``to`` in ``out``.

    Returns the output path and the list of skipped items of the source readers.
    """
    from freeaction.data.open import list_splits, open_dataset

    names = splits or list_splits(src)
    readers = {s: open_dataset(src, s, frames=True, latents=False, skip_bad=skip_bad) for s in names}
    if to == "lerobot":
        path = write_lerobot(
            readers, out, version=version, fps=fps, episodes_per_file=episodes_per_file, overwrite=overwrite
        )
    elif to == "rlds":
        path = write_rlds(readers, out, layout=layout, overwrite=overwrite)
    else:
        raise InputError(f"--to must be lerobot or rlds, got {to!r}")
    return path, [s for r in readers.values() for s in r.skipped]
