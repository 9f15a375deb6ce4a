"""The pusher simulator: determinism, effector visibility, achieved actions, scales."""

from __future__ import annotations

import json

import numpy as np
import pytest

import freeaction.sim as sim
from freeaction.data.video import read_frames
from freeaction.errors import InputError
from freeaction.sim import pusher


def find_effector(frame: np.ndarray, color) -> tuple[np.ndarray, int]:
    """Centroid [x, y] and pixel count of the pixels close to the effector colour."""
    dist = np.linalg.norm(frame.astype(np.float32) - np.asarray(color, np.float32), axis=-1)
    rows, cols = np.nonzero(dist < 40)
    return np.array([cols.mean(), rows.mean()]), len(rows)


@pytest.fixture(scope="module")
def episodes():
    return [pusher.generate_episode(i, 7, (64, 64), frames=20) for i in range(4)]


def test_generate_is_deterministic():
    f1, a1 = pusher.generate_episode(3, 11, (64, 64), frames=10)
    f2, a2 = pusher.generate_episode(3, 11, (64, 64), frames=10)
    assert np.array_equal(f1, f2) and json.dumps(a1) == json.dumps(a2)
    f3, _ = pusher.generate_episode(4, 11, (64, 64), frames=10)
    assert not np.array_equal(f1, f3)


def test_effector_found_by_colour_within_1px(episodes):
    for frames, ann in episodes:
        ee_px = np.asarray(ann["ee_px"])
        assert ee_px.shape == (len(frames), 2)
        for frame, expected in zip(frames, ee_px, strict=True):
            centre, count = find_effector(frame, ann["ee_color"])
            assert np.abs(centre - expected).max() <= 1.0
            assert count >= 28  # a disc at least 6 px across


def test_actions_are_the_achieved_effector_motion(episodes):
    for frames, ann in episodes:
        actions = np.asarray(ann["actions"])
        assert actions.shape == (len(frames) - 1, 2)
        ppm = ann["sim"]["px_per_meter"]
        np.testing.assert_allclose(actions * ppm, np.diff(ann["ee_px"], axis=0), atol=1e-9)
        seen = np.array([find_effector(f, ann["ee_color"])[0] for f in frames])
        assert np.abs(np.diff(seen, axis=0) - actions * ppm).max() <= 1.0
        assert np.abs(actions).max() <= 0.0601  # Language-Table's raw scale


def test_dataset_holds_small_and_large_motions():
    steps = np.concatenate([np.linalg.norm(pusher.generate_episode(i, 0, (32, 32))[1]["actions"], axis=1)
                            for i in range(8)])
    assert (steps < 0.003).mean() > 0.05 and (steps > 0.03).mean() > 0.05


def test_any_size_and_options():
    frames, ann = pusher.generate_episode(0, 0, (48, 80), frames=[5, 7], blocks=[4, 4])
    assert frames.shape[1:] == (48, 80, 3) and 5 <= len(frames) <= 7 and len(ann["blocks"]) == 4
    centre, _ = find_effector(frames[0], ann["ee_color"])
    assert np.abs(centre - ann["ee_px"][0]).max() <= 1.0
    with pytest.raises(InputError, match="frames"):
        pusher.normalize_options({"frames": [9, 3]})


