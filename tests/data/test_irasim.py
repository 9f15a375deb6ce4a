"""IRASim layout reader: the real Language-Table episode and RT-1/Bridge-style episodes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import random_poses, scipy_actions

from freeaction.data.irasim import IRASimDataset
from freeaction.data.poses import actions_from_states, euler_to_matrix, matrix_to_euler
from freeaction.data.video import count_frames
from freeaction.errors import DataError
from reference import LT_EXAMPLE


def test_languagetable_example_test_window() -> None:
    ann = json.loads((LT_EXAMPLE / "annotation/test/example.json").read_text())
    ds = IRASimDataset(LT_EXAMPLE, "test")
    assert ds.flavour == "2d" and ds.num_episodes == 1 and len(ds) == 1
    clip = ds[0]
    assert clip.episode_id == "000027" and clip.start == 0
    np.testing.assert_allclose(clip.actions, np.asarray(ann["actions"][:15]) * 20, rtol=1e-6)
    assert abs(np.abs(clip.actions).max() - 1.28) < 0.005
    np.testing.assert_allclose(clip.actions.std(0), [0.565, 0.589], atol=2e-3)
    assert clip.frames.shape == (16, 360, 640, 3) and clip.frames.dtype == np.uint8
    assert tuple(clip.latents.shape) == (16, 4, 36, 64)
    assert abs(clip.latents.mean().item() - 0.29300) < 1e-4


def test_languagetable_example_whole_files_and_train_windows() -> None:
    assert count_frames(LT_EXAMPLE / "videos/test/example.mp4") == 18
    ds = IRASimDataset(LT_EXAMPLE, "test", stride=1, frames=False)  # the training stride
    assert [ds.windows[k][1] for k in range(len(ds))] == [0, 1]  # IRASim counts len(actions) = 17 frames
    ep = ds.episode(0)
    assert ep.actions.shape == (17, 2) and tuple(ep.latents.shape) == (18, 4, 36, 64)
    torch.testing.assert_close(ds[1].latents, ep.latents[1:17])
    np.testing.assert_array_equal(ds[1].actions, ep.actions[1:16])
    small = IRASimDataset(LT_EXAMPLE, "test", size=(288, 512), latents=False)[0]
    assert small.frames.shape == (16, 288, 512, 3) and small.latents is None


def test_pose_conventions_match_scipy() -> None:
    from scipy.spatial.transform import Rotation

    rpy = Rotation.random(50, random_state=3).as_euler("xyz")
    np.testing.assert_allclose(euler_to_matrix(rpy), Rotation.from_euler("xyz", rpy).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(rpy)), rpy, atol=1e-9)
    states, grip = random_poses(np.random.default_rng(5), 30)
    np.testing.assert_allclose(actions_from_states(states, grip), scipy_actions(states, grip), atol=1e-9)


def test_rt1_windows_actions_cameras_latents(rt1_root: Path) -> None:
    ds = IRASimDataset(rt1_root, "train")
    assert ds.flavour == "7d" and ds.num_episodes == 2 and len(ds) == 2 * 5  # starts 0..4 of 20 frames
    ann = json.loads((rt1_root / "annotation/train/ep1.json").read_text())
    states, grip = np.asarray(ann["state"]), np.asarray(ann["continuous_gripper_state"])
    expected = scipy_actions(states, grip) * np.array([20] * 6 + [1])
    clip = ds[5 + 3]  # episode ep1, start 3
    assert (clip.episode_id, clip.start) == ("ep1", 3)
    np.testing.assert_allclose(clip.actions, expected[3:18], atol=1e-5)
    assert clip.frames.shape == (16, 32, 48, 3)
    assert clip.frames[:, 16:, 16:, 0].mean() > 150  # camera 0 is red
    lat = torch.load(rt1_root / "latent_videos/train/ep1/0.pt", weights_only=True)
    torch.testing.assert_close(clip.latents, lat[3:19])
    cam1 = IRASimDataset(rt1_root, "train", camera=1)[0]
    assert cam1.frames[:, 16:, 16:, 2].mean() > 150  # camera 1 is blue
    torch.testing.assert_close(cam1.latents, torch.load(rt1_root / "latent_videos/train/ep0/1.pt")[0:16])
    test = IRASimDataset(rt1_root, "test")
    assert len(test) == 1 and test.stride == 16  # 20 frames, starts every 16 -> only 0
    ep = test.episode(0)
    assert ep.actions.shape == (19, 7) and ep.frames.shape[0] == 20
    with pytest.raises(DataError, match=r"camera 2 requested.*ep0\.json|ep0\.json.*camera 2"):
        IRASimDataset(rt1_root, "train", camera=2)


def test_missing_split_and_latents(lt_root: Path) -> None:
    with pytest.raises(DataError, match="found splits: \\['train'\\]"):
        IRASimDataset(lt_root, "val")
    ds = IRASimDataset(lt_root, "train")
    assert ds.load_latents is False and ds[0].latents is None and ds.latents_present == 0
    assert len(ds) == 3 * 2  # 17 actions -> IRASim counts 17 frames -> starts 0, 1
    with pytest.raises(DataError, match="freeaction encode"):
        IRASimDataset(lt_root, "train", latents=True)


def test_escaping_paths_are_refused(lt_root: Path, tmp_path: Path) -> None:
    ann_path = lt_root / "annotation/train/001.json"
    ann = json.loads(ann_path.read_text())
    ann["video_path"] = "../outside.mp4"
    ann_path.write_text(json.dumps(ann))
    with pytest.raises(DataError, match=r"001\.json: field 'video_path'.*outside the dataset root"):
        IRASimDataset(lt_root, "train")
    # a symlink inside the root that points outside it
    outside = tmp_path / "elsewhere.mp4"
    os.replace(lt_root / "videos/train/001/rgb.mp4", outside)
    os.symlink(outside, lt_root / "videos/train/001/rgb.mp4")
    ann["video_path"] = "videos/train/001/rgb.mp4"
    ann_path.write_text(json.dumps(ann))
    with pytest.raises(DataError, match=r"001\.json.*outside the dataset root"):
        IRASimDataset(lt_root, "train")
    ds = IRASimDataset(lt_root, "train", skip_bad=True)
    assert ds.num_episodes == 2 and len(ds.skipped) == 1 and ds.skipped[0].path.endswith("001.json")


def test_bad_json_corrupt_video_and_unsafe_latent(lt_root: Path) -> None:
    (lt_root / "annotation/train/000.json").write_text('{"actions": [[0.1, 0.2]')
    with pytest.raises(DataError, match=r"000\.json: malformed JSON"):
        IRASimDataset(lt_root, "train")
    ds = IRASimDataset(lt_root, "train", skip_bad=True, frames=True)
    assert [s.path.endswith("000.json") for s in ds.skipped] == [True] and ds.num_episodes == 2
    (lt_root / "videos/train/002/rgb.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(300))
    with pytest.raises(DataError, match=r"002/rgb\.mp4"):
        ds[2]
    eps = list(ds.episodes())
    assert [e.episode_id for e in eps] == ["001"] and len(ds.skipped) == 2 and "rgb.mp4" in ds.skipped[1].reason
    # a latent file that needs unpickling arbitrary objects is refused, not executed
    lat = lt_root / "latent_videos/train/001/0.pt"
    lat.parent.mkdir(parents=True)
    torch.save({"obs": torch.zeros(18, 4, 4, 6), "evil": Path("x")}, lat)
    with pytest.raises(DataError, match=r"001/0\.pt: cannot load latents safely"):
        IRASimDataset(lt_root, "train", skip_bad=True, latents=True, frames=False)[0]
