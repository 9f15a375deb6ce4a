"""WorldModelEnv / WorldModelVectorEnv on a tiny random-weight world model."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from freeaction import WorldModel
from freeaction.envs import PusherEnv, WorldModelEnv, WorldModelVectorEnv
from tiny_world_model import make_tiny_world_model


@pytest.fixture(scope="module")
def tiny_world_model(tmp_path_factory):
    return make_tiny_world_model(tmp_path_factory.mktemp("vae"), action_dim=2)


def test_check_env_passes(tiny_world_model):
    env = WorldModelEnv(tiny_world_model, "unguided", "ddim", 1, horizon=2)
    check_env(env, skip_render_check=True)


def test_step_generates_one_chunk_from_the_simulators_first_frame(tiny_world_model):
    env = WorldModelEnv(tiny_world_model, "freeaction", "ddim", 2, horizon=1)
    sim_first, sim_info = PusherEnv(chunk=3, horizon=1).reset(seed=4)
    obs, info = env.reset(seed=4)
    assert env.chunk == 3 and env.action_space.shape == (3, 2)
    assert np.array_equal(obs, sim_first) and info["task"] == sim_info["task"]
    obs, _, terminated, truncated, step = env.step(np.full((3, 2), 0.01, np.float32))
    assert step["frames"].shape == (3, 64, 64, 3) and np.array_equal(obs, step["frames"][-1])
    assert truncated and not terminated


def test_a_world_filmed_faster_sets_the_frame_rate_and_horizon(tiny_world_model):
    env = WorldModelEnv(tiny_world_model, "unguided", "ddim", 1, world=3)
    assert env.metadata["render_fps"] == 20 and env.horizon == 6
    assert WorldModelEnv(tiny_world_model, "unguided", "ddim", 1).metadata["render_fps"] == 10
    assert WorldModelVectorEnv(tiny_world_model, 2, "unguided", "ddim", 1, world=3).horizon == 6


def test_vector_env_matches_single_episodes(tiny_world_model):
    actions = np.random.default_rng(0).uniform(-0.03, 0.03, (2, 3, 2)).astype(np.float32)
    venv = WorldModelVectorEnv(tiny_world_model, 2, "unguided", "ddim", 2, horizon=1)
    obs, info = venv.reset(seed=[11, 12])
    batched, _, _, truncated, _ = venv.step(actions)
    assert batched.shape == (2, 64, 64, 3) and truncated.all()
    for i, seed in enumerate([11, 12]):
        env = WorldModelEnv(tiny_world_model, "unguided", "ddim", 2, horizon=1)
        env.reset(seed=seed)
        single, *_ = env.step(actions[i])
        assert np.abs(single.astype(int) - batched[i].astype(int)).mean() < 1.0
    with pytest.raises(RuntimeError, match="horizon"):
        venv.step(actions)


def test_registered_with_gymnasium(tiny_world_model):
    import gymnasium as gym

    env = gym.make("freeaction/WorldModel-v0", world_model=tiny_world_model, sampler="ddim", steps=1, horizon=1,
                   task="reach")
    obs, info = env.reset(seed=0)
    assert info["task"].target == "effector"
    obs, _, _, truncated, _ = env.step(env.action_space.sample())
    assert obs.shape == (64, 64, 3) and truncated


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_frames_are_decoded_at_the_world_models_precision(tiny_world_model, monkeypatch, precision):
    import torch

    wm = WorldModel(tiny_world_model.model, tiny_world_model.vae, precision=precision)
    wm.action_stats = {"mu_act": 1.0}
    seen = []
    real = wm.decode

    def spy(latents):
        seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return real(latents)

    monkeypatch.setattr(wm, "decode", spy)
    env = WorldModelEnv(wm, "unguided", "ddim", 1, horizon=1)
    env.reset(seed=3)
    _, _, _, _, step = env.step(np.full((3, 2), 0.01, np.float32))
    assert step["frames"].dtype == np.uint8 and step["frames"].shape == (3, 64, 64, 3)
    assert seen == [None if precision == "fp32" else torch.bfloat16]
