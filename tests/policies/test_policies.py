"""Built-in policies act from pixels, differ in skill, and user policies load as module:factory."""

from __future__ import annotations

import numpy as np
import pytest

from freeaction.envs import PusherEnv
from freeaction.policies import BUILTIN, load_factory


def _success_rate(name: str, episodes: int, world: int = 1) -> float:
    env = PusherEnv(world=world)
    wins = 0
    for e in range(episodes):
        obs, info = env.reset(seed=100 + e)
        policy = BUILTIN[name](7)
        policy.reset(info["task"], seed=e)
        done = False
        while not done:
            action = policy.act(obs)
            assert action.shape == (7, 2) and np.all(np.abs(action) <= 0.06 + 1e-9)
            obs, _, terminated, truncated, step = env.step(action)
            done = terminated or truncated
        wins += step["success_state"]
    return wins / episodes


def test_at_least_eight_builtins():
    assert len(BUILTIN) >= 8


def test_expert_beats_random():
    assert _success_rate("expert", 6) >= 0.5
    assert _success_rate("random", 6) == 0.0


def test_scripted_policies_move_at_the_same_speed_in_a_world_filmed_faster():
    """World 3 is world 2 at 20 frames/s: the expert moves half as far per frame, and with the
    default horizon (twice the chunks) pushes as well as in world 2."""
    firsts = {}
    for world in (2, 3):
        obs, info = PusherEnv(world=world).reset(seed=5)
        policy = BUILTIN["expert"](7)
        policy.reset(info["task"], seed=0)
        firsts[world] = policy.act(obs)[0]
    assert np.hypot(*firsts[2]) > 0.02  # a full-speed first move (40 mm per control step)
    np.testing.assert_allclose(firsts[3], firsts[2] / 2, atol=1e-12)
    rates = {world: _success_rate("expert", 6, world) for world in (2, 3)}
    assert rates[3] >= 0.5 and abs(rates[3] - rates[2]) <= 2 / 6, rates


def test_load_factory_from_module_path():
    assert load_factory("freeaction.policies.scripted:PusherController") is not None
    assert load_factory("expert") is BUILTIN["expert"]
    with pytest.raises(ValueError, match="built-in"):
        load_factory("no-such-policy")
    with pytest.raises(ValueError, match="cannot import"):
        load_factory("freeaction.policies:missing")
