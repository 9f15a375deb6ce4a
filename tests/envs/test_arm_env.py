"""ArmEnv (the robosuite arm as a gymnasium env), its pixel success tests, and WorldModelEnv on a
tiny 7-D world model. Needs ``pip install 'freeaction[arm]'`` and a headless GL; skipped otherwise.
One simulator serves the whole module (building it takes seconds)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

pytest.importorskip("freeaction.sim.arm", reason="the arm simulator needs pip install 'freeaction[arm]'")

from freeaction.envs import ArmEnv, WorldModelEnv  # noqa: E402
from freeaction.envs.arm import advance_target  # noqa: E402
from freeaction.envs.arm_tasks import locate_cube, locate_gripper  # noqa: E402
from freeaction.policies.arm import make_arm_policy  # noqa: E402
from tiny_world_model import make_tiny_world_model  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env():
    return ArmEnv(world=2, chunk=7, horizon=4, task="lift")


def play(env: ArmEnv, policy: str, seed: int) -> tuple[dict, dict]:
    obs, info = env.reset(seed=seed)
    pol = make_arm_policy(policy, env.chunk)
    pol.reset(info["task"], seed)
    done = False
    while not done:
        obs, _, terminated, truncated, step = env.step(pol.act(obs))
        done = terminated or truncated
    return info, step


def test_check_env_passes(env):
    check_env(env, skip_render_check=True)


def test_seed_fixes_scene_and_spaces_are_the_datasets(env):
    first, info = env.reset(seed=5)
    again, info_again = env.reset(seed=5)
    other, _ = env.reset(seed=6)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert info["task"].cube_rest_m == info_again["task"].cube_rest_m
    assert first.shape == (64, 64, 3) and env.action_space.shape == (7, 7)
    assert env.action_space.high[0, 6] == 1.0 and env.action_space.low[0, 6] == 0.0


def test_registered_with_gymnasium():
    made = gym.make("freeaction/Arm-v0", world=1, task="reach", chunk=2, horizon=1)
    obs, info = made.reset(seed=0)
    assert obs.shape == (64, 64, 3) and info["task"].kind == "reach"
    made.close()


def test_actions_move_the_gripper_by_their_displacement_in_its_frame(env):
    """Integrated actions are where the gripper goes: the env's pose target follows
    states_from_actions, and the grip site reaches it once the motion stops."""
    _, info = env.reset(seed=3)
    start = np.asarray(info["state"]["grip_m"])
    move = np.zeros((7, 7), np.float32)
    move[:3, 2] = -0.02  # the gripper's z points down: 6 cm up
    _, _, _, _, step = env.step(move)
    pos, rot = advance_target(np.zeros(3), np.eye(3), move[0])
    assert np.allclose(pos, [0, 0, -0.02]) and np.allclose(rot, np.eye(3))
    risen = np.asarray(step["state"]["grip_m"]) - start
    assert abs(risen[2] - 0.06) < 0.006 and np.hypot(*risen[:2]) < 0.01


def test_envs_sharing_the_simulator_keep_their_own_episodes(env):
    actions = np.random.default_rng(0).uniform(env.action_space.low, env.action_space.high).astype(np.float32)
    env.reset(seed=8)
    alone, *_ = env.step(actions)
    other = ArmEnv(world=1, chunk=7, horizon=4, task="reach")
    env.reset(seed=8)
    other.reset(seed=9)  # the simulator now holds the other scene
    interleaved, *_ = env.step(actions)
    assert np.abs(interleaved.astype(int) - alone.astype(int)).mean() < 0.5


def test_expert_lifts_the_cube_and_pixels_agree_with_state(env):
    info, step = play(env, "arm-expert", 0)
    assert step["success_state"] and step["success"]
    assert step["state"]["cube_m"][2] - info["task"].cube_rest_m[2] > 0.1


def test_random_policy_fails_the_lift(env):
    _, step = play(env, "arm-random", 0)
    assert not step["success_state"] and not step["success"]


def test_pixel_detectors_on_known_frames(env):
    """The cube is found where the camera projects it, the gripper tip near the projected grip
    site; a frame with the cube painted over, or equal to the background, shows neither."""
    first, info = env.reset(seed=2)
    task = info["task"]
    cube_px = np.asarray(info["state"]["cube_px"])
    assert np.hypot(*(locate_cube(first) - cube_px)) < 2.0
    assert np.hypot(*(locate_gripper(first, task.background) - np.asarray(info["state"]["ee_px"]))) < 5.0
    assert locate_gripper(task.background, task.background) is None
    hidden = first.copy()
    hidden[np.hypot(*np.meshgrid(np.arange(64) - cube_px[0], np.arange(64) - cube_px[1])) < 6] = 200
    assert locate_cube(hidden) is None
    # lift from pixels: the cube moved up by the projected lift height succeeds, in place it fails
    assert task.kind == "lift" and not task.success_from_pixels(task.background)
    shift = int(np.ceil(task.goal_radius_px)) + 1
    up = np.roll(task.background, -shift, axis=0)  # the whole scene, cube included, moved up
    assert task.success_from_pixels(up)
    assert not task.success_from_pixels(np.roll(task.background, -shift + 2, axis=0))


@pytest.fixture(scope="module")
def tiny_arm_world_model(tmp_path_factory):
    return make_tiny_world_model(tmp_path_factory.mktemp("vae"), action_dim=7)


def test_world_model_env_takes_7d_actions_with_the_arm_envs_spaces(env, tiny_arm_world_model):
    check_env(WorldModelEnv(tiny_arm_world_model, "unguided", "ddim", 1, world=2, horizon=2, task="lift"),
              skip_render_check=True)
    wm_env = WorldModelEnv(tiny_arm_world_model, "freeaction", "ddim", 1, world=2, horizon=1, task="lift")
    sim = ArmEnv(world=2, chunk=3, horizon=1, task="lift")
    assert wm_env.action_space == sim.action_space and wm_env.observation_space == sim.observation_space
    assert wm_env.action_space.shape == (3, 7)
    sim_first, sim_info = sim.reset(seed=4)
    obs, info = wm_env.reset(seed=4)
    assert np.array_equal(obs, sim_first) and info["task"].cube_rest_m == sim_info["task"].cube_rest_m
    obs, _, _, truncated, step = wm_env.step(np.full((3, 7), 0.01, np.float32))
    assert step["frames"].shape == (3, 64, 64, 3) and truncated and isinstance(step["success"], bool)
