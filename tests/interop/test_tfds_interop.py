"""freeaction's RLDS output opened by tensorflow-datasets, and tfds-written RLDS read by freeaction.

Frames are compared with TensorFlow's accurate-IDCT JPEG decode (what PIL's decoder computes);
tfds's default decode (fast IDCT) is allowed a few grey levels. Actions must be equal exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_helpers import flat_frames, random_poses
from interop_helpers import load, run_script

from freeaction.data.convert import convert
from freeaction.data.rlds import RLDSDataset
from freeaction.data.synthetic import write_irasim_episode

WRITTEN = {"fa-language_table": None, "fa-fractal20220817_data": None, "fa-bridge": "bridge"}
RECORDED = ("fractal20220817_data", "bridge", "language_table")
DEFAULT_DECODE_LEVELS = 16  # largest difference allowed between tfds's default (fast IDCT) decode and the accurate one


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """freeaction's RLDS conversions and tfds's reading of each (``<name>.npz``)."""
    tmp = tmp_path_factory.mktemp("tfds-converted")
    rng = np.random.default_rng(2)
    for split, eid in [("train", "ep0"), ("train", "ep1"), ("test", "ep2")]:
        states, grip = random_poses(rng, 10)
        write_irasim_episode(tmp / "src7", split, eid, [flat_frames(10, (200, 30, 30))], states=states, gripper=grip)
    for e in range(3):
        frames = flat_frames(12, (20, 80 + 60 * e, 20))
        write_irasim_episode(tmp / "src2", "train", f"{e:03d}", frames, actions=rng.normal(0, 0.03, (11, 2)))
    for name, layout in WRITTEN.items():
        convert(tmp / ("src2" if "language" in name else "src7"), "rlds", tmp / name, layout=layout)
    run_script("tfds", "tfds_read.py", *[a for n in WRITTEN for a in (tmp / n, tmp / f"{n}.npz")])
    return tmp


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RLDS folders written by tfds in the Open X layouts and tfds's reading of each."""
    tmp = tmp_path_factory.mktemp("tfds-recorded")
    run_script("tfds", "tfds_write.py", *[a for lay in RECORDED for a in (tmp / lay, lay)])
    run_script("tfds", "tfds_read.py", *[a for lay in RECORDED for a in (tmp / lay, tmp / f"{lay}.npz")])
    return tmp


def assert_reads_equal(root: Path, theirs: dict[str, np.ndarray], splits: list[str]) -> None:
    for split in splits:
        ds = RLDSDataset(root, split, stride=1)
        lengths = theirs[f"{split}/lengths"]
        assert ds.num_episodes == len(lengths)
        ids = theirs[f"{split}/ids"].tolist()
        if any(ids):  # the released language_table spec has no episode id
            assert [ds.episode_id(i) for i in range(ds.num_episodes)] == ids
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for i in range(ds.num_episodes):
            rows = slice(starts[i], starts[i + 1])
            ep = ds.episode(i)
            np.testing.assert_array_equal(ep.frames, theirs[f"{split}/frames"][rows])
            diff = np.abs(ep.frames.astype(int) - theirs[f"{split}/default_frames"][rows]).max()
            assert diff <= DEFAULT_DECODE_LEVELS
            np.testing.assert_array_equal(ds.episode_raw_actions(i), theirs[f"{split}/actions"][rows][:-1])


@pytest.mark.parametrize("name", WRITTEN)
def test_freeaction_output_opens_in_tfds(converted: Path, name: str) -> None:
    theirs = load(converted / f"{name}.npz")
    splits = ["train"] if "language" in name else ["train", "test"]
    assert str(theirs["name"]) == (WRITTEN[name] or name.removeprefix("fa-"))
    assert [k.split("/")[0] for k in theirs if k.endswith("/ids")] == splits
    if "language" not in name:
        assert theirs["train/ids"].tolist() == ["ep0", "ep1"] and theirs["test/ids"].tolist() == ["ep2"]
    assert_reads_equal(converted / name, theirs, splits)


@pytest.mark.parametrize("layout", RECORDED)
def test_tfds_recorded_dataset_reads_equal(recorded: Path, layout: str) -> None:
    theirs = load(recorded / f"{layout}.npz")
    assert_reads_equal(recorded / layout, theirs, ["train"])
