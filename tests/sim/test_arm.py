"""The robosuite arm simulator: valid frames, determinism, poses = simulator, RT-1-style actions.

Needs ``pip install freeaction[arm]`` (robosuite 1.5.2, mujoco 3.3.7) and a headless GL
(EGL, or ``MUJOCO_GL=osmesa``); skipped otherwise. The first episode of the session builds the
simulator (about 3 s; 10-15 s more on a cold numba cache).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

arm = pytest.importorskip("freeaction.sim.arm", reason="the arm simulator needs pip install 'freeaction[arm]'")

import freeaction.sim as sim  # noqa: E402
from freeaction.data.poses import actions_from_states  # noqa: E402
from freeaction.data.video import read_frames  # noqa: E402
from freeaction.errors import InputError  # noqa: E402
from freeaction.eval.objects import difference_mask, robot_iou, silhouette_iou  # noqa: E402

SIZE = (48, 64)  # not square, so height and width cannot be swapped unnoticed


def scipy_actions(state: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    """IRASim's RT-1 action derivation, written out with scipy: (T-1, 7) raw actions."""
    R = Rotation.from_euler("xyz", state[:, 3:6])  # R = Rz(yaw) Ry(pitch) Rx(roll)
    d_pos = R[:-1].inv().apply(state[1:, :3] - state[:-1, :3])
    d_rot = (R[:-1].inv() * R[1:]).as_euler("xyz")
    return np.concatenate([d_pos, d_rot, gripper[1:, None]], axis=1)


@pytest.fixture(scope="module")
def episode():
    frames, ann = arm.generate_episode(2, 7, SIZE, frames=24)
    # The simulator is still in the state of the last frame: read it back now.
    s = arm.get_sim()
    base_pos, base_rot = s.base_pose()
    last = {
        "site_pos": s.data.site_xpos[s.site_id].copy(),
        "site_rot": s.data.site_xmat[s.site_id].reshape(3, 3).copy(),
        "base": (base_pos, base_rot),
        "gripper_qpos": s.data.qpos[s.finger_qpos].copy(),
        "rerender": s.render(SIZE, 2),
    }
    return frames, ann, last


def test_frames_are_valid_upright_images(episode):
    frames, ann, _ = episode
    assert frames.dtype == np.uint8 and frames.shape == (24, *SIZE, 3)
    for f in frames:
        assert arm.frame_looks_rendered(f)
        assert f.std() > 30
    # Upright: the white table fills the lower third, the top third is walls and robot.
    white = frames.min(axis=-1) > 190
    third = SIZE[0] // 3
    assert white[:, -third:].mean() > 0.4 and white[:, :third].mean() < 0.15
    # Frames change when the gripper moves, and the motion is visible.
    step = np.linalg.norm(np.diff(np.asarray(ann["state"])[:, :3], axis=0), axis=1)
    change = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (change[step > 0.005] > 0.3).all()
    assert change.max() > 1.0


