"""A learning curve: the quality and contact figures of a training run's checkpoints, step by step.

``freeaction curve RUN [RUN ...] --dataset DIR --vae VAE --out CURVE`` measures the EMA weights of
each checkpoint of the run folders with :func:`~freeaction.eval.quality.quality_check`, on the same
test clips, seeds and sampler every time, so the rows compare. Several run folders are the stages
of one training (a recipe's ``train``, ``train-2``, ...), each counting its steps from 0; a curve
counts them over all the stages, and says each row's hours of training. The curve folder::

    settings.json            what every row was measured with (a later call that differs is refused)
    curve.jsonl              one line per measured step: its headline figures (:func:`headline`)
    step-00001000.json       that step's whole ``quality_check`` result (per clip, per seed)
    step-00001000-frames.npz with ``frames``: every clip's first and last frame, true and generated
    curve.png                the headline figures against the step (``freeaction curve`` draws it:
                             :mod:`freeaction.report.curve`)
    .curve.lock              held while a call measures (a second one is refused)

Each step is written when it is measured, so a call stopped at any time loses at most the step in
flight, and a call again measures only the steps that are missing. ``every`` keeps the steps that
are multiples of it; ``follow`` waits for checkpoints still to come until the last stage's last
step (its config's ``max_steps``) is measured; the folders of stages still to come may be missing
until then. A training run prunes old checkpoints (``keep_checkpoints``); its ``keep_every`` keeps
the ones a curve wants.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from freeaction.errors import InputError
from freeaction.eval.results_folder import cut_torn_line
from freeaction.eval.results_folder import read_rows as read_jsonl
from freeaction.files import FolderLock, write_json_atomic
from freeaction.train.checkpoint import MODEL_DIR, STATE_JSON, list_checkpoints
from freeaction.train.log import train_seconds

SETTINGS = "settings.json"
ROWS = "curve.jsonl"
PLOT = "curve.png"
# settings a row depends on: rows measured with other values are not points of the same curve
FROZEN = ("dataset", "vae", "split", "clips", "clip_frames", "sampler", "steps", "seed", "seeds")

_OBJECT_KEYS = ("moved_error_final_px", "moved_found_final", "moved_blocks", "blocks_kept_final")
_ARM_KEYS = ("robot_iou", "robot_iou_moving", "gripper_agreement")


class CurveCheckpoint(NamedTuple):
    """One checkpoint of a curve: its step counted over all the stages, and where it is."""

    step: int
    run: Path
    stage_step: int
    path: Path


def _state(path: Path) -> dict[str, Any]:
    return json.loads((Path(path) / STATE_JSON).read_text(encoding="utf-8"))


def stage_length(run: str | Path) -> int | None:
    """The step a run folder's training ends at (its newest checkpoint's config ``max_steps``);
    None for a folder without checkpoints."""
    found = list_checkpoints(Path(run))
    return _state(found[-1]).get("config", {}).get("max_steps") if found else None


def run_checkpoints(runs: Sequence[str | Path], every: int = 0) -> list[CurveCheckpoint]:
    """Every complete checkpoint of the run folders, by step. The runs are the stages of one
    training, each starting from the one before's end and counting its steps from 0: a stage's
    steps are offset by the lengths (``max_steps``) of the stages before it. With ``every``, only
    the steps (so offset) that are multiples of it."""
    found, offset = [], 0
    for run in map(Path, runs):
        for ck in list_checkpoints(run):
            stage_step = int(_state(ck)["step"])
            found.append(CurveCheckpoint(offset + stage_step, run, stage_step, ck))
        length = stage_length(run)
        if length is None:
            break  # a stage not started yet: the later ones have not either
        offset += length
    return [c for c in found if not every or c.step % every == 0]


def last_step(runs: Sequence[str | Path]) -> int | None:
    """The last stage's last step, counted over all the stages; None while a stage has not started."""
    total = 0
    for run in runs:
        length = stage_length(run)
        if length is None:
            return None
        total += length
    return total


