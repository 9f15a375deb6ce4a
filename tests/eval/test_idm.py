"""The inverse-dynamics model: it learns to read actions from frames; safe file round trip; CLI."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import SIZE, run_cli

from freeaction.data import open_dataset
from freeaction.data.synthetic import write_irasim_episode
from freeaction.errors import InputError
from freeaction.eval.inverse_dynamics import load_idm, train_idm


def moving_square(root, episodes: int = 16, length: int = 20, seed: int = 0):
    """A bright square moved by the actions (up to 3 px per step) over a flat background."""
    rng = np.random.default_rng(seed)
    for e in range(episodes):
        raw = rng.uniform(-0.1, 0.1, (length - 1, 2))
        pos = np.clip(np.cumsum(np.vstack([[16, 16], raw * 30]), 0), 5, 26)
        frames = np.full((length, 32, 32, 3), 40, np.uint8)
        for k, (x, y) in enumerate(pos.round().astype(int)):
            frames[k, y - 3 : y + 3, x - 3 : x + 3] = (230, 200, 60)
        split = "train" if e < episodes * 3 // 4 else "test"
        write_irasim_episode(root, split, f"{e:03d}", frames, actions=np.diff(pos, axis=0) / 30)
    return root


def test_idm_reads_the_direction_of_motion(tmp_path):
    data = moving_square(tmp_path / "squares")
    result = train_idm(data, tmp_path / "idm.safetensors", size=SIZE, width=8, steps=100, batch_size=16, lr=3e-3,
                       progress=False)
    net = load_idm(result["path"])
    assert net.info["test_error"] == pytest.approx(result["test_error"], rel=1e-5)
    ds = open_dataset(data, "test")
    real, backwards, still = [], [], []
    for k in range(len(ds)):
        clip = ds[k]
        real.append(net.error(clip.frames, clip.actions))
        backwards.append(net.error(clip.frames[::-1], clip.actions[::-1]))  # the same frames played backwards
        still.append(float(np.abs(clip.actions).mean()))  # the error of predicting "no motion"
    assert np.mean(real) < 0.8 * np.mean(still)
    assert np.mean(real) < 0.8 * np.mean(backwards)


def test_idm_file_round_trip_and_errors(idm_file, tmp_path):
    net = load_idm(idm_file)
    frames = np.random.default_rng(0).integers(0, 256, (5, *SIZE, 3), dtype=np.uint8)
    again = load_idm(idm_file)
    assert np.array_equal(net.predict(frames), again.predict(frames))
    assert net.predict(frames).shape == (4, 2)
    with pytest.raises(InputError, match="2-D actions for 4 transitions"):
        net.error(frames, np.zeros((5, 2)))
    with pytest.raises(InputError, match="eval train-idm"):
        load_idm(tmp_path / "missing.safetensors")
    import torch
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(InputError, match="not an inverse-dynamics model"):
        load_idm(tmp_path / "other.safetensors")


def test_train_idm_cli(eval_workspace, tmp_path, capsys):
    out = tmp_path / "cli_idm.safetensors"
    assert run_cli("eval", "train-idm", eval_workspace / "data", "--out", out, "--steps", "3", "--size", "32", "32",
               "--width", "4", "--batch-size", "8", "--no-progress") == 0
    assert out.is_file() and '"test_error"' in capsys.readouterr().out
