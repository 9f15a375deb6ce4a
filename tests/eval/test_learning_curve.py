"""`freeaction curve`: a run's checkpoints measured step by step, resumed, refused when it would mix settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import make_checkpoint, make_pusher

from freeaction.errors import InputError
from freeaction.eval.learning_curve import headline, last_step, measure_curve, read_rows, run_checkpoints
from freeaction.report.curve import format_curve, plot_curve


def fake_checkpoint(run: Path, step: int, max_steps: int = 4000, model: Path | None = None) -> Path:
    """The layout of a training checkpoint: ``model/`` and ``train_state.json`` with step and config."""
    ck = run / "checkpoints" / f"step-{step:08d}"
    if model is not None:
        shutil.copytree(model, ck / "model")
    else:
        (ck / "model").mkdir(parents=True)
    (ck / "train_state.json").write_text(json.dumps({"step": step, "config": {"max_steps": max_steps}}))
    return ck


def fake_result(step: int) -> dict:
    """A quality result whose figures tell the step they came from."""
    blocks = {"moved_error_final_px": 10.0 / step, "moved_found_final": 3, "moved_blocks": 4, "blocks_kept_final": 0.9}
    return {"true_over_still": 1.0 / step, "true_over_shuffled": 0.5, "ee_error": 3.0, "seconds": 1.0,
            "objects": {"true_actions": blocks, "shuffled_actions": {**blocks, "moved_found_final": 2},
                        "nothing_moves": {**blocks, "moved_error_final_px": 8.0}}}


class FakeMeasure:
    """Stands in for quality_check: records the checkpoints it was given, reads the step from the path."""

    def __init__(self, then=None):
        self.calls, self.then = [], then

    def __call__(self, model_dir, dataset, **kw):
        step = int(Path(model_dir).parent.name.removeprefix("step-"))
        self.calls.append((step, kw))
        if self.then:
            self.then(step)
        return fake_result(step)


def test_checkpoints_of_a_recipes_stages_are_one_curve(tmp_path):
    first, second, third = tmp_path / "train", tmp_path / "train-2", tmp_path / "train-3"
    for step in (250, 500, 750):
        fake_checkpoint(first, step, max_steps=750)
    for step in (250, 500):  # stage 2 counts from 0 again, from stage 1's end
        fake_checkpoint(second, step, max_steps=1000)
    (first / "checkpoints" / "step-00001500").mkdir()  # incomplete: no train_state.json
    runs = [first, second, third]
    points = run_checkpoints(runs)
    assert [c.step for c in points] == [250, 500, 750, 1000, 1250]
    assert (points[3].run, points[3].stage_step) == (second, 250)
    assert [c.step for c in run_checkpoints(runs, every=500)] == [500, 1000]
    assert last_step(runs) is None  # stage 3 has not started
    fake_checkpoint(third, 100, max_steps=200)
    assert last_step(runs) == 750 + 1000 + 200 and run_checkpoints(runs)[-1].step == 1850


def test_each_step_is_written_as_measured_and_a_second_call_measures_only_new_ones(tmp_path):
    run, out = tmp_path / "run", tmp_path / "curve"
    for step in (500, 1000):
        fake_checkpoint(run, step)
    seen = []
    measure = FakeMeasure()
    rows = measure_curve([run], out, dataset=tmp_path, clips=8, measure=measure,
                         on_row=lambda r: seen.append(len(r)), log=lambda _: None)
    assert [s for s, _ in measure.calls] == [500, 1000] and seen == [1, 2]
    assert measure.calls[0][1]["clips"] == 8
    assert [r["step"] for r in rows] == [500, 1000]
    assert rows[1]["true_over_still"] == pytest.approx(1 / 1000)
    assert rows[1]["moved_error_final_px"] == pytest.approx(0.01)
    assert rows[1]["references"]["nothing_moves"]["moved_error_final_px"] == 8.0
    full = json.loads((out / "step-00000500.json").read_text())
    assert full["step"] == 500 and full["objects"]["true_actions"]["moved_blocks"] == 4

    fake_checkpoint(run, 1500)
    with open(out / "curve.jsonl", "a") as f:
        f.write('{"step": 2000, "true_ov')  # a torn line from a killed call
    again = FakeMeasure()
    rows = measure_curve([run], out, dataset=tmp_path, clips=8, measure=again, log=lambda _: None)
    assert [s for s, _ in again.calls] == [1500]
    assert [r["step"] for r in rows] == [500, 1000, 1500]


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    run, out = tmp_path / "run", tmp_path / "curve"
    fake_checkpoint(run, 500)
    measure_curve([run], out, dataset=tmp_path, clips=8, measure=FakeMeasure(), log=lambda _: None)
    with pytest.raises(InputError, match=r"clips: 8 there, 16 now"):
        measure_curve([run], out, dataset=tmp_path, clips=16, measure=FakeMeasure(), log=lambda _: None)


def test_follow_waits_for_the_runs_last_step(tmp_path):
    run, out = tmp_path / "run", tmp_path / "curve"
    fake_checkpoint(run, 250, max_steps=750)

    def train_on(step):  # the training writes the next checkpoint while the curve measures this one
        if step < 750:
            fake_checkpoint(run, step + 250, max_steps=750)

    measure = FakeMeasure(then=train_on)
    rows = measure_curve([run], out, dataset=tmp_path, follow=True, poll_seconds=0, measure=measure,
                         log=lambda _: None)
    assert [r["step"] for r in rows] == [250, 500, 750]


def test_follow_waits_for_a_later_stages_folder(tmp_path):
    first, second, out = tmp_path / "train", tmp_path / "train-2", tmp_path / "curve"
    fake_checkpoint(first, 500, max_steps=500)
    with pytest.raises(InputError, match="train-2: no such run folder"):
        measure_curve([first, second], out, dataset=tmp_path, measure=FakeMeasure(), log=lambda _: None)

    def train_on(step):  # stage 2 starts after stage 1's last checkpoint (steps as the paths name them)
        if not second.exists():
            fake_checkpoint(second, 250, max_steps=500)
        elif step == 250:
            fake_checkpoint(second, 500, max_steps=500)

    rows = measure_curve([first, second], out, dataset=tmp_path, follow=True, poll_seconds=0,
                         measure=FakeMeasure(then=train_on), log=lambda _: None)
    assert [(r["step"], r["stage_step"]) for r in rows] == [(500, 500), (750, 250), (1000, 500)]


def test_a_checkpoint_pruned_before_it_is_measured_is_skipped_and_said(tmp_path):
    run, out = tmp_path / "run", tmp_path / "curve"
    for step in (500, 1000):
        fake_checkpoint(run, step)

    def measure(model_dir, dataset, **kw):
        if "00000500" in str(model_dir):
            raise FileNotFoundError(model_dir)
        return fake_result(1000)

    said = []
    rows = measure_curve([run], out, dataset=tmp_path, measure=measure, log=said.append)
    assert [r["step"] for r in rows] == [1000]
    assert any("step 500" in s and "keep_every" in s for s in said)


def test_a_second_call_on_the_same_folder_is_refused(tmp_path):
    run, out = tmp_path / "run", tmp_path / "curve"
    fake_checkpoint(run, 500)
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from freeaction.files import FolderLock
        with FolderLock({str(out)!r}, ".curve.lock", "freeaction curve"):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match="another freeaction curve run"):
            measure_curve([run], out, dataset=tmp_path, measure=FakeMeasure(), log=lambda _: None)
    finally:
        holder.kill()
        holder.wait()


def test_headline_keeps_the_arm_figures_with_their_references():
    arm = {"robot_iou": 0.7, "gripper_agreement": 0.8, "robot_iou_moving": 0.6}
    result = {"true_over_still": 0.9, "true_over_shuffled": 0.7, "ee_error": None,
              "arm": {"true_actions": arm, "nothing_moves": {**arm, "robot_iou": 0.66}, "shuffled_actions": arm}}
    row = headline(result)
    assert row["robot_iou"] == 0.7 and row["gripper_agreement"] == 0.8 and "moved_blocks" not in row
    assert row["references"]["nothing_moves"] == {"robot_iou": 0.66, "robot_iou_moving": 0.6, "gripper_agreement": 0.8}
    text = format_curve([{"step": 1000, "train_hours": 1.5, **row}]).splitlines()
    assert text[0] == "| step | hours | L2 / still | L2 / shuffled | robot IoU | moving-robot IoU | gripper |"
    assert text[2] == "| 1,000 | 1.50 | 0.900 | 0.700 | 0.700 | 0.600 | 80.0% |"
    assert text[3] == "| nothing moves |  | 1.000 |  | 0.660 | 0.600 | 80.0% |"
    pusher = format_curve([{"step": 500, **headline(fake_result(500))}]).splitlines()
    assert pusher[2] == "| 500 | 0.002 | 0.500 | 3.00 | 0.02 (3/4) | 90.0% |"
    assert pusher[3] == "| nothing moves | 1.000 |  |  | 8.00 (3/4) | 90.0% |"


def test_plot_draws_a_panel_per_measured_figure(tmp_path):
    rows = [{"step": s, **headline(fake_result(s))} for s in (500, 1000)]
    path = plot_curve(rows, tmp_path / "curve.png")
    assert path.stat().st_size > 5000
    assert plot_curve([{"step": 1}], tmp_path / "none.png") is None


def test_curve_command_on_real_checkpoints_matches_freeaction_quality(tmp_path):
    from freeaction.cli import main
    from freeaction.eval.quality import quality_check

    model = make_checkpoint(tmp_path / "model")
    data = make_pusher(tmp_path / "data", episodes=8)
    run = tmp_path / "run"
    for step in (10, 20):
        fake_checkpoint(run, step, max_steps=20, model=model)
    out = tmp_path / "curve"
    argv = ["curve", str(run), "--dataset", str(data), "--out", str(out), "--split", "train", "--clips", "2",
            "--clip-frames", "6", "--sampler", "ddim", "--steps", "2", "--every", "20", "--frames"]
    assert main(argv) == 0
    rows = read_rows(out)
    assert [r["step"] for r in rows] == [20]
    direct = quality_check(run / "checkpoints" / "step-00000020" / "model", data, split="train", clips=2,
                           clip_frames=6, sampler="ddim", steps=2, progress=False)
    assert rows[0]["true_over_still"] == pytest.approx(direct["true_over_still"])
    assert rows[0]["blocks_kept_final"] == pytest.approx(direct["objects"]["true_actions"]["blocks_kept_final"])
    assert (out / "curve.png").stat().st_size > 5000
    assert set(np.load(out / "step-00000020-frames.npz")) >= {"true_last", "generated_last"}
    assert main(argv) == 0 and len(read_rows(out)) == 1  # nothing new to measure


def test_hours_trained_add_up_over_the_stages(tmp_path):
    from freeaction.eval.learning_curve import hours_trained

    first, second = tmp_path / "train", tmp_path / "train-2"
    for run, length in ((first, 100), (second, 100)):
        fake_checkpoint(run, length, max_steps=length)
        (run / "train_config.yaml").write_text("batch_size: 4\n")
        # 50 steps of 4 samples at 1 sample/s, twice: 400 s a stage
        (run / "log.jsonl").write_text("".join(json.dumps({"step": s, "samples_per_s": 1.0}) + "\n" for s in (50, 100)))
    points = run_checkpoints([first, second])
    assert hours_trained([first, second], points[0]) == pytest.approx(400 / 3600)
    assert hours_trained([first, second], points[1]) == pytest.approx(800 / 3600)