def test_frame_check_rejects_garbage():
    rng = np.random.default_rng(0)
    assert not arm.frame_looks_rendered(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    assert not arm.frame_looks_rendered(np.full((48, 64, 3), 127, np.uint8))
    assert not arm.frame_looks_rendered(np.zeros((48, 64, 3), np.uint8))


def test_stored_poses_are_the_simulator_poses(episode):
    frames, ann, last = episode
    state = np.asarray(ann["state"])
    grip = np.asarray(ann["continuous_gripper_state"])
    assert state.shape == (len(frames), 6) and grip.shape == (len(frames),)
    base_pos, base_rot = last["base"]
    # The last stored pose is the grip site pose in the base frame, in the documented convention.
    np.testing.assert_allclose(state[-1, :3], base_rot.T @ (last["site_pos"] - base_pos), atol=1e-12)
    R = Rotation.from_euler("xyz", state[-1, 3:6]).as_matrix()
    np.testing.assert_allclose(R, base_rot.T @ last["site_rot"], atol=1e-9)
    q1, q2 = last["gripper_qpos"]
    assert grip[-1] == pytest.approx(np.clip(1 - (q1 - q2) / 0.08, 0, 1), abs=1e-12)
    # ...and the last frame is what the simulator shows in that state.
    assert np.array_equal(last["rerender"], frames[-1])
    # The object poses are stored per frame too.
    assert np.asarray(ann["object_pos"]).shape == (len(frames), 2, 3)


def test_robot_masks_and_the_robot_free_scene():
    """With ``robot_masks`` the episode is the same, plus per-frame segmentation masks and robot-free
    renders; the pixels that differ from the robot-free scene are the segmented robot's."""
    frames, ann = arm.generate_episode(3, 7, SIZE, frames=10)
    with_masks, extra = arm.generate_episode(3, 7, SIZE, frames=10, robot_masks=True)
    assert np.array_equal(with_masks, frames) and np.array_equal(extra["state"], ann["state"])
    masks, free = extra["robot_mask"], extra["robot_free_frames"]
    assert masks.shape == (10, *SIZE) and masks.dtype == bool and free.shape == frames.shape
    assert 0.03 < masks.mean() < 0.5
    found = difference_mask(frames, free)
    agreement = silhouette_iou(masks, found)
    assert agreement.min() >= 0.75  # 0.83-0.87 measured at 64x64
    assert silhouette_iou(masks, np.roll(found, 6, axis=2)).max() < 0.6  # a shifted silhouette scores lower
    assert np.array_equal(robot_iou(frames, frames, free), np.ones(9))


def test_derived_actions_are_bounded_and_non_trivial():
    states, grips = [], []
    for i in range(3):
        _, ann = arm.generate_episode(i, 11, (32, 32), frames=20, behaviours=["wander", "reach", "push"],
                                      supersample=1)
        states.append(np.asarray(ann["state"]))
        grips.append(np.asarray(ann["continuous_gripper_state"]))
    actions = np.concatenate([scipy_actions(s, g) for s, g in zip(states, grips, strict=True)])
    ours = np.concatenate([actions_from_states(s, g) for s, g in zip(states, grips, strict=True)])
    np.testing.assert_allclose(actions, ours, atol=1e-9)  # the project's reader agrees with scipy
    step = np.linalg.norm(actions[:, :3], axis=1)
    assert step.max() < 0.06 and np.abs(actions[:, 3:6]).max() < 0.3  # x20: within [-1.2, 1.2], [-6, 6]
    assert step.max() > 0.015 and np.median(step) > 0.002  # the arm really moves
    assert np.abs(actions[:, 3:6]).max() > 0.02  # and turns
    assert (actions[:, 6] >= 0).all() and (actions[:, 6] <= 1).all()


def test_pick_closes_the_gripper_and_lifts():
    _, ann = arm.generate_episode(0, 3, (32, 32), frames=40, behaviours=["pick"], supersample=1)
    grip = np.asarray(ann["continuous_gripper_state"])
    assert grip[0] < 0.05 and grip.max() > 0.25  # opens fully, closes on a cube
    objects = np.asarray(ann["object_pos"])
    assert (objects[:, :, 2].max(axis=0) - objects[0, :, 2]).max() > 0.03  # a cube leaves the table
    assert ann["behaviours"][0]["name"] == "pick"


def test_generate_is_deterministic():
    f1, a1 = arm.generate_episode(1, 5, (32, 32), frames=10)
    arm.generate_episode(4, 9, (32, 32), frames=6)  # something else in between
    f2, a2 = arm.generate_episode(1, 5, (32, 32), frames=10)
    assert np.array_equal(f1, f2)
    assert json.dumps(a1, default=np.ndarray.tolist) == json.dumps(a2, default=np.ndarray.tolist)
    f3, a3 = arm.generate_episode(2, 5, (32, 32), frames=10)
    assert not np.array_equal(np.asarray(a1["state"]), np.asarray(a3["state"]))


def test_options_are_validated():
    assert arm.normalize_options({})["frames"] == [40, 60]
    assert arm.normalize_options({"frames": 30, "behaviours": "pick"})["behaviours"] == ["pick"]
    for bad in ({"frames": 1}, {"behaviours": ["fly"]}, {"supersample": 0}, {"camera_jitter": -1},
                {"colour": "red"}):
        with pytest.raises(InputError):
            arm.normalize_options(bad)


def test_make_dataset_end_to_end(tmp_path):
    out = tmp_path / "arm"
    summary = sim.make_dataset("arm", out, 2, seed=4, workers=2, size=(32, 32), progress=False, frames=8)
    assert summary["written"] == 2 and summary["frames"] == 16
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["complete"] and manifest["action_dim"] == 7 and manifest["fps"] == arm.FPS
    for i in range(2):
        eid = sim.episode_id(i)
        split = sim.split_of(i)
        ann = json.loads((out / "annotation" / split / f"{eid}.json").read_text())
        frames = read_frames(out / ann["videos"][0]["video_path"])
        assert frames.shape == (8, 32, 32, 3)
        # Made in worker processes, identical to an in-process run (lossless video up to YUV rounding).
        ref_frames, ref = arm.generate_episode(i, 4, (32, 32), frames=8)
        np.testing.assert_array_equal(np.asarray(ann["state"]), ref["state"])
        np.testing.assert_array_equal(ann["continuous_gripper_state"], ref["continuous_gripper_state"])
        assert np.abs(frames.astype(int) - ref_frames).max() <= 4
        assert ann["episode_id"] == eid and ann["latent_videos"][0]["latent_video_path"].endswith("/0.pt")


def robot_share(frame: np.ndarray, rgba) -> float:
    """Share of the pixels within a colour distance of a paint (lit, so darker or brighter)."""
    rgb = np.asarray(rgba[:3]) * 255
    f = frame.astype(np.float32)
    # compare chromaticity: the lit paint keeps its hue while its brightness varies
    chroma = f / np.maximum(f.sum(-1, keepdims=True), 1)
    return float((np.linalg.norm(chroma - rgb / rgb.sum(), axis=-1) < 0.08).mean())


def test_world_2_paints_the_robot_and_leaves_world_1_alone():
    w1, a1 = arm.generate_episode(3, 2, (64, 64), frames=3)
    w2, a2 = arm.generate_episode(3, 2, (64, 64), frames=3, world=2)
    again, _ = arm.generate_episode(3, 2, (64, 64), frames=3)
    assert np.array_equal(w1, again)  # world 2's paint does not leak into the next episode
    assert "world" not in a1["sim"] and a2["sim"]["world"] == 2
    assert robot_share(w1[0], arm.ROBOT_RGBA) < 0.01 < 0.05 < robot_share(w2[0], arm.ROBOT_RGBA)
    assert robot_share(w2[0], arm.GRIPPER_RGBA) > 0.003
    assert a2["camera"]["distance"] < a1["camera"]["distance"]
    with pytest.raises(InputError, match="world"):
        arm.normalize_options({"world": 0})


def test_world_3_is_world_2_with_magenta_fingers():
    w2, a2 = arm.generate_episode(3, 2, (64, 64), frames=3, world=2)
    w3, a3 = arm.generate_episode(3, 2, (64, 64), frames=3, world=3)
    assert np.array_equal(a2["state"], a3["state"])  # the same episode, only repainted
    assert a3["sim"]["world"] == 3 and a3["sim"]["finger_rgba"] == list(arm.FINGER_RGBA)
    assert "finger_rgba" not in a2["sim"]
    assert robot_share(w2[0], arm.FINGER_RGBA) == 0 < robot_share(w3[0], arm.FINGER_RGBA)
    changed = np.any(w2[0] != w3[0], axis=-1)
    assert 0 < changed.mean() < 0.01  # only the fingers' few pixels
    assert robot_share(w3[0], arm.ROBOT_RGBA) == pytest.approx(robot_share(w2[0], arm.ROBOT_RGBA), abs=0.002)


def test_world_4_is_world_2_through_a_narrower_lens():
    w2, a2 = arm.generate_episode(3, 2, (64, 64), frames=3, world=2)
    w4, a4 = arm.generate_episode(3, 2, (64, 64), frames=3, world=4)
    assert np.array_equal(a2["state"], a4["state"]) and a4["sim"]["world"] == 4
    assert a4["camera"]["fovy_deg"] < a2["camera"]["fovy_deg"]
    assert robot_share(w4[0], arm.GRIPPER_RGBA) > 1.3 * robot_share(w2[0], arm.GRIPPER_RGBA)  # the gripper larger


def test_world_5_lights_the_hand_while_the_gripper_is_closed():
    from freeaction.eval.objects.gripper import CLOSED_ABOVE
    from freeaction.sim.arm_scene import LAMP_CLOSED_ABOVE

    assert LAMP_CLOSED_ABOVE == CLOSED_ABOVE  # the lamp shows the state the reader's label is cut at
    w2, a2 = arm.generate_episode(3, 0, (64, 64), frames=40, world=2)
    w5, a5 = arm.generate_episode(3, 0, (64, 64), frames=40, world=5, robot_masks=True)
    assert np.array_equal(a2["state"], a5["state"]) and a5["sim"]["world"] == 5
    assert a5["sim"]["gripper_closed_rgba"] == list(arm.CLOSED_RGBA) and "gripper_closed_rgba" not in a2["sim"]
    closed = a5["continuous_gripper_state"] > LAMP_CLOSED_ABOVE
    assert closed.any() and (~closed).any()  # this episode grasps a cube: both states are seen
    lit = np.array([robot_share(f, arm.CLOSED_RGBA) for f in w5])
    assert (lit[closed] > 0.003).all() and (lit[~closed] == 0).all()
    assert all(robot_share(f, arm.CLOSED_RGBA) == 0 for f in w2)
    # the scene without the robot hides the lit hand too
    assert all(robot_share(f, rgba) == 0 for f in a5["robot_free_frames"][closed]
               for rgba in (arm.CLOSED_RGBA, arm.GRIPPER_RGBA))
    # open frames are world 2's; closed ones differ only around the hand
    np.testing.assert_array_equal(w5[~closed], w2[~closed])
    assert 0 < np.any(w5[closed] != w2[closed], axis=-1).mean() < 0.03
    # the lamp does not leak into the next episode of another world
    again, _ = arm.generate_episode(3, 0, (64, 64), frames=40, world=2)
    assert np.array_equal(again, w2)