def hours_trained(runs: Sequence[str | Path], checkpoint: CurveCheckpoint) -> float:
    """Training wall time up to the checkpoint, summed over its stage and the stages before it
    (:func:`~freeaction.train.log.train_seconds`: optimizer steps only, not pauses)."""
    seconds = 0.0
    for run in map(Path, runs):
        if run == checkpoint.run:
            return (seconds + train_seconds(run, checkpoint.stage_step)) / 3600
        seconds += train_seconds(run)
    raise ValueError(f"{checkpoint.run} is not one of the runs")


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The figures a curve row keeps from a ``quality_check`` result: the Latent L2 ratios, the
    effector error and, where measured, the object (pusher) and arm figures of the true actions, with
    the "nothing moves" and shuffled-actions references of the object figures."""
    row: dict[str, Any] = {k: result.get(k) for k in ("true_over_still", "true_over_shuffled", "ee_error")}
    objects, arm = result.get("objects") or {}, result.get("arm") or {}
    for keys, part in ((_OBJECT_KEYS, objects), (_ARM_KEYS, arm)):
        if not part:
            continue
        for k in keys:
            row[k] = part["true_actions"].get(k)
        row["references"] = {**row.get("references", {}),
                             **{ref: {k: part[ref].get(k) for k in keys}
                                for ref in ("nothing_moves", "shuffled_actions") if ref in part}}
    row["seconds"] = result.get("seconds")
    return row


def read_rows(out: str | Path) -> list[dict[str, Any]]:
    """The curve's rows, by step (a torn last line, from a killed call, is left out)."""
    rows = read_jsonl(Path(out) / ROWS)
    return sorted({r["step"]: r for r in rows}.values(), key=lambda r: r["step"])


def _append_row(out: Path, row: dict[str, Any]) -> None:
    with open(out / ROWS, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()


def check_settings(out: Path, settings: dict[str, Any]) -> None:
    """Record ``settings`` in a new curve folder; refuse a folder measured with other ones."""
    path = out / SETTINGS
    if not path.is_file():
        write_json_atomic(path, settings, indent=1)
        return
    old = json.loads(path.read_text(encoding="utf-8"))
    differ = [f"{k}: {old.get(k)!r} there, {settings.get(k)!r} now" for k in FROZEN if old.get(k) != settings.get(k)]
    if differ:
        raise InputError(f"{path}: this curve was measured with other settings ({'; '.join(differ)}); its rows "
                         "would not compare: use those settings or another --out folder")


def measure_curve(
    runs: Sequence[str | Path],
    out: str | Path,
    *,
    dataset: str | Path,
    vae: str | Path | None = None,
    every: int = 0,
    follow: bool = False,
    frames: bool = False,
    poll_seconds: float = 60.0,
    measure: Callable[..., dict[str, Any]] | None = None,
    on_row: Callable[[list[dict[str, Any]]], None] | None = None,
    log: Callable[[str], None] = print,
    **quality: Any,
) -> list[dict[str, Any]]:
    """Measure every checkpoint of ``runs`` not in the curve folder ``out`` yet (see the module doc)
    and return all its rows. ``quality``: ``quality_check``'s options (clips, seeds, sampler, ...),
    recorded in ``settings.json``. ``on_row(rows)`` is called with every row so far after each step is
    written (the command prints the new row and redraws the plot); ``measure`` stands in for
    ``quality_check`` (tests)."""
    from freeaction.eval.quality import quality_check

    measure = measure or quality_check
    runs = [Path(r) for r in runs]
    for run in runs:
        if not run.is_dir() and not follow:
            raise InputError(f"{run}: no such run folder (with --follow, a later stage's folder may come later)")
    if every < 0:
        raise InputError(f"--every must be >= 0, got {every}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"dataset": str(Path(dataset).resolve()), "vae": str(Path(vae).resolve()) if vae else None,
                "split": quality.get("split", "test"), "clips": quality.get("clips", 64),
                "clip_frames": quality.get("clip_frames", 16), "sampler": quality.get("sampler"),
                "steps": quality.get("steps"), "seed": quality.get("seed", 0), "seeds": quality.get("seeds", 1),
                "runs": [str(r.resolve()) for r in runs], "every": every}
    with FolderLock(out, ".curve.lock", "freeaction curve"):
        check_settings(out, settings)
        cut_torn_line(out / ROWS)
        while True:
            done = {r["step"] for r in read_rows(out)}
            for point in [c for c in run_checkpoints(runs, every) if c.step not in done]:
                step, ck = point.step, point.path
                log(f"step {step}: measuring {ck / MODEL_DIR}")
                try:
                    frames_out = out / f"step-{step:08d}-frames.npz" if frames else None
                    result = measure(ck / MODEL_DIR, dataset, vae=vae, frames_out=frames_out, **quality)
                except FileNotFoundError as exc:  # pruned by the training between listing and loading
                    log(f"step {step}: {ck} is gone ({exc}); skipped (set the run's keep_every to keep it)")
                    continue
                write_json_atomic(out / f"step-{step:08d}.json", {**result, "step": step}, indent=1)
                _append_row(out, {"step": step, "checkpoint": str(ck), "stage_step": point.stage_step,
                                  "train_hours": hours_trained(runs, point), **headline(result)})
                if on_row is not None:
                    on_row(read_rows(out))
            done = {r["step"] for r in read_rows(out)}
            end = last_step(runs)
            if not follow or (end is not None and end in done):
                break
            time.sleep(poll_seconds)
    return read_rows(out)
