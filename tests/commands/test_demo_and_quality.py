"""`freeaction demo`, `freeaction quality` and shipped-model names, on a tiny stand-in model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from eval_helpers import make_checkpoint, make_pusher  # noqa: E402

from freeaction.errors import CheckpointError, InputError  # noqa: E402


@pytest.fixture
def fake_assets(tmp_path, monkeypatch):
    """A shipped-models folder holding a tiny random 'pusher-64' (8-frame window, 32x32 frames)."""
    import freeaction.shipped as shipped

    assets = tmp_path / "assets"
    folder = make_checkpoint(assets / "pusher-64")
    from freeaction import load_model, save_model

    stats = {"mu_act": 1.5, "magnitude": "l2", "dims": None, "num_frames": 16}
    save_model(load_model(folder), folder, action_stats=stats)
    (folder / "shipped.json").write_text(json.dumps({"simulator": "pusher", "size": [32, 32], "sampler": "ddim",
                                                     "steps": 3, "simulator_options": {"frames": [20, 24]}}))
    monkeypatch.setattr(shipped, "ASSETS", assets)
    return assets


def test_shipped_names_resolve_and_missing_ones_are_explained(fake_assets, monkeypatch, tmp_path):
    from freeaction import WorldModel, load_model
    from freeaction.shipped import available_models

    assert available_models() == ["pusher-64"]
    assert load_model("pusher-64").config.action_dim == 2
    assert WorldModel.load("pusher-64").vae is not None  # the vae/ folder next to the weights
    with pytest.raises(CheckpointError, match="arm-64.*not in this installation.*available: \\['pusher-64'\\]"):
        load_model("arm-64")
    from freeaction.vae import load_vae

    shipped_vae = load_vae("pusher-64")  # a shipped name works wherever a VAE folder does
    assert shipped_vae.config.scaling_factor == WorldModel.load("pusher-64").vae.config.scaling_factor
    with pytest.raises(CheckpointError, match="VAE folder not found.*shipped model's name"):
        load_vae(tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)  # a real folder of that name wins over the shipped model
    (tmp_path / "pusher-64").mkdir()
    with pytest.raises(CheckpointError, match="config.json|model.safetensors"):
        load_model("pusher-64")


def test_demo_writes_videos_table_and_report(fake_assets, tmp_path, capsys):
    from freeaction.commands.demo import run_demo
    from freeaction.data.video import read_frames

    result = run_demo(tmp_path / "demo", episodes=3, progress=True)
    # the bar moves per sampling step: 2 methods x 1 chunk (the stand-in's 16-frame window) x 3 DDIM steps
    err = capsys.readouterr().err
    assert "sampling ddim 3" in err and "6/6" in err.split("sampling ddim 3")[-1]
    table = result["table"].read_text()
    assert "unguided" in table and "freeaction" in table and "latent" in table.lower()
    assert result["html"].is_file() and "<video" in result["html"].read_text()
    assert len(result["videos"]) == 3
    frames = read_frames(result["videos"][0])
    assert frames.shape[0] == 16 and frames.shape[2] == 3 * 32 + 2 * 2  # GT | unguided | FreeAction
    rows = [json.loads(line) for f in (tmp_path / "demo" / "results" / "shards").glob("*.jsonl")
            for line in f.read_text().splitlines()]
    starts = {r["clip"].split("@")[1] for r in rows if r["kind"] == "sample"}
    assert starts == {"0"}  # each episode's first 16 frames
    again = run_demo(tmp_path / "demo", episodes=3, progress=False)  # reuses episodes and finished clips
    assert again["table"].read_text() == table


def test_demo_output_is_git_ignored(tmp_path):
    import shutil
    import subprocess

    from freeaction.commands.demo import DEMO_OUT, add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert parser.parse_args(["demo"]).out == DEMO_OUT
    repo = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    for where in (f"{DEMO_OUT}/videos/000000.mp4", f"src/{DEMO_OUT}/results/table.md"):
        done = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", "--no-index", where])
        assert done.returncode == 0, f"{where} is not git-ignored"


def test_demo_samples_with_the_models_recommendation_unless_told(fake_assets, tmp_path, monkeypatch):
    import freeaction.eval as evaluation
    from freeaction.commands.demo import run_demo

    used = []

    def stop_after_config(cfg, **kw):
        used.append((cfg.sampler, cfg.steps))
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "evaluate", stop_after_config)
    for kw in ({}, {"sampler": "unipc"}, {"sampler": "ddpm", "steps": 7}, {"steps": 5}):
        with pytest.raises(KeyboardInterrupt):
            run_demo(tmp_path / "demo", episodes=2, progress=False, **kw)
    # shipped.json says ddim 3; another sampler without steps gets its own usual count, not 3
    assert used == [("ddim", 3), ("unipc", 25), ("ddpm", 7), ("ddim", 5)]


def test_quality_check_orders_true_shuffled_and_still(tmp_path):
    from freeaction.eval.quality import format_quality, quality_check

    ckpt = make_checkpoint(tmp_path / "ck")
    data = make_pusher(tmp_path / "data", episodes=8)
    r = quality_check(ckpt, data, clips=3, clip_frames=6, steps=2, progress=False, split="train",
                      frames_out=tmp_path / "frames.npz")
    assert r["clips_evaluated"] == 3
    assert r["latent_l2_still"] > 0 and r["latent_l2"] > 0
    # a random model: the still baseline equals the per-clip mean of ||z_k - z_0||^2, recomputed here
    from freeaction.data import open_dataset
    from freeaction.pipeline import WorldModel

    ds = open_dataset(data, "train", num_frames=6)
    wm = WorldModel.load(ckpt)
    picked = np.linspace(0, len(ds) - 1, 3).round().astype(int)
    want, true_ends = [], []
    for k in picked:
        z = wm.encode(ds[int(k)].frames).cpu().float()
        want.append(float(((z[1:] - z[:1]) ** 2).mean()))
        true_ends.append((ds[int(k)].frames[0], ds[int(k)].frames[-1]))
    assert r["latent_l2_still"] == pytest.approx(np.mean(want), rel=1e-4)
    assert set(r["bar"]) == {"beats_nothing_moves", "uses_actions", "effector_within_3px"}
    assert r["ee_error_truth"] < 1.0  # the locator finds the real effector
    # object-level figures: every block of the 3 clips is measured for true actions and both references
    objects = r["objects"]
    assert set(objects) == {"true_actions", "shuffled_actions", "nothing_moves", "by_seed"}
    n_blocks = objects["nothing_moves"]["blocks"]
    assert n_blocks >= 3 * 3 and objects["true_actions"]["blocks"] == objects["shuffled_actions"]["blocks"] == n_blocks
    assert 0.0 <= objects["true_actions"]["blocks_kept_final"] <= 1.0
    assert "blocks (moved > 2 px)" in format_quality(r)
    # one seed: its own figures are the pooled ones, shuffled actions too
    (alone,) = objects["by_seed"]
    assert alone["shuffled_actions"] == objects["shuffled_actions"]
    assert alone["moved_blocks"] == objects["true_actions"]["moved_blocks"]
    # each clip row carries its own block figures where a block moved
    with_blocks = [row for row in r["clips"] if "blocks_kept" in row]
    assert len(with_blocks) == sum(1 for row in r["clips"] if "block_error_px" in row or "blocks_kept" in row)
    assert bool(with_blocks) == (objects["true_actions"]["moved_blocks"] > 0)
    # the first and last frames of the same run, in the clip rows' order
    from freeaction.eval.first_last_frames import load_first_last_frames

    kept = load_first_last_frames(tmp_path / "frames.npz")
    assert list(kept["clip"]) == [row["clip"] for row in r["clips"]] and list(kept["seed"]) == [0, 0, 0]
    assert kept["true_first"].shape == kept["generated_last"].shape == (3, 32, 32, 3)
    assert kept["generated_last"].dtype == np.uint8
    for i, (first, last) in enumerate(true_ends):
        assert (kept["true_first"][i] == first).all() and (kept["true_last"][i] == last).all()
    # by frame index: 5 frames after the context, averaging back to the clip means
    assert len(r["ee_error_by_frame"]) == 5 == len(r["ee_missing_by_frame"])
    assert np.mean(r["ee_error_by_frame"]) == pytest.approx(r["ee_error"])
    assert np.mean(r["ee_missing_by_frame"]) == pytest.approx(r["ee_missing"])
    assert "nothing moves" in format_quality(r)


def test_quality_check_with_two_seeds_averages_the_two_single_seed_checks(tmp_path):
    from freeaction.eval.quality import format_quality, quality_check

    ckpt = make_checkpoint(tmp_path / "ck")
    data = make_pusher(tmp_path / "data", episodes=8)
    kw = dict(clips=3, clip_frames=6, steps=2, progress=False, split="train")
    both = quality_check(ckpt, data, seed=4, seeds=2, **kw)
    first, second = quality_check(ckpt, data, seed=4, **kw), quality_check(ckpt, data, seed=5, **kw)
    assert both["clips_evaluated"] == 3 and both["seeds"] == 2 and len(both["clips"]) == 6
    assert [r["seed"] for r in both["clips"]] == [4, 4, 4, 5, 5, 5]
    for key in ("latent_l2", "latent_l2_shuffled", "ee_error"):
        assert both[key] == pytest.approx((first[key] + second[key]) / 2, rel=1e-5)
    assert first["latent_l2"] != pytest.approx(second["latent_l2"], rel=1e-3)  # the seed matters
    assert both["latent_l2_still"] == pytest.approx(first["latent_l2_still"])
    assert "2 seed(s) each" in format_quality(both)
    assert [s["seed"] for s in both["by_seed"]] == [4, 5]  # each seed alone = that seed's own check
    for one, alone in zip(both["by_seed"], (first, second), strict=True):
        for key in ("latent_l2", "true_over_shuffled", "true_over_still", "ee_error"):
            assert one[key] == pytest.approx(alone[key], rel=1e-5)
    assert "per seed: seed 4: true/still" in format_quality(both)
    assert "per seed" not in format_quality(first)
    with pytest.raises(InputError, match="seeds"):
        quality_check(ckpt, data, seeds=0, **kw)


def test_quality_check_samples_with_the_sampler_the_model_folder_recommends(tmp_path):
    from freeaction.eval.quality import quality_check

    ckpt = make_checkpoint(tmp_path / "ck")
    data = make_pusher(tmp_path / "data", episodes=8)
    kw = dict(clips=2, clip_frames=4, progress=False, split="train")
    plain = quality_check(ckpt, data, **kw)  # a training checkpoint recommends nothing
    assert (plain["sampler"], plain["steps"]) == ("ddim", 20)
    (ckpt / "shipped.json").write_text(json.dumps({"simulator": "pusher", "sampler": "ddpm", "steps": 3}))
    shipped = quality_check(ckpt, data, **kw)
    assert (shipped["sampler"], shipped["steps"]) == ("ddpm", 3)
    assert shipped["latent_l2"] != pytest.approx(plain["latent_l2"], rel=1e-3)  # it really sampled otherwise
    assert quality_check(ckpt, data, sampler="ddim", steps=2, **kw)["sampler"] == "ddim"  # flags win
    (ckpt / "shipped.json").write_text("{}")
    with pytest.raises(CheckpointError, match="shipped.json"):
        quality_check(ckpt, data, **kw)


def test_result_configs_in_the_repository_are_valid():
    from freeaction.eval.config import load_eval_config
    from freeaction.eval.sweep import expand_sweep

    folder = Path(__file__).resolve().parents[2] / "configs" / "results"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        cfg = load_eval_config(f, check_files=False)
        assert cfg.clip_frames == 16 and cfg.baseline == "unguided"
        model = Path(cfg.checkpoint).name  # a shipped model's name resolves to its assets folder
        assert Path(cfg.dataset).parts[-3:] == ("default-models", model, "data")
        assert cfg.idm is None or Path(cfg.idm).name == f"{model}-idm.safetensors"
        if cfg.sweep:
            dim = 7 if "arm" in f.name else 2
            methods, plan, notes = expand_sweep(cfg.sweep, cfg.methods, dim, str(f))
            assert len(methods) > 10 and ("gripper_negation" in plan) == (dim == 7)


def test_play_opens_the_simulator_in_the_world_the_shipped_model_names(fake_assets, monkeypatch, tmp_path):
    pytest.importorskip("starlette", reason="the play extra (starlette, uvicorn, websockets) is not installed")
    import uvicorn

    import freeaction.play.server as server
    from freeaction.commands.play import run

    info = json.loads((fake_assets / "pusher-64" / "shipped.json").read_text())
    (fake_assets / "pusher-64" / "shipped.json").write_text(json.dumps({**info, "simulator_options": {"world": 2}}))
    apps = []
    monkeypatch.setattr(server, "create_app", lambda play: apps.append(play) or "app")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    args = argparse.Namespace(model="pusher-64", vae=None, host="127.0.0.1", port=0, no_browser=True,
                              precision="fp32", sampler=None, steps=None, save_dir=str(tmp_path / "saves"),
                              max_sessions=1, no_simulator=False)
    assert run(args) == 0
    (play,) = apps
    assert (play.sim_kind, play.sim_world) == ("pusher", 2)
