"""LeRobotDataset v2.1 / v3.0: written by the converter, read back frame-exactly by timestamp."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

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
    with pytest.raises(DataError, match=r"no video feature 'wrist'.*observation.images.main"):
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
