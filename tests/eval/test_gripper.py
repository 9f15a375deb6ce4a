"""The gripper reader: it learns a known open/closed difference, is stored without pickle, and
refuses data without gripper labels clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from freeaction.errors import DataError, InputError
from freeaction.eval.objects import clip_closed_states, gripper_agreement, load_reader, train_reader
from freeaction.eval.objects.gripper import CLOSED_ABOVE, closed_states, fit_reader, save_reader


def synthetic_frames(closed: np.ndarray, seed: int = 0) -> np.ndarray:
    """Grey-table frames with a grey hand at a random place; its two 1-px fingers 5 px apart when
    open and 1 px apart when closed (about what 64x64 shows of the Panda's)."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(closed), 32, 32, 3), np.uint8)
    for i, shut in enumerate(closed):
        out[i] = rng.integers(150, 200)
        x, y = rng.integers(4, 22), rng.integers(4, 20)
        out[i, y : y + 4, x : x + 7] = 90  # the hand
        gap = 1 if shut else 5
        out[i, y + 4 : y + 8, x] = out[i, y + 4 : y + 8, x + gap + 1] = 60  # the fingers
    return out


def as_tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()


def test_the_reader_learns_the_finger_gap_and_survives_saving(tmp_path):
    labels = np.arange(400) % 2 == 0
    reader = fit_reader(as_tensor(synthetic_frames(labels)), torch.from_numpy(labels), width=8, steps=300)
    held_out = np.arange(64) % 3 == 0
    frames = synthetic_frames(held_out, seed=1)
    assert (reader.read(frames) == held_out).mean() >= 0.95
    path = save_reader(reader, tmp_path / "reader")
    assert path.suffix == ".safetensors" and json.loads(path.with_suffix(".json").read_text())["info"]["steps"] == 300
    again = load_reader(path.with_suffix(".json"))
    assert np.array_equal(again.read(frames), reader.read(frames))
    # agreement counts frames 1..n only: frame 0 is the given context
    assert gripper_agreement(reader, frames[:9], held_out[:9]) == pytest.approx(
        (reader.read(frames[1:9]) == held_out[1:9]).mean())
    flipped = ~held_out[:9]
    assert gripper_agreement(reader, frames[:9], flipped) == pytest.approx(
        1 - gripper_agreement(reader, frames[:9], held_out[:9]))


def test_labels_come_from_the_annotation_or_not_at_all(tmp_path):
    state = [0.0, 0.05, CLOSED_ABOVE + 0.01, 0.33, 1.0]
    assert closed_states({"continuous_gripper_state": state}).tolist() == [False, False, True, True, True]
    assert closed_states({"block_xy": []}) is None  # pusher data: no gripper
    with pytest.raises(DataError, match="non-finite"):
        closed_states({"continuous_gripper_state": [0.0, float("nan")]})
    ann = tmp_path / "a.json"
    ann.write_text(json.dumps({"continuous_gripper_state": state}))
    assert clip_closed_states({"annotation": str(ann)}, 2, 3).tolist() == [True, True, True]
    assert clip_closed_states({}, 0, 3) is None
    with pytest.raises(DataError, match="needs 3..7"):
        clip_closed_states({"annotation": str(ann)}, 3, 4)


def test_one_state_only_or_no_labels_is_refused(eval_workspace, tmp_path):
    frames = as_tensor(synthetic_frames(np.zeros(8, bool)))
    with pytest.raises(DataError, match="every training frame's gripper is open"):
        fit_reader(frames, torch.zeros(8, dtype=torch.bool), steps=1)
    with pytest.raises(DataError, match="records no gripper state"):
        train_reader(eval_workspace / "data", tmp_path / "r.safetensors", size=(32, 32), steps=1)
    with pytest.raises(InputError, match="gripper reader not found"):
        load_reader(tmp_path / "missing.safetensors")


def test_auto_reads_the_gripper_of_the_arm_simulator_only(eval_workspace, tmp_path):
    from freeaction.eval.measure import load_gripper_reader
    from freeaction.eval.objects import arm_sim_dataset

    pusher = eval_workspace / "data"
    arm = tmp_path / "arm"
    arm.mkdir()
    (arm / "dataset.json").write_text(json.dumps({"format": "freeaction-sim-dataset/1", "kind": "arm"}))
    assert arm_sim_dataset(arm) and not arm_sim_dataset(pusher) and not arm_sim_dataset(tmp_path / "none")
    assert load_gripper_reader("auto", pusher, frame_size=(32, 32), device="cpu") is None
    assert load_gripper_reader(None, arm, frame_size=(32, 32), device="cpu") is None
    labels = np.arange(16) % 2 == 0
    reader = fit_reader(as_tensor(synthetic_frames(labels)), torch.from_numpy(labels), width=4, steps=2)
    path = save_reader(reader, arm / "gripper_reader" / "32x32")
    cached = load_gripper_reader("auto", arm, frame_size=(32, 32), device="cpu")  # found, not retrained
    assert cached is not None and cached.info == reader.info
    assert load_gripper_reader(str(path), pusher, frame_size=(32, 32), device="cpu").info == reader.info


def test_auto_without_a_cached_reader_or_a_train_split_measures_no_gripper(tmp_path, capsys):
    """The demo's arm episodes are a test split only: no reader can be trained on them."""
    from freeaction.eval.measure import load_gripper_reader

    arm = tmp_path / "arm"
    (arm / "annotation" / "test").mkdir(parents=True)
    (arm / "dataset.json").write_text(json.dumps({"format": "freeaction-sim-dataset/1", "kind": "arm"}))
    assert load_gripper_reader("auto", arm, frame_size=(32, 32), device="cpu") is None
    assert "no gripper agreement" in capsys.readouterr().err
    (arm / "annotation" / "train").mkdir()  # a train split: the reader is trained there (and fails on no episodes)
    with pytest.raises(DataError):
        load_gripper_reader("auto", arm, frame_size=(32, 32), device="cpu")


def write_arm_dataset(root, episodes: int = 3, frames: int = 6) -> None:
    """An arm-simulator dataset of synthetic gripper frames: ``episodes`` train episodes and one
    test episode, the gripper closed in frames 2, 3, 6, 7, ..."""
    from freeaction.data.irasim_layout import write_episode

    root.mkdir(parents=True)
    (root / "dataset.json").write_text(json.dumps({"format": "freeaction-sim-dataset/1", "kind": "arm"}))
    closed = np.arange(frames) // 2 % 2 == 1
    for i in range(episodes + 1):
        split = "train" if i < episodes else "test"
        ann = {"state": np.zeros((frames, 6)).tolist(), "continuous_gripper_state": closed.astype(float).tolist()}
        write_episode(root, split, f"{i:03d}", synthetic_frames(closed, seed=i), ann, 5)


def test_training_takes_a_subset_and_writes_only_where_told(tmp_path):
    from freeaction.eval.objects import reader_for_dataset

    data = tmp_path / "arm"
    write_arm_dataset(data)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    reader = train_reader(data, tmp_path / "out" / "r", size=(32, 32), episodes=2, frame_stride=2, width=4, steps=2)
    assert reader.info["frames"] == 2 * 3 and reader.info["train_episodes"] == 2  # frames 0, 2, 4 of 2 episodes
    assert reader.info["test_frames"] == 6  # the test split is scored whole
    assert (tmp_path / "out" / "r.safetensors").is_file()
    cache = tmp_path / "cache"
    save_reader(reader, cache / "32x32")
    assert reader_for_dataset(data, (32, 32), cache=cache).info == reader.info  # found there, not retrained
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before  # the dataset was only read
    with pytest.raises(InputError, match="episodes must be >= 1"):
        train_reader(data, tmp_path / "r", size=(32, 32), episodes=0, steps=1)
    with pytest.raises(InputError, match="frame_stride must be >= 1"):
        train_reader(data, tmp_path / "r", size=(32, 32), frame_stride=0, steps=1)


ORANGE = (0.95, 0.45, 0.1)


def painted_frames(closed: np.ndarray, seed: int = 0, size: int = 48) -> np.ndarray:
    """Grey frames with an orange hand (6x3 px) anywhere, and below it two orange 1-px fingers
    4 px apart when open and 3 px when closed: one pixel of difference, as holding a cube shows."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(closed), size, size, 3), np.uint8)
    orange = np.round(np.asarray(ORANGE) * 255).astype(np.uint8)
    for i, shut in enumerate(closed):
        out[i] = rng.integers(120, 200)
        y, x = rng.integers(2, size - 10), rng.integers(2, size - 10)
        out[i, y : y + 3, x : x + 6] = orange
        gap = 3 if shut else 4
        out[i, y + 3 : y + 7, x] = out[i, y + 3 : y + 7, x + gap + 1] = orange
    return out


def test_the_window_follows_the_painted_gripper_and_learns_a_one_pixel_gap(tmp_path):
    from freeaction.eval.objects.gripper import GripperReaderConfig, gripper_windows

    frames = np.full((2, 40, 40, 3), 150, np.uint8)
    frames[0, 10:13, 20:26] = np.round(np.asarray(ORANGE) * 255)  # paint centred at (11, 22.5)
    windows = gripper_windows(as_tensor(frames), ORANGE, 12)
    assert windows.shape == (2, 3, 24, 24)
    # the window's top row is 11 + 12 // 6 - 6 = 7 and its left column 22 - 6 = 16 (22.5 rounds to 22)
    hand = (windows[0, 0].numpy() > 200).nonzero()
    assert (hand[0].min() // 2, hand[1].min() // 2) == (10 - 7, 20 - 16)
    assert torch.equal(windows[1], gripper_windows(as_tensor(frames[1:]), ORANGE, 12)[0])  # no paint: the centre

    labels = np.arange(600) % 2 == 0
    reader = fit_reader(as_tensor(painted_frames(labels)), torch.from_numpy(labels), width=8, steps=400,
                        crop=18, gripper_rgb=ORANGE)
    held_out = np.arange(96) % 3 == 0
    assert (reader.read(painted_frames(held_out, seed=1)) == held_out).mean() >= 0.9
    again = load_reader(save_reader(reader, tmp_path / "crop"))
    assert again.config == reader.config and again.config.crop == 18 and again.config.gripper_rgb == (ORANGE,)

    for bad, message in (({"crop": 49}, "crop must be 0"), ({"crop": -1}, "crop must be 0"),
                         ({"crop": 12}, "crop needs the gripper's paint"),
                         ({"crop": 12, "gripper_rgb": (0.9, 0.4)}, "gripper_rgb: a paint is 3 values")):
        with pytest.raises(InputError, match=message):
            GripperReaderConfig(size=(48, 48), **bad)


def test_a_crop_needs_a_painted_world(tmp_path):
    data = tmp_path / "arm"
    write_arm_dataset(data, episodes=1)
    with pytest.raises(DataError, match="records no gripper paint"):
        train_reader(data, tmp_path / "r", size=(32, 32), crop=12, steps=1)


def test_the_window_finds_a_gripper_in_either_of_its_paints(tmp_path):
    """Arm world 5 lights the hand magenta while closed: the window follows both paints, and a reader
    saved with both finds the gripper after loading."""
    from freeaction.eval.objects.gripper import GripperReader, GripperReaderConfig, gripper_windows

    magenta = (0.85, 0.15, 0.85)
    frames = np.full((2, 40, 40, 3), 150, np.uint8)
    frames[0, 10:13, 20:26] = np.round(np.asarray(ORANGE) * 255)
    frames[1, 24:27, 8:14] = np.round(np.asarray(magenta) * 255)  # the lit hand, elsewhere
    both = gripper_windows(as_tensor(frames), (ORANGE, magenta), 12)
    orange_only = gripper_windows(as_tensor(frames), ORANGE, 12)
    assert torch.equal(both[0], orange_only[0])
    lit = (both[1, 0].numpy() > 200).nonzero()  # magenta's red channel: the hand inside the window
    assert (lit[0].min() // 2, lit[1].min() // 2) == (24 - (25 + 2 - 6), 8 - (10 - 6))
    assert not (orange_only[1, 0].numpy() > 200).any()  # one paint: the centre, where nothing is

    reader = GripperReader(GripperReaderConfig(size=(40, 40), width=8, crop=12, gripper_rgb=[ORANGE, magenta]))
    again = load_reader(save_reader(reader, tmp_path / "two"))
    assert again.config.gripper_rgb == (ORANGE, magenta)
    assert torch.equal(again.prepare(as_tensor(frames)), both)
