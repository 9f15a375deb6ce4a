"""Write any reader's episodes as LeRobotDataset (v2.1 / v3.0) or RLDS TFRecord shards.

Used by ``freeaction data convert SRC --to lerobot|rlds OUT``, the tests and the reader
benchmark. The source is read with its own reader (every split it has); the dataset's own
(unscaled) actions are written as float32, bit for bit when the source stores float32 (LeRobot,
RLDS), so reading the result back gives the same raw and model-space actions.

Conventions of what is written:

- LeRobot: one row per frame; row k holds action k (frame k -> k + 1), the last row of an
  episode repeats zeros (no next frame). One video feature ``observation.images.<camera>``
  (H.264 mp4). ``info["splits"]`` maps each source split to an episode range; the original
  episode id is kept as an extra ``episode_id`` field of the episode metadata.
- RLDS: one ``tf.train.Example`` per episode in ``<name>-<split>.tfrecord-00000-of-00001``,
  layout ``language_table`` for 2-D actions, ``fractal20220817_data`` for 7-D (or ``bridge``);
  JPEG frames; the last step's action is zeros; ``episode_metadata/episode_id`` kept.
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

from freeaction.data.base import ClipDataset
from freeaction.data.example_proto import encode_example
from freeaction.data.rlds import LAYOUTS
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
        rows = pa.table(
            {
                "action": pa.array(list(raw), type=pa.list_(pa.float32(), dim)),
                "timestamp": pa.array(np.arange(n, dtype=np.float32) / fps),
                "frame_index": pa.array(np.arange(n, dtype=np.int64)),
                "episode_index": pa.array(np.full(n, ep_index, dtype=np.int64)),
                "index": pa.array(np.arange(index, index + n, dtype=np.int64)),
                "task_index": pa.array(np.zeros(n, dtype=np.int64)),
            }
        )
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
    if not v3:
        info.update(total_chunks=(ep_index - 1) // CHUNKS_SIZE + 1, total_videos=ep_index)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    (out / "meta/info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if v3:
        ep_file = out / "meta/episodes/chunk-000/file-000.parquet"
        ep_file.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(episodes_meta), ep_file)
        pq.write_table(pa.table({"task_index": [0], "task": [task]}), out / "meta/tasks.parquet")
    else:
        lines = [json.dumps(m) for m in episodes_meta]
        (out / "meta/episodes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (out / "meta/tasks.jsonl").write_text(json.dumps({"task_index": 0, "task": task}) + "\n", encoding="utf-8")
    return out


def _jpeg(frame: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write_rlds(
    readers: dict[str, ClipDataset],
    out: Path | str,
    *,
    layout: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the episodes as RLDS TFRecord shards (one per split) in an Open X layout."""
    out = Path(out)
    _prepare(out, overwrite)
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
        with TFRecordWriter(out / f"{name}-{split}.tfrecord-00000-of-00001") as w:
            for i in range(ds.num_episodes):
                arrays = _episode_arrays(ds, i)
                if arrays is None:
                    continue
                frames, raw = arrays
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
                feats["episode_metadata/episode_id"] = [ds.episode_id(i).encode()]
                w.write(encode_example(feats))
    return out


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
