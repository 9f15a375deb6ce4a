"""LeRobotDataset v2.1 / v3.0: written by the converter, read back frame-exactly by timestamp."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_helpers import flat_frames
from PIL import Image

from freeaction.data.convert import convert
from freeaction.data.irasim import IRASimDataset
from freeaction.data.lerobot import LeRobotDataset
from freeaction.data.open import detect_format, list_splits, open_dataset
from freeaction.errors import DataError


def matched(frames: np.ndarray, episode_frames: np.ndarray) -> list[int]:
    """For each frame, the index of the most similar frame of the reference episode
    (frames differ only in a per-index marker block, so this identifies which one was decoded)."""
    diff = np.abs(frames[:, None, :10, :10].astype(int) - episode_frames[None, :, :10, :10]).mean(axis=(2, 3, 4))
    return diff.argmin(axis=1).tolist()


@pytest.mark.parametrize("version", ["v2.1", "v3.0"])
def test_roundtrip_from_irasim(rt1_root: Path, tmp_path: Path, version: str) -> None:
    out = tmp_path / f"lr-{version}"
    convert(rt1_root, "lerobot", out, version=version, episodes_per_file=1 if version == "v3.0" else None)
    assert detect_format(out) == "lerobot" and list_splits(out) == ["train", "test"]
    if version == "v3.0":  # the two train episodes live in separate files; the test one too
        assert len(list((out / "videos/observation.images.main").rglob("*.mp4"))) == 3
    ref = IRASimDataset(rt1_root, "train", latents=False)
    ds = open_dataset(out, "train")
    assert isinstance(ds, LeRobotDataset) and ds.format == f"lerobot-{version}"
    assert len(ds) == len(ref) == 10 and [ds.episode_id(i) for i in range(2)] == ["ep0", "ep1"]
    for k in (0, 8):
        a, b = ref[k], ds[k]
        assert (a.episode_id, a.start) == (b.episode_id, b.start)
        np.testing.assert_allclose(b.actions, a.actions, atol=1e-5)
        assert matched(b.frames, ref.episode(ref.windows[k][0]).frames) == list(range(b.start, b.start + 16))
    ep = ds.episode(1)
    assert ep.actions.shape == (19, 7) and ep.frames.shape == (20, 32, 48, 3)
    test = LeRobotDataset(out, "test", camera="main")
    assert test.num_episodes == 1 and test.episode_id(0) == "ep2" and len(test) == 1


def test_v3_seeks_inside_concatenated_file(lt_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "lr3"
    convert(lt_root, "lerobot", out, version="v3.0")  # all 3 episodes in one file
    rows = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["videos/observation.images.main/from_timestamp"] for r in rows] == pytest.approx([0, 1.8, 3.6])
    ds = LeRobotDataset(out, "train", stride=1)
    assert len(ds) == 3 * 3  # 18 rows -> 17 actions -> starts 0, 1, 2
    clip = ds[2 * 3 + 2]  # third episode, start 2: 38 frames into the file
    irasim = IRASimDataset(lt_root, "train")
    everything = np.concatenate([irasim.episode(i).frames for i in range(3)])  # the episodes differ in colour
    assert clip.episode_id == "002" and matched(clip.frames, everything) == list(range(36 + 2, 36 + 18))


def test_errors_name_the_file(lt_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "lr"
    convert(lt_root, "lerobot", out, version="v2.1")
    with pytest.raises(DataError, match=r"no video or image feature 'wrist'.*observation.images.main"):
        LeRobotDataset(out, "train", camera="wrist")
    with pytest.raises(DataError, match=r"info.json: no split 'val'"):
        LeRobotDataset(out, "val")
    video = out / "videos/chunk-000/observation.images.main/episode_000001.mp4"
    video.write_bytes(b"not an mp4 at all")
    ds = LeRobotDataset(out, "train", skip_bad=True)
    with pytest.raises(DataError, match="episode_000001.mp4"):
        ds[3]
    assert [e.episode_id for e in ds.episodes()] == ["000", "002"] and "episode_000001.mp4" in ds.skipped[0].reason
    # timestamps that no frame has are an error, not a silently different frame
    data = out / "data/chunk-000/episode_000000.parquet"
    t = pq.read_table(data)
    t = t.set_column(t.schema.get_field_index("timestamp"), "timestamp", [t.column("timestamp").to_numpy() + 0.05])
    pq.write_table(t, data)
    with pytest.raises(DataError, match=r"episode_000000.mp4: no frame at t=0.0500s"):
        LeRobotDataset(out, "train")[0]
    info = json.loads((out / "meta/info.json").read_text())
    info["video_path"] = "../{video_key}/episode_{episode_index:06d}.mp4"
    (out / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match=r"info.json: field 'video_path'.*outside the dataset root"):
        LeRobotDataset(out, "train")[0]
    (out / "meta/episodes.jsonl").write_text('{"episode_index": 0, "length": 18}\n{"episode_index": 1,\n')
    with pytest.raises(DataError, match=r"episodes.jsonl: line 2"):
        LeRobotDataset(out, "train")


# the Arrow type Hugging Face ``datasets.Image()`` stores (LeRobot's ``image`` dtype)
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _png(frame: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="PNG")
    return buf.getvalue()


def write_image_dataset(root: Path, version: str, episodes: list[np.ndarray], actions: list[np.ndarray]) -> None:
    """A LeRobotDataset whose camera is an ``image`` feature: PNG bytes in the parquet rows, as
    LeRobot writes them (channels-first shape, as in many hub datasets), no videos."""
    v3 = version == "v3.0"
    key = "observation.images.top"
    h, w = episodes[0].shape[1:3]
    tables, meta, index = [], [], 0
    for ep, (frames, acts) in enumerate(zip(episodes, actions, strict=True)):
        n = len(frames)
        tables.append(
            pa.table(
                {
                    key: pa.array(
                        [{"bytes": _png(f), "path": f"frame_{k:06d}.png"} for k, f in enumerate(frames)],
                        type=IMAGE_TYPE,
                    ),
                    "action": pa.array(list(acts), type=pa.list_(pa.float32(), 2)),
                    "timestamp": pa.array(np.arange(n, dtype=np.float32) / 10),
                    "frame_index": pa.array(np.arange(n, dtype=np.int64)),
                    "episode_index": pa.array(np.full(n, ep, dtype=np.int64)),
                    "index": pa.array(np.arange(index, index + n, dtype=np.int64)),
                    "task_index": pa.array(np.zeros(n, dtype=np.int64)),
                }
            )
        )
        m = {"episode_index": ep, "tasks": ["push"], "length": n}
        if v3:
            m.update(
                {
                    "data/chunk_index": 0,
                    "data/file_index": 0,
                    "dataset_from_index": index,
                    "dataset_to_index": index + n,
                }
            )
        else:
            path = root / f"data/chunk-000/episode_{ep:06d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(tables[-1], path)
        meta.append(m)
        index += n
    info = {
        "codebase_version": version,
        "fps": 10,
        "chunks_size": 1000,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
        if v3
        else "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": None,
        "features": {
            key: {"dtype": "image", "shape": [3, h, w], "names": ["channels", "height", "width"]},
            "action": {"dtype": "float32", "shape": [2], "names": None},
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
        },
    }
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta/info.json").write_text(json.dumps(info))
    if v3:
        (root / "data/chunk-000").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(tables), root / "data/chunk-000/file-000.parquet")
        (root / "meta/episodes/chunk-000").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(meta), root / "meta/episodes/chunk-000/file-000.parquet")
    else:
        (root / "meta/episodes.jsonl").write_text("".join(json.dumps(m) + "\n" for m in meta))


@pytest.mark.parametrize("version", ["v2.1", "v3.0"])
def test_image_features_stored_in_parquet(tmp_path: Path, version: str) -> None:
    rng = np.random.default_rng(0)
    episodes = [flat_frames(18, (30, 60 + 90 * e, 200)) for e in range(2)]
    actions = [rng.normal(0, 0.03, (18, 2)).astype(np.float32) for _ in range(2)]
    root = tmp_path / version
    write_image_dataset(root, version, episodes, actions)
    ds = open_dataset(root, "train")
    assert ds.camera == "observation.images.top" and ds.describe()["cameras"] == ["observation.images.top"]
    assert ds.frame_size() == (32, 48) and len(ds) == 2 * 3  # 18 frames, stride 1: starts 0, 1, 2
    clip = ds[4]  # episode 1, start 1
    assert clip.episode_id == "000001" and clip.frames.shape == (16, 32, 48, 3)
    np.testing.assert_array_equal(clip.frames, episodes[1][1:17])  # PNG: exactly the written pixels
    np.testing.assert_array_equal(ds.episode_raw_actions(1), actions[1][:-1].astype(np.float64))
    assert LeRobotDataset(root, "train", camera="top", size=(16, 24))[0].frames.shape == (16, 16, 24, 3)


def test_image_cells_by_path_and_bad_cells(tmp_path: Path) -> None:
    frames = flat_frames(17, (90, 20, 20))
    root = tmp_path / "ds"
    write_image_dataset(root, "v2.1", [frames], [np.zeros((17, 2), np.float32)])
    data = root / "data/chunk-000/episode_000000.parquet"
    t = pq.read_table(data)
    col = t.schema.get_field_index("observation.images.top")
    cells = t.column(col).to_pylist()
    (root / "images").mkdir()
    for k, c in enumerate(cells):  # bytes left out, the image in a file the path names
        (root / f"images/{k}.png").write_bytes(c["bytes"])
    by_path = [{"bytes": None, "path": f"images/{k}.png"} for k in range(17)]
    pq.write_table(t.set_column(col, "observation.images.top", pa.array(by_path, type=IMAGE_TYPE)), data)
    np.testing.assert_array_equal(LeRobotDataset(root, "train")[0].frames, frames[:16])
    bad = by_path[:5] + [{"bytes": b"not a png", "path": None}] + by_path[6:]
    pq.write_table(t.set_column(col, "observation.images.top", pa.array(bad, type=IMAGE_TYPE)), data)
    with pytest.raises(DataError, match=r"episode_000000.parquet: column 'observation.images.top', episode 0 frame 5"):
        LeRobotDataset(root, "train")[0]
    escape = by_path[:2] + [{"bytes": None, "path": "../../outside.png"}] + by_path[3:]
    pq.write_table(t.set_column(col, "observation.images.top", pa.array(escape, type=IMAGE_TYPE)), data)
    with pytest.raises(DataError, match=r"outside the dataset root"):
        LeRobotDataset(root, "train")[0]


def test_converter_writes_lerobot_stats(lt_root: Path, tmp_path: Path) -> None:
    """v2.1 gets ``meta/episodes_stats.jsonl`` (lerobot 0.3 needs it), v3.0 the same numbers in its
    episodes parquet and their aggregate in ``meta/stats.json`` (tests/interop loads both in lerobot)."""
    convert(lt_root, "lerobot", tmp_path / "v21", version="v2.1")
    lines = [json.loads(x) for x in (tmp_path / "v21/meta/episodes_stats.jsonl").read_text().splitlines()]
    assert [x["episode_index"] for x in lines] == [0, 1, 2]
    ref = IRASimDataset(lt_root, "train")
    frames, raw = ref.episode(1).frames, ref.episode_raw_actions(1).astype(np.float32)
    camera, action = lines[1]["stats"]["observation.images.main"], lines[1]["stats"]["action"]
    np.testing.assert_allclose(np.array(camera["mean"]).ravel(), frames.mean(axis=(0, 1, 2)) / 255, rtol=1e-9)
    assert np.array(camera["max"]).shape == (3, 1, 1) and camera["count"] == [18]
    np.testing.assert_array_equal(np.float32(action["max"]), np.maximum(raw.max(axis=0), 0))  # last row is zeros
    index = lines[1]["stats"]["index"]
    assert index == {"min": [18], "max": [35], "mean": [26.5], "std": pytest.approx([5.188], abs=1e-3), "count": [18]}
    convert(lt_root, "lerobot", tmp_path / "v30", version="v3.0")
    total = json.loads((tmp_path / "v30/meta/stats.json").read_text())
    assert total["index"]["min"] == [0] and total["index"]["max"] == [53] and total["index"]["count"] == [54]
    rows = pq.read_table(tmp_path / "v30/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert rows[1]["stats/action/max"] == action["max"]
    tasks = pq.read_table(tmp_path / "v30/meta/tasks.parquet")
    assert tasks.column("task_index").to_pylist() == [0]
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["__index_level_0__"]
