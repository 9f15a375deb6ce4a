"""PusherEnv: gymnasium's checker, seeded scenes, chunked steps, and the pixel success test."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import freeaction.envs  # noqa: F401  (registers the environments)
from freeaction.envs import PusherEnv, PusherTask, locate_color
from freeaction.sim.pusher import BLOCK_COLORS, EE_COLOR, TABLE_COLOR


@pytest.mark.parametrize(("world", "task"), [(1, "push"), (2, "push"), (3, "push"), (1, "reach")])
def test_check_env_passes(world, task):
    check_env(PusherEnv(world=world, horizon=2, task=task), skip_render_check=False)


def test_reach_task_is_judged_on_the_effector():
    env = PusherEnv(task="reach", chunk=7, horizon=1)
    _, info = env.reset(seed=2)
    task = info["task"]
    assert task.target == "effector" and task.goal_radius_mm < 40.0
    start = np.array(info["state"]["ee_px"])
    step_px = (task.goal_px - start) / 7  # straight to the goal in 7 equal steps, in metres
    _, _, _, truncated, step = env.step(np.tile(step_px / task.px_per_mm / 1000.0, (7, 1)).astype(np.float32))
    assert truncated and step["success"] and step["success_state"]


def test_registered_with_gymnasium():
    env = gym.make("freeaction/Pusher-v0", world=2, chunk=3)
    obs, info = env.reset(seed=1)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8
    assert env.action_space.shape == (3, 2)
    assert isinstance(info["task"], PusherTask)


def test_seed_fixes_scene_and_task():
    env = PusherEnv()
    a, ia = env.reset(seed=7)
    b, ib = env.reset(seed=7)
    c, ic = env.reset(seed=8)
    assert np.array_equal(a, b) and ia["task"] == ib["task"]
    assert not np.array_equal(a, c)


def test_step_commits_one_chunk_and_truncates_at_horizon():
    env = PusherEnv(chunk=4, horizon=2)
    obs0, info = env.reset(seed=3)
    start = np.array(info["state"]["ee_px"])
    right = np.tile([0.02, 0.0], (4, 1)).astype(np.float32)  # 2 cm per step to the right
    obs, reward, terminated, truncated, step = env.step(right)
    assert step["frames"].shape == (4, 64, 64, 3) and np.array_equal(obs, step["frames"][-1])
    assert not terminated and not truncated
    moved = np.array(step["ee_px"][-1]) - start
    assert moved[0] > 1.0 and abs(moved[1]) < moved[0]  # it went right (unless a wall stopped it early)
    *_, truncated, step = env.step(np.zeros((4, 2), np.float32))
    assert truncated
    assert step["success"] in (True, False) and step["success_state"] in (True, False)


def test_world_3_steps_at_20_frames_per_s():
    env2, env3 = PusherEnv(world=2, chunk=4), PusherEnv(world=3, chunk=4)
    assert env2.metadata["render_fps"] == 10 and env3.metadata["render_fps"] == 20
    assert PusherEnv.metadata["render_fps"] == 10  # the class's own is left alone
    (_, i2), (_, i3) = env2.reset(seed=3), env3.reset(seed=3)
    assert i2["state"] == i3["state"]  # the same scene
    right = np.tile([0.01, 0.0], (4, 1)).astype(np.float32)
    for env, info in ((env2, i2), (env3, i3)):
        step = env.step(right)[-1]
        # a frame's displacement is reached in either world: world 3's frames are half a control step
        np.testing.assert_allclose(step["ee_px"][-1][0] - info["state"]["ee_px"][0], 4 * 0.01 * 128, atol=0.3)


def test_world_3_episodes_last_as_long_by_default():
    assert PusherEnv(world=1).horizon == 3 and PusherEnv(world=2).horizon == 3
    assert PusherEnv(world=3).horizon == 6  # 6 chunks of 7 frames at 20 frames/s = 2.1 s, as 3 at 10 frames/s
    assert PusherEnv(world=3, horizon=2).horizon == 2
    _, info = PusherEnv(world=3).reset(seed=0)
    assert info["task"].frames_per_step == 2 and info["task"].to_dict()["frames_per_step"] == 2
    assert PusherEnv(world=2).reset(seed=0)[1]["task"].frames_per_step == 1


def _frame_with(blocks: dict[str, tuple[int, int]], size: int = 64) -> np.ndarray:
    """A hand-made frame: table colour with 5x5 squares of the named colours at (column, row)."""
    frame = np.empty((size, size, 3), np.uint8)
    frame[:] = TABLE_COLOR
    for name, (col, row) in blocks.items():
        frame[row - 2 : row + 3, col - 2 : col + 3] = EE_COLOR if name == "effector" else BLOCK_COLORS[name]
    return frame


def _task() -> PusherTask:
    # px_per_mm = 0.128 (64 px / 500 mm); goal centre at pixel (20, 30), radius 5.12 px
    palette = {"table": TABLE_COLOR, "effector": EE_COLOR, "red": BLOCK_COLORS["red"], "blue": BLOCK_COLORS["blue"]}
    return PusherTask("red", ((20 + 0.5) / 0.128, (30 + 0.5) / 0.128), 40.0, 0.128, palette)


def test_success_detector_on_hand_made_frames():
    task = _task()
    assert np.allclose(task.goal_px, [20, 30])
    assert task.success_from_pixels(_frame_with({"red": (22, 31), "blue": (40, 40), "effector": (10, 10)}))
    assert not task.success_from_pixels(_frame_with({"red": (28, 30), "blue": (20, 30)}))  # 8 px off; blue inside
    assert not task.success_from_pixels(_frame_with({"blue": (20, 30)}))  # red absent
    noisy = _frame_with({"red": (20, 30)}).astype(np.int16) + np.random.default_rng(0).integers(-20, 21, (64, 64, 3))
    assert task.success_from_pixels(np.clip(noisy, 0, 255).astype(np.uint8))


def test_locate_color_takes_the_largest_group():
    frame = _frame_with({"red": (10, 10)})
    frame[50, 50] = BLOCK_COLORS["red"]  # a stray pixel elsewhere
    pos, count = locate_color(frame, "red", _task().palette)
    assert np.allclose(pos, [10, 10]) and count == 25