def test_same_bytes_across_worker_counts(tmp_path):
    opts = {"frames": [6, 9], "blocks": 3}
    a, b = tmp_path / "a", tmp_path / "b"
    sim.make_dataset("pusher", a, 4, seed=5, workers=1, progress=False, **opts)
    sim.make_dataset("pusher", b, 4, seed=5, workers=2, progress=False, **opts)
    jsons = sorted(p.relative_to(a) for p in a.glob("annotation/*/*.json"))
    assert len(jsons) == 4 and jsons == sorted(p.relative_to(b) for p in b.glob("annotation/*/*.json"))
    for rel in jsons:
        ja, jb = json.loads((a / rel).read_text()), json.loads((b / rel).read_text())
        assert np.asarray(ja["actions"]).tobytes() == np.asarray(jb["actions"]).tobytes()
        assert np.array_equal(read_frames(a / ja["video_path"]), read_frames(b / jb["video_path"]))
    ids = {s: {p.stem for p in (a / "annotation" / s).glob("*.json")} for s in sim.SPLITS}
    assert not (ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
    assert set().union(*ids.values()) == {f"{i:06d}" for i in range(4)}


def test_world_2_has_larger_distinct_blocks_and_more_pushes():
    sizes, contact = [], []
    for i in range(6):
        frames, ann = pusher.generate_episode(i, 3, (64, 64), world=2, frames=30)
        assert ann["sim"]["world"] == 2 and 3 <= len(ann["blocks"]) <= 4
        shapes = [b["shape"] for b in ann["blocks"]]
        colors = [b["color"] for b in ann["blocks"]]
        assert len(set(shapes)) == len(shapes) and len(set(colors)) == len(colors)
        sizes += [b["size_m"] * ann["sim"]["px_per_meter"] for b in ann["blocks"]]
        moved = np.linalg.norm(np.diff(np.asarray(ann["block_xy"]), axis=0), axis=-1).max(axis=1)
        contact.append(np.mean(moved > 1e-4))
    assert min(sizes) > 10.5  # world 1's blocks are 7.7-14 px
    world1 = [b["size_m"] * 128 for i in range(6)
              for b in pusher.generate_episode(i, 3, (64, 64), frames=2)[1]["blocks"]]
    assert min(world1) < 10.5
    assert np.mean(contact) > 0.2


def test_world_1_is_the_default_and_is_not_recorded():
    assert pusher.normalize_options({}) == {"frames": [40, 60], "blocks": [3, 5]}
    assert pusher.normalize_options({"world": 2})["blocks"] == [3, 4]
    with pytest.raises(InputError, match="world"):
        pusher.normalize_options({"world": 4})


def test_world_3_films_world_2_at_twice_the_frame_rate():
    f2, a2 = pusher.generate_episode(5, 3, (64, 64), world=2, frames=12)
    f3, a3 = pusher.generate_episode(5, 3, (64, 64), world=3, frames=12)
    assert len(f2) == 12 and len(f3) == 23 and len(a3["actions"]) == len(a3["commanded_actions"]) == 22
    # the same episode: every other frame of world 3 is world 2's, bit for bit, and so are the poses
    np.testing.assert_array_equal(f3[::2], f2)
    np.testing.assert_array_equal(np.array(a3["ee_xy"])[::2], a2["ee_xy"])
    np.testing.assert_array_equal(np.array(a3["block_xy"])[::2], a2["block_xy"])
    # two frames' actions make up one control step's; the frames in between are new states
    act3 = np.array(a3["actions"])
    np.testing.assert_allclose(act3[0::2] + act3[1::2], a2["actions"], atol=1e-12)
    moving = np.linalg.norm(np.array(a2["actions"]), axis=1) > 0.005
    assert moving.any() and np.abs(f3[1::2][moving] - f3[2::2][moving].astype(int)).max() > 0
    assert a3["sim"]["world"] == 3 and a3["sim"]["frames_per_step"] == 2
    assert [s["start"] for s in a3["behaviours"]] == [2 * s["start"] for s in a2["behaviours"]]
    assert pusher.frame_rate({"world": 3}) == 20 and pusher.frame_rate({"world": 2}) == 10
    assert pusher.frame_rate({}) == 10


def test_world_3_dataset_and_sim_step_run_at_20_frames_per_s(tmp_path):
    sim.make_dataset("pusher", tmp_path / "w3", 1, workers=1, progress=False, world=3, frames=4)
    assert json.loads((tmp_path / "w3" / "dataset.json").read_text())["fps"] == 20
    ann = json.loads(next((tmp_path / "w3" / "annotation").rglob("*.json")).read_text())
    assert ann["fps"] == 20 and ann["num_frames"] == 7
    # PusherSim.step is one frame of its world (the environments' and play's step): in world 3
    # half a control step's substeps, over which the effector still goes where it is sent
    for world, substeps in ((2, pusher.SUBSTEPS), (3, pusher.SUBSTEPS // 2)):
        s = pusher.PusherSim(np.random.default_rng(0), 500.0, 500.0, 0, pusher.WORLDS[world])
        calls, step = [], s.space.step
        s.space.step = lambda dt, step=step, calls=calls: (calls.append(dt), step(dt))
        start = s.ee_pos
        s.step(np.array([10.0, -5.0]))
        assert len(calls) == substeps and calls[0] == pytest.approx(1 / (pusher.FPS * pusher.SUBSTEPS))
        np.testing.assert_allclose(s.ee_pos - start, [10.0, -5.0], atol=0.5)


def test_make_option_flag_reaches_the_simulator(tmp_path):
    from freeaction.cli import main

    out = tmp_path / "w2"
    assert main(["data", "make", "pusher", str(out), "--episodes", "2", "--workers", "1",
                 "--option", "world=2", "--option", "frames=[5, 6]"]) == 0
    ann = json.loads(next((out / "annotation").rglob("*.json")).read_text())
    assert ann["sim"]["world"] == 2 and 5 <= len(ann["actions"]) + 1 <= 6
    assert main(["data", "make", "pusher", str(tmp_path / "bad"), "--option", "world"]) == 2
    assert main(["data", "make", "pusher", str(tmp_path / "bad"), "--option", "world=7"]) == 2
    assert not (tmp_path / "bad" / "annotation").exists()
