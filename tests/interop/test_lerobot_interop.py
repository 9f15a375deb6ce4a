"""freeaction's LeRobot output opened by the real lerobot, and lerobot's own datasets read by freeaction.

lerobot 0.4 reads v3.0 only (v2.1 raises BackwardCompatibilityError and points at its
converter), so v2.1 is read with lerobot 0.3.3 and also put through lerobot 0.4's own v2.1 -> v3.0
converter. Frames must equal lerobot's decode (pyav backend) bit for bit, actions exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from data_helpers import flat_frames
from interop_helpers import load, run_script

from freeaction.data import lerobot_stats
from freeaction.data.convert import convert
from freeaction.data.lerobot import LeRobotDataset
from freeaction.data.synthetic import write_irasim_episode

# datasets recorded by lerobot itself: name -> (lerobot 0.3 or 0.4, fps, codec, video file size in MB)
RECORDED = {
    "v30-h264-30fps-multifile": ("0.4", 30, "h264", 0.0001),
    "v30-av1-10fps": ("0.4", 10, "libsvtav1", None),
    "v21-av1-10fps": ("0.3", 10, "libsvtav1", None),
}
STATS = ("min", "max", "mean", "std", "count")
WRITTEN = ("fa-v21", "fa-v30", "fa-v30-per-episode", "fa-v21-lerobot-v30")


def read_with_lerobot(root: Path, names: list[str], legacy: bool = False) -> None:
    """lerobot's reading of each ``root/<name>`` saved as ``root/<name>.npz`` (one subprocess)."""
    args = [a for n in names for a in (root / n, root / f"{n}.npz")]
    run_script("lerobot", "lerobot_read.py", *args, legacy_lerobot=legacy)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """freeaction's conversions (one v2.1 also converted to v3.0 by lerobot) and lerobot's reading of each."""
    tmp = tmp_path_factory.mktemp("lerobot-converted")
    rng = np.random.default_rng(1)
    for e in range(3):
        frames = flat_frames(18, (20, 80 + 60 * e, 20))
        write_irasim_episode(tmp / "src", "train", f"{e:03d}", frames, actions=rng.normal(0, 0.03, (17, 2)))
    convert(tmp / "src", "lerobot", tmp / "fa-v21", version="v2.1")
    convert(tmp / "src", "lerobot", tmp / "fa-v30", version="v3.0")
    convert(tmp / "src", "lerobot", tmp / "fa-v30-per-episode", version="v3.0", episodes_per_file=1)
    shutil.copytree(tmp / "fa-v21", tmp / "fa-v21-lerobot-v30")
    read_with_lerobot(tmp, ["fa-v21"], legacy=True)
    run_script("lerobot", "lerobot_convert_v21.py", tmp, "fa-v21-lerobot-v30")
    read_with_lerobot(tmp, ["fa-v30", "fa-v30-per-episode", "fa-v21-lerobot-v30"])
    return tmp


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Datasets recorded by lerobot 0.4 (v3.0) and 0.3 (v2.1), and lerobot's reading of each."""
    tmp = tmp_path_factory.mktemp("lerobot-recorded")
    for version in ("0.4", "0.3"):
        names = [n for n, (v, *_) in RECORDED.items() if v == version]
        specs = [":".join(map(str, (tmp / n, *(x for x in RECORDED[n][1:] if x is not None)))) for n in names]
        run_script("lerobot", "lerobot_write.py", *specs, legacy_lerobot=version == "0.3")
        read_with_lerobot(tmp, names, legacy=version == "0.3")
    return tmp


def assert_reads_equal(root: Path, theirs: dict[str, np.ndarray]) -> None:
    """freeaction's frames and raw actions of every episode equal lerobot's reading."""
    ds = LeRobotDataset(root, "train", stride=1)
    assert ds.num_episodes == len(np.unique(theirs["episode_index"])) == 3
    for i in range(ds.num_episodes):
        rows = theirs["episode_index"] == i
        ep = ds.episode(i)
        np.testing.assert_array_equal(ep.frames, theirs["frames"][rows])
        np.testing.assert_array_equal(ds.episode_raw_actions(i), theirs["actions"][rows][:-1])


@pytest.mark.parametrize("name", WRITTEN)
def test_freeaction_output_opens_in_lerobot(converted: Path, name: str) -> None:
    theirs = load(converted / f"{name}.npz")
    expected = "v2.1" if name == "fa-v21" else "v3.0"
    assert str(theirs["codebase_version"]) == expected
    assert bool(theirs["has_stats"]) and set(theirs["task"].tolist()) == {""}
    assert theirs["frame_index"].tolist() == list(range(18)) * 3
    assert_reads_equal(converted / name, theirs)


def test_v30_stats_match_lerobots_conversion(converted: Path) -> None:
    """The stats freeaction writes for v3.0 are the ones lerobot derives from its v2.1 per-episode stats."""
    ours = json.loads((converted / "fa-v30/meta/stats.json").read_text())
    theirs = json.loads((converted / "fa-v21-lerobot-v30/meta/stats.json").read_text())
    assert ours.keys() == theirs.keys()
    for key in ours:
        for stat in ("min", "max", "mean", "std", "count"):
            np.testing.assert_allclose(ours[key][stat], theirs[key][stat], rtol=1e-6, err_msg=f"{key}/{stat}")


@pytest.mark.parametrize("name", RECORDED)
def test_lerobot_recorded_dataset_reads_equal(recorded: Path, name: str) -> None:
    theirs = load(recorded / f"{name}.npz")
    assert str(theirs["codebase_version"]) == ("v2.1" if name.startswith("v21") else "v3.0")
    if "multifile" in name:
        assert len(list((recorded / name / "videos").rglob("*.mp4"))) == 3
    assert_reads_equal(recorded / name, theirs)


def test_stats_equal_lerobots_own(recorded: Path) -> None:
    """``freeaction.data.lerobot_stats`` gives the per-episode stats lerobot 0.3 (v2.1 ``episodes_stats.jsonl``)
    and 0.4 (v3.0 ``stats/...`` columns, quantiles aside) computed from the frames and actions it was given.

    lerobot 0.4.4 computes a camera's std as sqrt(E[x^2] - E[x]^2) with x^2 taken in uint8, which wraps,
    so its camera std comes out 0 (clipped negative variance); freeaction keeps 0.3's exact std there.
    """
    for name in ("v21-av1-10fps", "v30-av1-10fps"):
        source = load(recorded / f"{name}.source.npz")
        if name.startswith("v21"):
            lines = (recorded / name / "meta/episodes_stats.jsonl").read_text().splitlines()
            theirs = [json.loads(line)["stats"] for line in lines]
        else:
            rows = pq.read_table(recorded / name / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
            keys = ("observation.images.main", "action")
            theirs = [{key: {stat: row[f"stats/{key}/{stat}"] for stat in STATS} for key in keys} for row in rows]
        assert len(theirs) == 3
        for e, stats in enumerate(theirs):
            ours = {
                "observation.images.main": lerobot_stats.camera_stats(source["frames"][e]),
                "action": lerobot_stats.numeric_stats(source["actions"][e]),
            }
            for key, feature in ours.items():
                for stat in STATS:
                    if (name, key, stat) == ("v30-av1-10fps", "observation.images.main", "std"):
                        continue
                    where = f"{name} episode {e} {key}/{stat}"
                    np.testing.assert_allclose(feature[stat], stats[key][stat], rtol=1e-6, err_msg=where)
