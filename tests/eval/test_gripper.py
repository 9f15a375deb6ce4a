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
