"""RLDS TFRecord shards: framing/CRC, Example/SequenceExample decoding, Open X layouts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from freeaction.actions import action_scaler
from freeaction.data import tfrecord
from freeaction.data.convert import convert
from freeaction.data.example_proto import encode_example, encode_sequence_example, parse_example
from freeaction.data.irasim import IRASimDataset
from freeaction.data.open import open_dataset
from freeaction.data.rlds import LAYOUTS, RLDSDataset
from freeaction.data.tfrecord import TFRecordWriter, iter_records
from freeaction.errors import DataError


def test_crc32c_known_values() -> None:
    assert tfrecord.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert tfrecord._crc32c_python(b"123456789") == 0xE3069283
    data = np.random.default_rng(0).bytes(1000)
    assert tfrecord._crc32c_python(data) == tfrecord.crc32c(data)
    assert tfrecord.crc32c(b"\0" * 32) == 0x8A9136AA  # RFC 3720 B.4 test vector
    assert tfrecord.masked_crc32c(b"") == 0xA282EAD8  # crc 0 -> just the mask delta
    c = 0xE3069283
    assert tfrecord.masked_crc32c(b"123456789") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_example_roundtrip_and_negative_ints() -> None:
    feats = {"b": [b"x", b""], "f": np.array([1.5, -2.25], np.float32), "i": np.array([0, -1, 1 << 40])}
    out = parse_example(encode_example(feats))
    assert out["b"] == [b"x", b""] and out["f"].tolist() == [1.5, -2.25] and out["i"].tolist() == [0, -1, 1 << 40]


def _jpeg(colour: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 24, 3), colour, np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_layouts_detected_and_actions_scaled(tmp_path: Path) -> None:
    t = 18
    rng = np.random.default_rng(0)
    wv, rd, grip = rng.normal(0, 0.01, (t, 3)), rng.normal(0, 0.01, (t, 3)), rng.uniform(0, 1, (t, 1))
    images = [_jpeg(10 * k) for k in range(t)]
    with TFRecordWriter(tmp_path / "bridge/bridge-train.tfrecord-00000-of-00001") as w:
        w.write(
            encode_example(
                {
                    "steps/observation/image": images,
                    "steps/action/world_vector": wv,
                    "steps/action/rotation_delta": rd,
                    "steps/action/open_gripper": (grip[:, 0] > 0.5).astype(np.int64),
                    "steps/observation/natural_language_instruction": [b"put the spoon"] * t,
                }
            )
        )
    ds = RLDSDataset(tmp_path / "bridge", "train")
    assert ds.layout.name == "bridge" and len(ds) == 3 and ds.episode_id(0).endswith("#0")
    clip = ds[1]
    np.testing.assert_allclose(clip.actions[:, :3], wv[1:16] * 20, rtol=1e-5)
    np.testing.assert_allclose(clip.actions[:, 6], (grip[1:16, 0] > 0.5).astype(float))
    assert clip.frames.shape == (16, 16, 24, 3) and abs(int(clip.frames[3].mean()) - 40) <= 3
    assert clip.meta["instruction"] == "put the spoon"
    # fractal (RT-1) as a SequenceExample with per-step feature lists
    with TFRecordWriter(tmp_path / "fractal/fractal20220817_data-test.tfrecord-00000-of-00002") as w:
        w.write(
            encode_sequence_example(
                {"episode_metadata/episode_id": [b"rt1-7"]},
                {
                    "steps/observation/image": [[im] for im in images],
                    "steps/action/world_vector": list(wv),
                    "steps/action/rotation_delta": list(rd),
                    "steps/action/gripper_closedness_action": list(grip),
                },
            )
        )
    ds = RLDSDataset(tmp_path / "fractal", "test")
    assert ds.layout.name == "fractal20220817_data" and ds.episode_id(0) == "rt1-7" and len(ds) == 1
    np.testing.assert_allclose(ds[0].actions[:, 3:6], rd[:15] * 20, rtol=1e-5)
    np.testing.assert_allclose(ds[0].actions[:, 6], grip[:15, 0], rtol=1e-6)
    with pytest.raises(DataError, match=r"no shards for split 'train' \(found splits: \['test'\]\)"):
        RLDSDataset(tmp_path / "fractal", "train")


def test_roundtrip_language_table(lt_root: Path, tmp_path: Path) -> None:
    convert(lt_root, "rlds", tmp_path / "ltr")
    ref = IRASimDataset(lt_root, "train", irasim_window_count=False)
    ds = RLDSDataset(tmp_path / "ltr", "train")
    assert ds.layout.name == "language_table" and len(ds) == len(ref) == 9
    np.testing.assert_allclose(ds[4].actions, ref[4].actions, atol=1e-5)
    assert np.abs(ds[4].frames.astype(int) - ref[4].frames).mean() < 4


def test_truncated_and_corrupt_records(lt_root: Path, tmp_path: Path) -> None:
    convert(lt_root, "rlds", tmp_path / "ltr")
    shard = tmp_path / "ltr/language_table-train.tfrecord-00000-of-00001"
    blob = shard.read_bytes()
    offsets = [off for _, off, _ in iter_records(shard)]
    # flip one byte inside the data of record 1
    bad = bytearray(blob)
    bad[offsets[1] + 200] ^= 0xFF
    shard.write_bytes(bytes(bad))
    with pytest.raises(
        DataError, match=r"language_table-train.tfrecord-00000-of-00001: record 1 has a bad data checksum"
    ):
        RLDSDataset(tmp_path / "ltr", "train")
    # cut the file inside record 2
    shard.write_bytes(blob[: offsets[2] + 50])
    with pytest.raises(DataError, match=r"tfrecord-00000-of-00001: record 2 is truncated"):
        RLDSDataset(tmp_path / "ltr", "train")
    ds = RLDSDataset(tmp_path / "ltr", "train", skip_bad=True)
    assert ds.num_episodes == 2 and len(ds.skipped) == 1 and "record 2 is truncated" in ds.skipped[0].reason
    with pytest.raises(DataError, match="freeaction encode"):
        RLDSDataset(tmp_path / "ltr", "train", latents=True)


def _write_shard(path: Path, feats: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with TFRecordWriter(path) as w:
        for f in feats:
            w.write(encode_example(f))


@pytest.mark.parametrize("layout", ["language_table", "fractal20220817_data"])
def test_raw_actions_roundtrip_bit_exactly(tmp_path: Path, layout: str) -> None:
    """The dataset's own float32 actions survive reading and converting unchanged, including
    values that scaling to model space and dividing back would move by one ulp."""
    t = 18
    rng = np.random.default_rng(3)
    lay = LAYOUTS[layout]
    raw = rng.normal(0, 0.03, (t, lay.action_dim)).astype(np.float32)
    scaler = action_scaler(lay.action_dim)
    divided_back = ((raw * scaler).astype(np.float32).astype(np.float64) / scaler).astype(np.float32)
    assert (divided_back != raw).sum() >= 3  # the data does exercise the inexact case
    feats: dict = {lay.image_key: [_jpeg(10 * k) for k in range(t)]}
    col = 0
    for key, d in lay.action_keys:
        feats[key] = raw[:, col : col + d]
        col += d
    _write_shard(tmp_path / f"src/{layout}-train.tfrecord-00000-of-00001", [feats])
    ds = RLDSDataset(tmp_path / "src", "train")
    assert np.array_equal(ds.episode_raw_actions(0), raw[:-1].astype(np.float64))
    np.testing.assert_array_equal(ds.episode_actions(0), (raw[:-1].astype(np.float64) * scaler).astype(np.float32))
    for to, version in [("rlds", None), ("lerobot", "v2.1"), ("lerobot", "v3.0")]:
        out = tmp_path / f"{to}-{version}"
        convert(tmp_path / "src", to, out, version=version or "v2.1")
        back = open_dataset(out, "train", frames=False)
        assert np.array_equal(back.episode_raw_actions(0), raw[:-1].astype(np.float64)), (to, version)
        np.testing.assert_array_equal(back.episode_actions(0), ds.episode_actions(0))


def test_episode_ids_from_the_record(tmp_path: Path) -> None:
    """A record's own id (string or integer, Example or SequenceExample context) names its
    episode; only a record without one is named by shard and index."""
    t = 17
    images = [_jpeg(5 * k) for k in range(t)]
    base = {"steps/observation/rgb": images, "steps/action": np.zeros((t, 2), np.float32)}
    shard = tmp_path / "lt/language_table-train.tfrecord-00000-of-00001"
    _write_shard(
        shard,
        [
            {**base, "episode_metadata/episode_id": np.array([27])},
            {**base, "episode_metadata/episode_id": [b"lt-000031"]},
            {**base, "episode_metadata/file_path": [b"raw/episode_9.npz"]},
            base,
        ],
    )
    with TFRecordWriter(shard.with_name("language_table-train.tfrecord-00001-of-00002")) as w:
        w.write(
            encode_sequence_example(
                {"episode_metadata/episode_id": np.array([1 << 40])},
                {"steps/observation/rgb": [[im] for im in images], "steps/action": [np.zeros(2, np.float32)] * t},
            )
        )
    ds = RLDSDataset(tmp_path / "lt", "train")
    assert ds.layout.name == "language_table"
    assert [ds.episode_id(i) for i in range(5)] == [
        "27",
        "lt-000031",
        "raw/episode_9.npz",
        "language_table-train.tfrecord-00000-of-00001#3",
        str(1 << 40),
    ]


def test_converter_writes_tfds_metadata(rt1_root: Path, tmp_path: Path) -> None:
    """``features.json`` / ``dataset_info.json`` describe what the shards hold (tests/interop opens them with tfds)."""
    out = convert(rt1_root, "rlds", tmp_path / "rt1r", layout="bridge")[0]
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["name"] == "bridge" and info["fileFormat"] == "tfrecord"
    assert [(s["name"], s["shardLengths"]) for s in info["splits"]] == [("train", ["2"]), ("test", ["1"])]
    assert info["splits"][0]["numBytes"] == str((out / "bridge-train.tfrecord-00000-of-00001").stat().st_size)
    steps = json.loads((out / "features.json").read_text())["featuresDict"]["features"]["steps"]
    assert steps["pythonClassName"].endswith("dataset_feature.Dataset")
    step = steps["sequence"]["feature"]["featuresDict"]["features"]
    assert step["observation"]["featuresDict"]["features"]["image"]["image"]["shape"]["dimensions"] == ["32", "48", "3"]
    action = step["action"]["featuresDict"]["features"]
    assert action["world_vector"]["tensor"]["shape"]["dimensions"] == ["3"]
    assert action["open_gripper"]["tensor"] == {"dtype": "bool", "encoding": "none", "shape": {}}
    assert set(step) == {"observation", "action", "is_first", "is_last", "is_terminal", "reward"}
