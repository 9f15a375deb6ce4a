"""The results folder's format: one writer per folder, unique clip and method file names, failed
metrics counted, and folders written by earlier versions resumed or refused with the reason."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from eval_helpers import run_cli, write_config

from freeaction.errors import InputError
from freeaction.eval import evaluate, load_eval_config
from freeaction.eval.clips import clip_keys, episode_names
from freeaction.eval.results_folder import (
    FORMAT,
    RUN_FILE,
    ShardWriter,
    lock_share,
    read_rows,
    slug,
    write_run,
)
from freeaction.eval.runner import Evaluator
from freeaction.report.html import render_html
from freeaction.report.summary import compute_summary
from freeaction.report.tables import markdown_report


def test_a_second_run_into_a_folder_in_use_is_refused(eval_workspace, tmp_path):
    cfg = load_eval_config(write_config(eval_workspace / "lock.yaml", out=str(tmp_path / "o"), clips=1, seeds=1,
                                        save_videos=0))
    with Evaluator(cfg, progress=False):
        with pytest.raises(InputError, match=r"in use by another process"):
            Evaluator(cfg, progress=False)
        with pytest.raises(InputError, match="in use by another process"):
            evaluate(cfg, progress=False)
    summary = evaluate(cfg, progress=False)  # released at the end of the block
    assert summary["merged"] and summary["units"] == 2


def test_lock_refuses_the_same_share_and_another_world_size(tmp_path):
    first = lock_share(tmp_path, 0, 2)
    with pytest.raises(InputError, match=r"rank 0 of 2\) is in use"):
        lock_share(tmp_path, 0, 2)
    second = lock_share(tmp_path, 1, 2)  # the other rank of the same launch is welcome
    with pytest.raises(InputError, match="another number of processes"):
        lock_share(tmp_path, 0, 1)
    first.release()
    second.release()
    lock_share(tmp_path, 0, 1).release()


def test_clip_keys_and_their_file_names_are_unique_even_when_episode_ids_repeat():
    assert episode_names(["a", "b"]) == ["a", "b"]  # unique ids are kept, so keys (and seeds) do not change
    names = episode_names(["ep", "ep", "x y", "x_y", "z"])
    assert names == ["ep#0", "ep#1", "x y#2", "x_y#3", "z"]
    tricky = episode_names(["a", "a", "a#1"])  # a qualified name meets another id
    assert len({slug(n) for n in tricky}) == 3

    class Episodes:  # what clip_keys reads of a dataset
        num_episodes = 3
        windows = [(0, 0), (0, 16), (1, 0), (2, 0)]

        def episode_id(self, i):
            return ["run", "run", "other"][i]

    short, long = clip_keys(Episodes(), "short"), clip_keys(Episodes(), "long")
    assert short == ["run#0@0", "run#0@16", "run#1@0", "other@0"] and long == ["run#0", "run#1", "other"]
    assert len({slug(k) for k in short}) == len(short)


def test_method_names_sharing_a_file_name_are_refused_up_front(eval_workspace):
    cfg = write_config(eval_workspace / "slug.yaml", methods=[
        "unguided", {"name": "a b", "guidance": {"type": "null"}}, {"name": "a_b", "guidance": {"type": "negated"}}])
    with pytest.raises(InputError, match=r"method names \['a b', 'a_b'\] would share one file name \('a_b'\)"):
        load_eval_config(cfg)


def test_a_nan_metric_is_counted_and_shown_not_silently_dropped(tmp_path):
    write_run(tmp_path, {"format": FORMAT, "baseline": "unguided", "method_order": ["unguided", "fa"],
                         "bootstrap": {"resamples": 200}})
    w = ShardWriter(tmp_path)
    rows = []
    for method in ("unguided", "fa"):
        for c, clip in enumerate(("e0@0", "e1@0", "e2@0")):
            psnr = math.nan if (method, clip) == ("fa", "e1@0") else 20.0 + c + (method == "fa")
            rows.append({"kind": "sample", "protocol": "short", "method": method, "clip": clip, "clip_index": c,
                         "seed": 0, "psnr": psnr, "latent_l2": 0.1})
    assert w.append(rows) == 6 and w.failed_rows == 1
    bad = [r for r in read_rows(w.path) if r.get("failed")]
    assert len(bad) == 1 and bad[0]["failed"] == ["psnr"] and bad[0]["psnr"] is None
    summary = compute_summary(tmp_path)
    fa = summary["protocols"]["short"]["methods"]["fa"]["psnr"]
    assert fa["n_clips"] == 2 and fa["n_failed"] == 1 and fa["failed_clips"] == ["e1@0"]
    assert fa["mean"] == pytest.approx((21 + 23) / 2)
    assert "n_failed" not in summary["protocols"]["short"]["methods"]["unguided"]["psnr"]
    table = markdown_report(summary)
    assert "⚠ 1 failed" in table
    assert "Failed: fa, PSNR↑: 1 sample(s) failed (NaN/inf) on 1 clip(s) (e1@0)" in table
    assert "<b>Failed:</b> fa, PSNR↑: 1 sample(s)" in render_html(summary, tmp_path, [], [])


def test_evaluate_prints_the_table_and_a_normalised_path(eval_workspace, capsys):
    (eval_workspace / "sub").mkdir(exist_ok=True)
    cfg = write_config(eval_workspace / "sub" / "print.yaml", checkpoint="../ckpt", dataset="../data",
                       out="../print_out", clips=1, seeds=1, save_videos=0)
    assert run_cli("evaluate", cfg, "--no-progress") == 0
    printed = capsys.readouterr().out
    assert "| Method | PSNR↑ |" in printed and "{" not in printed.splitlines()[0]
    assert f"report -> {eval_workspace / 'print_out' / 'index.html'}" in printed and ".." not in printed


def _old_folder(eval_workspace, tmp_path, **settings):
    """A finished one-clip run whose run.json is rewritten as an earlier version wrote it."""
    ckpt = tmp_path / "ckpt"
    if not ckpt.exists():
        shutil.copytree(eval_workspace / "ckpt", ckpt)
    cfg = write_config(eval_workspace / "old.yaml", checkpoint=str(ckpt), out=str(tmp_path / "o"), clips=1, seeds=1,
                       save_videos=0, sampler="ddim", steps=50)
    evaluate(load_eval_config(cfg), progress=False)
    run = json.loads((tmp_path / "o" / RUN_FILE).read_text())
    run["settings"].update(settings)
    (tmp_path / "o" / RUN_FILE).write_text(json.dumps(run))
    return ckpt


def test_a_folder_written_before_resumes_when_its_settings_mean_the_same(eval_workspace, tmp_path):
    ckpt = _old_folder(eval_workspace, tmp_path, steps=None)  # earlier runs recorded "steps: null" for the default
    cfg = write_config(eval_workspace / "old.yaml", checkpoint=str(ckpt), out=str(tmp_path / "o"), clips=1, seeds=1,
                       save_videos=0, sampler="ddim", steps=50)
    assert evaluate(load_eval_config(cfg), progress=False)["units"] == 0  # nothing redone


def test_a_folder_written_before_is_refused_with_the_reason(eval_workspace, tmp_path):
    ckpt = _old_folder(eval_workspace, tmp_path, sampler="pndm", steps=None)
    (ckpt / "shipped.json").write_text(json.dumps({"simulator": "pusher", "sampler": "ddim", "steps": 2}))
    cfg = write_config(eval_workspace / "old.yaml", checkpoint=str(ckpt), out=str(tmp_path / "o"), clips=1, seeds=1,
                       save_videos=0, sampler=None, steps=None)  # the model's recommendation: ddim 2
    with pytest.raises(InputError, match=r"made with sampler = 'pndm', this config has 'ddim' \(a config without "
                                         r"'sampler'/'steps' samples as the model folder recommends; set "
                                         r"'sampler: pndm' and 'steps: 50' to resume\)"):
        evaluate(load_eval_config(cfg), progress=False)
    run = json.loads((tmp_path / "o" / RUN_FILE).read_text())
    run["format"] = "freeaction-eval/0"
    (tmp_path / "o" / RUN_FILE).write_text(json.dumps(run))
    with pytest.raises(InputError, match="holds results of format 'freeaction-eval/0'"):
        evaluate(load_eval_config(cfg), progress=False)
