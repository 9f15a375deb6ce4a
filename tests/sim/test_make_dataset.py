"""make_dataset: resume after a crash, splits, manifests, refused folders (the episode writer
itself is tested in tests/data/test_irasim_layout.py)."""

from __future__ import annotations

import json

import pytest

import freeaction.sim as sim
from freeaction.data import irasim_layout
from freeaction.errors import InputError
from freeaction.files import TEMP_MARK

SMALL = {"frames": 6, "blocks": 2}


def _temp_files(root):
    return [p for p in root.rglob(f"*{TEMP_MARK}*")]


def test_interrupted_make_dataset_resumes_to_exactly_n(tmp_path, monkeypatch):
    real = irasim_layout.write_text_atomic
    calls = {"n": 0}

    def flaky(path, text):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        real(path, text)

    monkeypatch.setattr(irasim_layout, "write_text_atomic", flaky)
    with pytest.raises(KeyboardInterrupt):
        sim.make_dataset("pusher", tmp_path, 6, workers=1, progress=False, **SMALL)
    monkeypatch.undo()
    assert len(list(tmp_path.glob("annotation/*/*.json"))) == 3
    # What a killed run leaves: a lock of a dead process and temporary files.
    (tmp_path / sim.LOCK).write_text("999999999")
    (tmp_path / f"videos/train/.000005{TEMP_MARK}77").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / f"videos/train/.000005{TEMP_MARK}77").write_bytes(b"junk")

    summary = sim.make_dataset("pusher", tmp_path, 6, workers=1, progress=False, **SMALL)
    assert summary["skipped"] == 3 and summary["written"] == 3
    jsons = sorted(p.stem for p in tmp_path.glob("annotation/*/*.json"))
    assert jsons == [f"{i:06d}" for i in range(6)]
    assert len(list(tmp_path.glob("videos/*/*/rgb.mp4"))) == 6
    assert not _temp_files(tmp_path) and not (tmp_path / sim.LOCK).exists()
    manifest = json.loads((tmp_path / "dataset.json").read_text())
    assert manifest["complete"] and manifest["episodes"] == 6 and manifest["kind"] == "pusher"
    assert manifest["action_dim"] == 2 and manifest["fps"] == 10 and manifest["size"] == [64, 64]
    again = sim.make_dataset("pusher", tmp_path, 6, workers=1, progress=False, **SMALL)
    assert again["written"] == 0 and again["skipped"] == 6


def test_splits_disjoint_and_stable():
    fr = (0.8, 0.1, 0.1)
    splits = [sim.split_of(i, fr) for i in range(1000)]
    counts = {s: splits.count(s) for s in sim.SPLITS}
    assert abs(counts["train"] - 800) <= 5 and abs(counts["val"] - 100) <= 5
    assert [sim.split_of(i, fr) for i in range(10)] == splits[:10]  # independent of N
    with pytest.raises(InputError, match="split_fractions"):
        sim.split_of(0, (0.5, 0.1, 0.1))


def test_mismatched_settings_are_refused(tmp_path):
    sim.make_dataset("pusher", tmp_path, 1, workers=1, progress=False, **SMALL)
    for kwargs, field in [({"seed": 1}, "seed"), ({"size": (32, 32)}, "size"),
                          ({"blocks": 3}, "options"), ({"split_fractions": (0.5, 0.25, 0.25)}, "split")]:
        args = {**SMALL, **kwargs}
        with pytest.raises(InputError, match=field):
            sim.make_dataset("pusher", tmp_path, 2, workers=1, progress=False, **args)
    with pytest.raises(InputError, match="unknown pusher option"):
        sim.make_dataset("pusher", tmp_path, 2, workers=1, progress=False, colour="red")
    with pytest.raises(InputError, match="unknown simulator kind"):
        sim.make_dataset("lego", tmp_path, 2)
    foreign = tmp_path / "foreign"
    (foreign / "annotation").mkdir(parents=True)
    with pytest.raises(InputError, match="dataset.json"):
        sim.make_dataset("pusher", foreign, 1, workers=1, progress=False)


def test_missing_optional_dependency_message(monkeypatch):
    def fake_import(name):
        raise ModuleNotFoundError("No module named 'robosuite'", name="robosuite")

    monkeypatch.setattr(sim.importlib, "import_module", fake_import)
    with pytest.raises(sim.MissingDependencyError, match=r"pip install 'freeaction\[arm\]'"):
        sim.load_kind("arm")


def test_small_datasets_get_every_split():
    for n in range(3, 12):
        splits = sim.assign_splits(n)
        assert set(splits) == set(sim.SPLITS), (n, splits)
    assert sim.assign_splits(4) == ["train", "train", "test", "val"]
    assert sim.assign_splits(2) == ["train", "train"]  # too few for three splits
    assert sim.assign_splits(5, (0.0, 0.0, 1.0)) == ["test"] * 5  # an empty fraction stays empty


def test_large_datasets_keep_their_splits():
    # the assignment datasets of 9 or more episodes were made with: split_of, episode by episode
    for n in (9, 100, 1000):
        assert sim.assign_splits(n) == [sim.split_of(i) for i in range(n)]
    hundred = sim.assign_splits(100)
    assert {s: hundred.count(s) for s in sim.SPLITS} == {"train": 81, "val": 9, "test": 10}
    assert [i for i, s in enumerate(hundred) if s == "test"][:4] == [8, 21, 29, 42]


def test_four_episodes_have_a_test_split_and_grow_without_moving(tmp_path):
    sim.make_dataset("pusher", tmp_path, 4, workers=1, progress=False, **SMALL)
    ids = {s: sorted(p.stem for p in (tmp_path / "annotation" / s).glob("*.json")) for s in sim.SPLITS}
    assert ids == {"train": ["000000", "000001"], "val": ["000003"], "test": ["000002"]}
    more = sim.make_dataset("pusher", tmp_path, 5, workers=1, progress=False, **SMALL)
    assert more["written"] == 1 and more["skipped"] == 4  # episode 2 stays in test
    assert json.loads((tmp_path / "dataset.json").read_text())["complete"]
    assert sorted(p.stem for p in (tmp_path / "annotation" / "test").glob("*.json")) == ["000002", "000004"]
