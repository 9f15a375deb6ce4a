"""Errors every reader gives the same way: duplicate episode ids and symlink loops name the path."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from freeaction.data.convert import convert
from freeaction.data.example_proto import encode_example
from freeaction.data.irasim import IRASimDataset
from freeaction.data.open import open_dataset
from freeaction.data.rlds import RLDSDataset
from freeaction.data.tfrecord import TFRecordWriter
from freeaction.errors import DataError


def test_irasim_duplicate_episode_ids_name_both_files(lt_root: Path) -> None:
    ann = lt_root / "annotation/train"
    shutil.copy(ann / "001.json", ann / "copy_of_001.json")
    with pytest.raises(DataError, match=r"001.json: episode id '001' is also the id of the episode in .*001.json") as e:
        IRASimDataset(lt_root, "train")
    assert "copy_of_001.json" in str(e.value)
    with pytest.raises(DataError, match="episode id '001'"):  # not a bad file to skip: which one is wrong?
        IRASimDataset(lt_root, "train", skip_bad=True)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_rlds_duplicate_episode_ids_name_shard_and_records(tmp_path: Path) -> None:
    t = 17
    rec = {"steps/observation/rgb": [_jpeg()] * t, "steps/action": np.zeros((t, 2), np.float32)}
    shard = tmp_path / "lt/language_table-train.tfrecord-00000-of-00001"
    shard.parent.mkdir()
    with TFRecordWriter(shard) as w:
        for eid in (b"a", b"b", b"a"):
            w.write(encode_example({**rec, "episode_metadata/episode_id": [eid]}))
    with pytest.raises(DataError, match=r"tfrecord-00000-of-00001 \(record 2\): episode id 'a' .*\(record 0\)"):
        RLDSDataset(tmp_path / "lt", "train")


@pytest.mark.parametrize("version", ["v2.1", "v3.0"])
def test_lerobot_duplicate_episode_ids(lt_root: Path, tmp_path: Path, version: str) -> None:
    out = tmp_path / "lr"
    convert(lt_root, "lerobot", out, version=version)
    if version == "v2.1":
        path = out / "meta/episodes.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rows[2]["episode_id"] = rows[0]["episode_id"]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path = out / "meta/episodes/chunk-000/file-000.parquet"
        rows = pq.read_table(path).to_pylist()
        rows[2]["episode_id"] = rows[0]["episode_id"]
        pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(DataError, match=r"meta/episodes.*\(episode_index 2\): episode id '000' .*\(episode_index 0\)"):
        open_dataset(out, "train")


def test_symlink_loops_are_errors_naming_the_path(lt_root: Path, tmp_path: Path) -> None:
    ann = lt_root / "annotation/train"
    os.symlink("loop.json", ann / "loop.json")  # a file that points at itself
    os.symlink(".", ann / "again")  # a directory loop: not followed, so harmless
    with pytest.raises(DataError, match=r"annotation/train/loop.json: cannot be resolved, a symlink loop"):
        IRASimDataset(lt_root, "train")
    ds = IRASimDataset(lt_root, "train", skip_bad=True)
    assert ds.num_episodes == 3 and ds.skipped[0].path.endswith("loop.json")
    (ann / "loop.json").unlink()
    video = lt_root / "videos/train/002/rgb.mp4"
    video.unlink()
    os.symlink("rgb.mp4", video)
    with pytest.raises(DataError, match=r"videos/train/002/rgb.mp4: cannot be resolved, a symlink loop.*002.json"):
        IRASimDataset(lt_root, "train")
    # RLDS: a shard name that loops; a dataset root that loops
    (tmp_path / "shards").mkdir()
    os.symlink("x-train.tfrecord", tmp_path / "shards/x-train.tfrecord")
    with pytest.raises(DataError, match=r"shards/x-train.tfrecord: a symlink that resolves to nothing"):
        open_dataset(tmp_path / "shards", "train")
    os.symlink("root", tmp_path / "root")
    with pytest.raises(DataError, match=r"/root: a symlink that resolves to nothing"):
        open_dataset(tmp_path / "root", "train")
