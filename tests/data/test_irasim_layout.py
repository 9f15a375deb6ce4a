"""The IRASim layout: paths, flavour detection, the atomic episode writer, and the reader reading
what the writer wrote."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from freeaction.data import irasim_layout as layout
from freeaction.data.irasim import IRASimDataset
from freeaction.data.irasim_layout import episode_exists, flavour_of, media_path, write_episode
from freeaction.data.latents import load_latent_file
from freeaction.data.video import read_frames
from freeaction.errors import DataError, InputError
from freeaction.files import TEMP_MARK, temp_path
from freeaction.sim.pusher import generate_episode


def _temp_files(root):
    return [p for p in root.rglob(f"*{TEMP_MARK}*")]


def _ramp(t: int, size: tuple[int, int] = (16, 24), colour: tuple[int, int, int] = (200, 40, 40)) -> np.ndarray:
    """t frames of one colour whose brightness grows with the frame index."""
    f = np.zeros((t, *size, 3), np.uint8)
    for k in range(t):
        f[k] = (np.asarray(colour) * (k + 1) / t).astype(np.uint8)
    return f


def test_paths_are_irasims():
    assert layout.annotation_relpath("val", "000007") == "annotation/val/000007.json"
    assert layout.video_relpath("val", "000007") == "videos/val/000007/rgb.mp4"
    assert layout.video_relpath("val", "000007", camera=2) == "videos/val/000007/rgb_2.mp4"
    assert layout.latent_relpath("val", "000007", camera=1) == "latent_videos/val/000007/1.pt"
    assert layout.ENCODE_MARKER == "latent_videos/freeaction_encode.json"


def test_flavour_detection_and_media_paths(tmp_path):
    rt1 = {"state": [[0] * 6] * 3, "continuous_gripper_state": [0, 0, 1],
           "videos": [{"video_path": "v0.mp4"}, {"video_path": "v1.mp4"}],
           "latent_videos": [{"latent_video_path": "l0.pt"}, {"latent_video_path": "l1.pt"}]}
    lt = {"actions": [[0.1, 0.2]] * 2, "video_path": "v.mp4"}
    assert flavour_of(rt1) == "7d" and flavour_of(lt) == "2d" and flavour_of({"episode_id": "x"}) is None
    assert flavour_of({**lt, "state": rt1["state"]}) == "7d"  # 'state' decides, as IRASim's RT-1 loader does
    assert media_path(rt1, "video", 1, "a.json") == ("v1.mp4", "videos[1].video_path")
    assert media_path(rt1, "latent", 0, "a.json") == ("l0.pt", "latent_videos[0].latent_video_path")
    assert media_path(lt, "video", 0, "b.json") == ("v.mp4", "video_path")
    assert media_path(lt, "latent", 0, "b.json") == (None, "latent_video_path")  # not encoded
    no_latents = {k: v for k, v in rt1.items() if k != "latent_videos"}
    assert media_path(no_latents, "latent", 0, "a.json")[0] is None
    with pytest.raises(DataError, match=r"a\.json: camera 2 requested but 'videos' lists 2"):
        media_path(rt1, "video", 2, "a.json")
    with pytest.raises(DataError, match=r"b\.json: missing field 'video_path'"):
        media_path({"actions": lt["actions"]}, "video", 0, "b.json")
    with pytest.raises(DataError, match=r"c\.json: not an IRASim annotation.*found keys \['episode_id'\]"):
        media_path({"episode_id": "x"}, "video", 0, "c.json")


def test_round_trip_2d_with_latents(tmp_path):
    frames, actions = _ramp(6), np.random.default_rng(0).normal(0, 0.05, (5, 2))
    lat = torch.randn(6, 4, 2, 3)
    path = write_episode(tmp_path, "train", "ep0", frames, {"actions": actions, "sim": "ramp"}, 10, latents=lat)
    assert path == tmp_path / "annotation/train/ep0.json"
    ann = json.loads(path.read_text())
    assert ann["sim"] == "ramp" and ann["episode_id"] == "ep0" and ann["num_frames"] == 6
    stored = torch.load(tmp_path / ann["latent_video_path"], weights_only=True)
    assert isinstance(stored, dict) and torch.equal(stored["obs"], lat)  # Language-Table style
    ds = IRASimDataset(tmp_path, "train", num_frames=4, latents=True, irasim_window_count=False)
    assert ds.flavour == "2d" and ds.num_episodes == 1 and len(ds) == 3
    ep = ds.episode(0)
    np.testing.assert_allclose(ep.actions, actions * 20, rtol=1e-6)
    assert np.abs(ep.frames.astype(int) - frames).max() <= 3
    torch.testing.assert_close(ds[1].latents, lat[1:5])
    assert layout.latents_complete(tmp_path) and layout.count_episodes(tmp_path) == {"train": 1, "val": 0, "test": 0}


def test_round_trip_7d_two_cameras(tmp_path):
    t = 5
    states = np.cumsum(np.random.default_rng(1).normal(0, 0.1, (t, 6)), axis=0)
    grip = np.linspace(0, 1, t)
    cams = [_ramp(t, colour=(200, 30, 30)), _ramp(t, colour=(30, 30, 200))]
    lats = [torch.randn(t, 4, 2, 3), torch.randn(t, 4, 2, 3)]
    write_episode(tmp_path, "test", "e", cams, {"state": states, "continuous_gripper_state": grip}, 5, latents=lats)
    ann = json.loads((tmp_path / "annotation/test/e.json").read_text())
    assert ann["videos"] == [{"video_path": "videos/test/e/rgb.mp4"}, {"video_path": "videos/test/e/rgb_1.mp4"}]
    assert torch.equal(torch.load(tmp_path / "latent_videos/test/e/1.pt", weights_only=True), lats[1])  # bare
    for camera in (0, 1):
        ep = IRASimDataset(tmp_path, "test", num_frames=4, camera=camera, latents=True).episode(0)
        assert ep.actions.shape == (t - 1, 7)
        assert np.abs(ep.frames.astype(int) - cams[camera]).max() <= 3
        torch.testing.assert_close(ep.latents, lats[camera])
        torch.testing.assert_close(load_latent_file(tmp_path / f"latent_videos/test/e/{camera}.pt"), lats[camera])
    with pytest.raises(InputError, match="one camera"):
        write_episode(tmp_path, "test", "f", cams, {"actions": np.zeros((t - 1, 2))}, 5)
    pose = {"state": states, "continuous_gripper_state": grip}
    with pytest.raises(InputError, match="same number of frames"):
        write_episode(tmp_path, "test", "g", [cams[0], cams[1][:3]], pose, 5)


def test_latents_complete_counts_every_episode(tmp_path):
    frames = _ramp(3)
    write_episode(tmp_path, "train", "a", frames, {"actions": np.zeros((2, 2))}, 10, latents=torch.zeros(3, 4, 2, 3))
    write_episode(tmp_path, "val", "b", frames, {"actions": np.zeros((2, 2))}, 10)
    assert not layout.latents_complete(tmp_path)
    layout.save_latents(tmp_path / layout.latent_relpath("val", "b"), torch.zeros(3, 4, 2, 3), "2d")
    assert layout.latents_complete(tmp_path)


def test_write_episode_2d_layout_and_round_trip(tmp_path):
    frames, ann = generate_episode(0, 0, (64, 64), frames=12)
    write_episode(tmp_path, "test", "000000", frames, ann, fps=10)
    data = json.loads((tmp_path / "annotation/test/000000.json").read_text())
    assert data["video_path"] == "videos/test/000000/rgb.mp4"
    assert data["latent_video_path"] == "latent_videos/test/000000/0.pt"
    assert data["episode_id"] == "000000" and data["fps"] == 10 and data["num_frames"] == 12
    assert np.asarray(data["actions"]).shape == (11, 2)
    assert not _temp_files(tmp_path)
    decoded = read_frames(tmp_path / data["video_path"])
    assert decoded.shape == frames.shape
    err = np.abs(decoded.astype(np.int16) - frames)
    assert err.mean() < 1.0 and err.max() <= 3  # lossless yuv444p: only RGB<->YUV rounding


def test_write_episode_7d_fields_and_validation(tmp_path):
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    ann = {"state": np.zeros((4, 6)), "continuous_gripper_state": [0.0, 0.5, 1.0, 1.0]}
    write_episode(tmp_path, "train", "ep1", frames, ann, fps=5)
    data = json.loads((tmp_path / "annotation/train/ep1.json").read_text())
    assert data["videos"] == [{"video_path": "videos/train/ep1/rgb.mp4"}]
    assert data["latent_videos"] == [{"latent_video_path": "latent_videos/train/ep1/0.pt"}]
    with pytest.raises(InputError, match="state"):
        write_episode(tmp_path, "train", "ep2", frames, {**ann, "state": np.zeros((3, 6))}, fps=5)
    with pytest.raises(InputError, match="actions"):
        write_episode(tmp_path, "train", "ep3", frames, {"actions": np.zeros((4, 2))}, fps=5)
    assert not episode_exists(tmp_path, "train", "ep2") and not episode_exists(tmp_path, "train", "ep3")


def test_crash_between_video_and_json_leaves_no_episode(tmp_path, monkeypatch):
    frames, ann = generate_episode(1, 0, (32, 32), frames=4)

    def crash(path, text):
        temp_path(path).write_text(text[:10])  # a half-written JSON
        raise KeyboardInterrupt

    monkeypatch.setattr(layout, "write_text_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        write_episode(tmp_path, "train", "000001", frames, ann, fps=10)
    assert (tmp_path / "videos/train/000001/rgb.mp4").is_file()
    assert not episode_exists(tmp_path, "train", "000001")
    assert layout.clean_temp_files(tmp_path) == 1 and not _temp_files(tmp_path)


def test_temp_names_never_match_episode_files(tmp_path):
    frames, ann = generate_episode(2, 0, (32, 32), frames=3)
    write_episode(tmp_path, "val", "000002", frames, ann, fps=10)
    assert layout.clean_temp_files(tmp_path) == 0
    assert episode_exists(tmp_path, "val", "000002")
    assert os.path.getsize(tmp_path / "videos/val/000002/rgb.mp4") > 0
