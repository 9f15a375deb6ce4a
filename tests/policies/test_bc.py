"""Behaviour-cloned policies: training lowers the loss, files round-trip exactly and refuse what does not
match, the policy acts in the env's shape and units, and the built-in names resolve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from freeaction.cli import main
from freeaction.envs import PusherEnv
from freeaction.errors import CheckpointError, InputError
from freeaction.eval.policy_eval import PolicyEvalConfig
from freeaction.policies import BUILTIN, load_factory
from freeaction.policies.bc import (
    BUILTIN_BC,
    BUILTIN_DIR,
    CONFIG_FILE,
    WEIGHTS_FILE,
    BCNet,
    BCNetConfig,
    BCPolicy,
    load_bc,
    policy_input,
    save_bc,
)
from freeaction.policies.bc_train import (
    DEMO_SEED_START,
    BCTrainConfig,
    collect_demonstrations,
    symmetric_copies,
    train_bc,
)

TINY = {"channels": (4, 8, 8), "hidden": 16}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = BCTrainConfig(out=str(tmp_path_factory.mktemp("bc") / "policy"), episodes=4, horizon=2, steps=150,
                        batch_size=8, lr=3e-3, augment=False, progress=False, **TINY)
    return cfg, train_bc(cfg)


def test_training_on_a_few_demonstrations_lowers_the_loss(trained):
    cfg, summary = trained
    assert summary["examples"] == 4 * 2 and summary["episodes"] == 4
    assert summary["loss"] < 0.5 * summary["first_loss"]
    log = [json.loads(line) for line in (Path(cfg.out) / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 150 and log[-1]["loss"] < log[0]["loss"]


def test_demonstrations_are_the_teachers_chunks_on_their_own_seeds():
    cfg = BCTrainConfig(out="unused", episodes=2, horizon=2, **TINY)
    demos = collect_demonstrations(cfg)
    env = PusherEnv(horizon=2)
    obs, info = env.reset(seed=DEMO_SEED_START)
    teacher = BUILTIN["expert"](7)
    teacher.reset(info["task"], DEMO_SEED_START)
    first = teacher.act(obs)
    assert demos.planes.shape == (4, 5, 64, 64) and demos.planes.dtype == np.uint8
    np.testing.assert_allclose(demos.actions[0], first / 0.06, atol=1e-6)
    np.testing.assert_array_equal(demos.planes[0], np.round(policy_input(obs, info["task"]) * 255))


def test_symmetric_copies_move_the_scene_and_the_chunk_alike():
    # plane 3 marks the effector at (row 10, col 20), plane 4 the goal at (row 40, col 50); the chunk
    # points from the effector to the goal ([dx, dy] = [columns, rows]); every copy must still do so
    planes = torch.zeros(64, 5, 64, 64)
    planes[:, 3, 10, 20] = 1.0
    planes[:, 4, 40, 50] = 1.0
    actions = torch.tensor([30.0, 30.0]).repeat(64, 7, 1) / 60.0
    mirrored, chunks = symmetric_copies(planes, actions, torch.Generator().manual_seed(0))
    assert len({tuple(c[0].tolist()) for c in chunks}) == 4  # (+-1, +-1): every mirror was drawn
    for x, chunk in zip(mirrored, chunks, strict=True):
        (r0, c0), (r1, c1) = (torch.nonzero(x[k])[0].tolist() for k in (3, 4))
        assert torch.allclose(chunk, torch.tensor([c1 - c0, r1 - r0]).float().repeat(7, 1) / 60.0)
    rect, _ = symmetric_copies(torch.zeros(8, 5, 32, 64), actions[:8], torch.Generator().manual_seed(0))
    assert rect.shape == (8, 5, 32, 64)  # not square: mirrored, never transposed


def test_save_load_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    net = BCNet(BCNetConfig(chunk=5, **TINY))
    save_bc(net, tmp_path / "p", {"note": "test"})
    loaded = load_bc(tmp_path / "p")
    assert loaded.config == net.config
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    x = torch.rand(2, 5, 64, 64)
    assert torch.equal(loaded(x), net.eval()(x))


def test_mismatched_or_corrupt_weights_are_refused_naming_the_file(tmp_path):
    folder = save_bc(BCNet(BCNetConfig(**TINY)), tmp_path / "p")
    weights = folder / WEIGHTS_FILE
    state = load_file(str(weights))

    save_file({**state, "extra.weight": torch.zeros(3)}, str(weights))
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}.*unexpected \['extra.weight'\]"):
        load_bc(folder)

    key = "head.4.weight"
    save_file({**state, key: torch.zeros(3, 3)}, str(weights))
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: {key} has shape \(3, 3\)"):
        load_bc(folder)

    save_file({k: v for k, v in state.items() if k != key}, str(weights))
    with pytest.raises(CheckpointError, match=rf"missing \['{key}'\]"):
        load_bc(folder)

    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match=rf"{WEIGHTS_FILE}: corrupt"):
        load_bc(folder)

    save_file(state, str(weights))
    (folder / CONFIG_FILE).write_text(json.dumps({"format": "freeaction-bc", "net": {"chunk": 7, "depth": 3}}))
    with pytest.raises(CheckpointError, match=rf"{CONFIG_FILE}: bad 'net'.*depth"):
        load_bc(folder)
    (folder / CONFIG_FILE).write_text("{")
    with pytest.raises(CheckpointError, match=rf"{CONFIG_FILE}: malformed JSON"):
        load_bc(folder)
    with pytest.raises(CheckpointError, match="not found"):
        load_bc(tmp_path / "nowhere")


def test_policy_acts_in_the_envs_shape_and_units(trained):
    cfg, _ = trained
    env = PusherEnv(horizon=2)
    obs, info = env.reset(seed=5)
    policy = load_factory(cfg.out)(7)
    policy.reset(info["task"], seed=0)
    chunk = policy.act(obs)
    assert chunk.shape == env.action_space.shape
    assert np.all(np.abs(chunk) <= 0.06) and np.abs(chunk).max() > 1e-4  # metres, within the limit
    assert env.action_space.contains(chunk.astype(np.float32))
    np.testing.assert_array_equal(chunk, policy.act(obs))  # deterministic
    with pytest.raises(ValueError, match="chunks of 7"):
        load_factory(cfg.out)(5)
    with pytest.raises(ValueError, match="64x64 observations, got 32x32"):
        policy.act(obs[:32, :32])


def test_builtin_bc_policies_resolve_and_act():
    env = PusherEnv(horizon=1)
    obs, info = env.reset(seed=3)
    for name in BUILTIN_BC:
        assert (BUILTIN_DIR / name / WEIGHTS_FILE).stat().st_size < 300_000
        policy = load_factory(name)(7)
        assert isinstance(policy, BCPolicy)
        policy.reset(info["task"], 0)
        assert policy.act(obs).shape == (7, 2)
        assert json.loads((BUILTIN_DIR / name / CONFIG_FILE).read_text())["training"]["episodes"] == int(name[3:])


def test_policy_eval_config_names_a_policy_folder_relative_to_itself(trained):
    cfg, _ = trained
    folder = Path(cfg.out)
    config = folder.parent / "eval.yaml"
    config.write_text(f"policies: [expert, {folder.name}, {{name: mine, factory: {folder.name}}}]\n")
    specs = PolicyEvalConfig.from_file(config).policy_specs()
    assert [p["name"] for p in specs] == ["expert", folder.name, "mine"]
    assert specs[1]["factory"] == specs[2]["factory"] == str(folder.resolve())
    assert isinstance(load_factory(specs[2]["factory"])(7), BCPolicy)


def test_train_policy_command(tmp_path, capsys):
    out = tmp_path / "cli-policy"
    args = ["train-policy", "--out", str(out), "--episodes", "2", "--horizon", "1", "--steps", "3", "--batch-size",
            "2", "--no-progress", "--set", "channels=[2,4,4]", "--set", "hidden=8"]
    assert main(args) == 0
    assert "2 demonstrations by expert" in capsys.readouterr().out
    assert load_bc(out).config.channels == (2, 4, 4)
    assert main(["train-policy", "--out", str(out), "--episodes", "0"]) == 2
    assert "episodes must be >= 1" in capsys.readouterr().err
    assert main(["train-policy", "--out", str(out), "--teacher", "nobody"]) == 2
    assert "unknown policy 'nobody'" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown train-policy option"):
        BCTrainConfig.from_dict({"out": "x", "layers": 3})
