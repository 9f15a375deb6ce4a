"""``freeaction evaluate`` on pusher data: object metrics in the rows, reference rows beside the
methods, and both as columns and rows of the report."""

from __future__ import annotations

import json

import pytest
import torch
from eval_helpers import write_config

from freeaction.eval import evaluate, load_eval_config
from freeaction.eval.metrics import latent_l2
from freeaction.eval.results_folder import read_rows
from freeaction.report import build_report


@pytest.fixture(scope="module")
def object_run(eval_workspace):
    cfg = write_config(eval_workspace / "objects.yaml", out="objects_out", methods=["unguided"], seeds=1,
                       references=["still", "shuffled"], save_videos=1)
    out = eval_workspace / "objects_out"
    if not (out / "index.html").exists():
        evaluate(load_eval_config(cfg), progress=False, report=lambda folder: build_report(folder, videos=False))
    return out


def test_rows_hold_object_metrics_and_the_references(object_run, eval_workspace):
    rows = read_rows(object_run / "results.jsonl")
    samples = [r for r in rows if r["kind"] == "sample"]
    by = {(r["method"], r["clip"]): r for r in samples}
    clips = sorted({r["clip"] for r in samples})
    assert {r["method"] for r in samples} == {"unguided", "still", "shuffled"}
    assert all((m, c) in by for m in ("unguided", "still", "shuffled") for c in clips)
    for c in clips:  # shuffled: the baseline's sampler seed, another clip's actions
        assert by[("shuffled", c)]["sampler_seed"] == by[("unguided", c)]["sampler_seed"]
        assert by[("shuffled", c)]["latent_l2"] != by[("unguided", c)]["latent_l2"]
    moved = [r for r in samples if "blocks_kept" in r]
    # the tiny untrained VAE garbles colours: a lost block has no position error to report
    assert all("block_error_px" not in r for r in moved if r["blocks_kept"] == 0.0)
    assert moved, "the tiny pusher data should push a block in some test clip"
    for r in samples:  # pusher data: block figures where a block moved, never an arm figure
        assert not {"robot_iou", "gripper_agreement"} & set(r)
        assert 0.0 <= r.get("blocks_kept", 0.0) <= 1.0 and r.get("block_error_px", 0.0) >= 0.0
    assert {r["clip"] for r in moved} == {r["clip"] for r in samples if "blocks_kept" in r and r["method"] == "still"}
    refs = [r for r in rows if r["kind"] == "reference"]
    assert all("vae_blocks_kept" in r for r in refs if any(m["clip"] == r["clip"] for m in moved))
    # "still" is the context latent repeated: its Latent L2 is that of nothing moving
    from freeaction.eval.clips import ClipRef, load_clip, open_test_split
    from freeaction.pipeline import WorldModel

    wm = WorldModel.load(eval_workspace / "ckpt", eval_workspace / "ckpt" / "vae")
    ds = open_test_split(wm, str(eval_workspace / "data"), "test", wm.config.num_frames)
    row = by[("still", clips[0])]
    clip = load_clip(ds, ClipRef("short", row["clip_index"], row["clip"]), wm)
    assert row["latent_l2"] == pytest.approx(latent_l2(clip.latents[:1].expand_as(clip.latents), clip.latents),
                                             rel=1e-5)
    assert torch.is_tensor(clip.latents)


def test_results_and_table_show_object_columns_and_reference_rows(object_run):
    summary = json.loads((object_run / "results.json").read_text())
    assert summary["methods"] == ["unguided"] and summary["references"] == ["still", "shuffled"]
    short = summary["protocols"]["short"]
    assert "blocks_kept" in short["metrics"]
    assert not {"robot_iou", "gripper_agreement"} & set(short["metrics"])
    assert short["comparisons"]["still"]["blocks_kept"]["n_clips"] >= 1  # paired with the baseline, interval
    assert "vae_blocks_kept" in short["reference"]
    table = (object_run / "table.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| Method"))
    assert "moved blocks kept↑" in header
    still = next(line for line in table.splitlines() if line.startswith("| nothing moves (reference)"))
    assert "% better" in still  # a difference to the baseline with its share of clips, like a method's row
    assert "| shuffled actions (reference)" in table
    page = (object_run / "index.html").read_text()
    assert "nothing moves (reference)" in page and "moved blocks kept" in page


def test_shuffled_rows_of_another_baseline_are_not_mixed_in(object_run, eval_workspace):
    from freeaction.errors import InputError

    cfg = write_config(eval_workspace / "objects2.yaml", out="objects_out", seeds=1, baseline="freeaction",
                       methods=["unguided", "freeaction"], references=["shuffled"], save_videos=1)
    with pytest.raises(InputError, match="'shuffled' reference rows sampled with 'unguided'"):
        evaluate(load_eval_config(cfg), progress=False)
    assert json.loads((object_run / "run.json").read_text())["shuffled_method"] == "unguided"
