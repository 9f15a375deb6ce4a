"""``freeaction evaluate`` end to end: pairing, rows, resume after SIGKILL, shards, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from eval_helpers import cli, make_checkpoint, run_cli, write_config

from freeaction.errors import InputError
from freeaction.eval import evaluate, load_eval_config
from freeaction.eval.results_folder import ShardWriter, read_rows
from ports import free_port

METRICS = ("latent_l2", "psnr", "ssim", "sampler_seed")


def by_key(rows):
    return {(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"]): r for r in rows}


def same_values(a: dict, b: dict, keys=METRICS) -> bool:
    return all(k not in a or a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-5) for k in keys)


def test_finished_run_has_every_row_once_and_pairs_methods(finished_run):
    rows = read_rows(finished_run / "results.jsonl")
    keys = [(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys))
    short = [r for r in rows if r["protocol"] == "short" and r["kind"] == "sample"]
    clips = sorted({r["clip"] for r in short})
    assert len(clips) >= 2
    assert Counter(r["method"] for r in short) == {m: 2 * len(clips) for m in ("unguided", "freeaction", "cfg_null")}
    for clip in clips:  # same sampler seed for every method: paired by construction
        for seed in (0, 1):
            seeds = {r["sampler_seed"] for r in short if r["clip"] == clip and r["seed"] == seed}
            assert len(seeds) == 1
    assert all({"psnr", "ssim", "latent_l2", "idm_error", "ee_error"} <= set(r) for r in short)
    div = [r for r in rows if r["kind"] == "clip" and r["protocol"] == "short"]
    assert len(div) == 3 * len(clips) and all(r["diversity_latent_l2"] > 0 for r in div)
    ref = [r for r in rows if r["kind"] == "reference" and r["protocol"] == "short"]
    assert len(ref) == len(clips) and all(r["ee_error"] < 2.0 and "vae_psnr" in r for r in ref)
    long = [r for r in rows if r["protocol"] == "long" and r["kind"] == "sample"]
    assert len(long) == 6 and all(len(r["psnr_color_per_frame"]) == 18 for r in long)
    run = json.loads((finished_run / "run.json").read_text())
    assert run["methods"]["freeaction"]["truncation"]["mu_act"] > 0  # computed from the train split and recorded
    saved = sorted(p.name for p in (finished_run / "videos" / "short").iterdir())
    assert len(saved) == 2  # save_videos bounds the clips with videos
    assert {p.name for p in (finished_run / "videos" / "short" / saved[0]).iterdir()} == {
        "_truth.mp4", "unguided.mp4", "freeaction.mp4", "cfg_null.mp4"}


def test_results_do_not_depend_on_batch_composition(eval_workspace, finished_run):
    cfg = write_config(eval_workspace / "b1.yaml", out="b1_out", clips=[1], batch_size=1,
                       methods=["unguided", "freeaction"], save_videos=0)
    evaluate(load_eval_config(cfg), progress=False, report=False)
    full = by_key(read_rows(finished_run / "results.jsonl"))
    rows = [r for r in read_rows(eval_workspace / "b1_out" / "results.jsonl") if r["kind"] == "sample"]
    assert len(rows) == 4
    for r in rows:
        assert same_values(r, full[("sample", "short", r["method"], r["clip"], r["seed"])])


def test_killed_run_resumes_without_losing_or_duplicating_rows(eval_workspace, finished_run):
    cfg = write_config(eval_workspace / "kill.yaml", out="kill_out", methods=["unguided", "freeaction"], steps=2,
                       save_videos=0)
    shard = eval_workspace / "kill_out" / "shards" / "rank000-of-001.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "freeaction.eval", "evaluate", str(cfg), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not (shard.exists() and len(read_rows(shard)) >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not shard.with_suffix(".done").exists(), "the run finished before it could be killed"
    partial = len(read_rows(shard))
    with shard.open("a") as f:
        f.write('{"kind": "sample", "protocol": "sh')  # a torn last line, as a kill mid-write leaves
    cli("evaluate", cfg, "--no-progress", "--no-report")
    rows = read_rows(eval_workspace / "kill_out" / "results.jsonl")
    keys = [(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys)) and len(rows) > partial
    full = by_key(read_rows(finished_run / "results.jsonl"))
    expected = {k for k in full if k[1] == "short" and k[2] in ("unguided", "freeaction", None)}
    assert set(keys) == expected
    for r in rows:
        assert same_values(r, full[(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"])])


def test_shards_split_clips_by_rank_and_merge(eval_workspace, finished_run, monkeypatch):
    cfg = load_eval_config(write_config(eval_workspace / "shard.yaml", out="shard_out", save_videos=0,
                                        methods=["unguided", "freeaction"]))
    out = eval_workspace / "shard_out"
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        summary = evaluate(cfg, progress=False, report=False)
        assert summary["merged"] is None if rank == 1 else summary["merged"]  # the last rank to finish merges
    for rank in (0, 1):
        idx = {r["clip_index"] for r in read_rows(out / "shards" / f"rank{rank:03d}-of-002.jsonl")}
        positions = sorted({r["clip_index"] for r in read_rows(out / "results.jsonl")})
        assert idx == {c for i, c in enumerate(positions) if i % 2 == rank}
    full = by_key(read_rows(finished_run / "results.jsonl"))
    merged = read_rows(out / "results.jsonl")
    assert {(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"]) for r in merged} == {
        k for k in full if k[1] == "short" and k[2] in ("unguided", "freeaction", None)}
    assert all(same_values(r, full[(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"])]) for r in merged)


def test_two_launched_processes_shard_and_merge(eval_workspace, finished_run):
    """A real gloo process group of 2 CPU processes (torchrun, what `accelerate launch` runs on GPUs);
    each takes its clips, rank 0 merges after the barrier, the rows equal a single-process run."""
    cfg = write_config(eval_workspace / "launch.yaml", out="launch_out", save_videos=0,
                       methods=["unguided", "freeaction"])
    out = eval_workspace / "launch_out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
         "-m", "freeaction.eval", "evaluate", str(cfg), "--no-progress", "--no-report"],
        capture_output=True, text=True, env=env, timeout=600, cwd=eval_workspace,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (out / "shards").glob("*.jsonl")) == ["rank000-of-002.jsonl", "rank001-of-002.jsonl"]
    merged = read_rows(out / "results.jsonl")
    full = by_key(read_rows(finished_run / "results.jsonl"))
    assert {(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"]) for r in merged} == {
        k for k in full if k[1] == "short" and k[2] in ("unguided", "freeaction", None)}
    assert all(same_values(r, full[(r["kind"], r["protocol"], r["method"], r["clip"], r["seed"])]) for r in merged)


def test_torn_line_is_cut_when_the_shard_is_reopened(tmp_path):
    w = ShardWriter(tmp_path)
    row = {"kind": "sample", "protocol": "short", "method": "m", "clip": "a@0", "seed": 0, "psnr": float("nan")}
    assert w.append([row]) == 1 and w.append([row]) == 0  # a key is written once
    with w.path.open("a") as f:
        f.write('{"kind": "sam')
    w2 = ShardWriter(tmp_path)
    assert w2.path.read_text().endswith("}\n") and read_rows(w2.path)[0]["psnr"] is None  # NaN -> null


def test_mismatches_and_changed_settings_are_refused(eval_workspace, tmp_path):
    make_checkpoint(tmp_path / "ckpt7", action_dim=7)
    bad = write_config(eval_workspace / "m7.yaml", checkpoint=str(tmp_path / "ckpt7"), out=str(tmp_path / "o1"))
    with pytest.raises(InputError, match="model takes 7-D actions but dataset .* has 2-D actions"):
        evaluate(load_eval_config(bad), progress=False)
    size = write_config(eval_workspace / "size.yaml", resize=[48, 48], out=str(tmp_path / "o2"))
    with pytest.raises(InputError, match=r"dataset frames are 48x48 .* make 32x32 frames; set 'resize: \[32, 32\]'"):
        evaluate(load_eval_config(size), progress=False)
    import shutil

    shutil.copytree(eval_workspace / "ckpt", tmp_path / "novae")
    shutil.rmtree(tmp_path / "novae" / "vae")
    novae = write_config(eval_workspace / "novae.yaml", checkpoint=str(tmp_path / "novae"), out=str(tmp_path / "o3"))
    with pytest.raises(InputError, match="no pre-encoded latents and no VAE"):
        evaluate(load_eval_config(novae), progress=False)
    one = write_config(eval_workspace / "one.yaml", out=str(tmp_path / "o4"), clips=1, seeds=1, save_videos=0)
    evaluate(load_eval_config(one), progress=False, report=False)
    two = write_config(eval_workspace / "one.yaml", out=str(tmp_path / "o4"), clips=1, seeds=2, save_videos=0)
    with pytest.raises(InputError, match="holds results made with seeds = \\[0\\]"):
        evaluate(load_eval_config(two), progress=False)
    shutil.copytree(eval_workspace / "ckpt", tmp_path / "retrained")  # same path, new weights: not resumable
    one = write_config(eval_workspace / "one.yaml", checkpoint=str(tmp_path / "retrained"), out=str(tmp_path / "o5"),
                       clips=1, seeds=1, save_videos=0)
    evaluate(load_eval_config(one), progress=False, report=False)
    evaluate(load_eval_config(one), progress=False, report=False)  # unchanged weights resume
    weights = tmp_path / "retrained" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # a tensor's last byte: still loads
    with pytest.raises(InputError, match="holds results made with other weights"):
        evaluate(load_eval_config(one), progress=False)
    renamed = write_config(eval_workspace / "one.yaml", out=str(tmp_path / "o4"), clips=1, seeds=1,
                           methods=["unguided", {"name": "freeaction", "guidance": {"type": "freeaction"}}])
    with pytest.raises(InputError, match="method 'freeaction' was run in .* with other options"):
        evaluate(load_eval_config(renamed), progress=False)


def test_clips_longer_than_every_episode_are_refused_not_an_empty_table(eval_workspace, tmp_path):
    long = write_config(eval_workspace / "long.yaml", out=str(tmp_path / "o"), clip_frames=5000, save_videos=0)
    with pytest.raises(InputError, match=r"'clip_frames' is 5000, but no episode of split 'test' .* is that long"):
        evaluate(load_eval_config(long), progress=False, report=False)


def test_cli_errors_are_one_line_without_traceback(eval_workspace, capsys):
    cfg = write_config(eval_workspace / "err.yaml", methods=["unguided", {"name": "x", "guidance": {"scael": 1}}])
    assert run_cli("evaluate", cfg) == 2
    err = capsys.readouterr().err
    assert "unknown guidance option(s) ['scael']" in err and os.path.basename(str(cfg)) in err
