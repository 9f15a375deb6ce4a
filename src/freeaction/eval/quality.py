"""Does a trained world model know its world? The quality bar of the shipped default models.

On held-out clips (1 context frame + ``clip_frames - 1`` actions; a model with a shorter window
is rolled out in chunks), with one sampler and one seed per clip, loaded, seeded and measured
by the parts ``freeaction evaluate`` uses (:mod:`~freeaction.eval.clips`,
:mod:`~freeaction.eval.measure`):

- ``latent_l2``: the model with each clip's true actions;
- ``latent_l2_shuffled``: the same clips and seeds with the actions of another clip (the clips'
  action sequences rotated by one), so only the actions differ;
- ``latent_l2_still``: the "nothing moves" baseline, every future frame = the context frame;
- with a VAE and pusher data: ``ee_error`` (pixels, mean over frames 1..n), the end effector
  found by colour in the generated frames against its true position, and
  ``ee_error_truth``, the same measurement on the real frames (the locator's own floor), and
  ``ee_error_by_frame`` / ``ee_missing_by_frame``, the error and the fraction of clips that lost
  the effector at each frame index (where along the clip the model drifts).

- where the clips' annotations allow: the object-level figures (``objects``, ``arm``; docs/evaluation.md
  §7) for true actions, shuffled actions and nothing moves, pooled and per seed, and each clip's own
  in its row; with ``frames_out``, every generated clip's first and last frame beside the true ones
  (:class:`~freeaction.eval.first_last_frames.FirstLastFrames`), for pictures of what the model gets wrong.

The bar: ``latent_l2 < latent_l2_still``, ``latent_l2 <= 0.8 * latent_l2_shuffled``
and, for the pusher, ``ee_error <= 3``. ``freeaction quality`` prints and saves these figures
(the contact bar of :mod:`~freeaction.eval.contact_bar` reads the object figures).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from freeaction.data.clip import evenly_spaced
from freeaction.errors import InputError
from freeaction.eval.clips import ClipRef, TestClip, clip_keys, derive_seed, load_clip, open_test_split
from freeaction.eval.contact_bar import NOT_PAINTED
from freeaction.eval.first_last_frames import FirstLastFrames
from freeaction.eval.measure import effector_by_frame, load_gripper_reader, object_metrics
from freeaction.eval.metrics import latent_l2
from freeaction.eval.objects import BlockFrames, GripperReader, clip_figures, nothing_moves, summarize_blocks
from freeaction.eval.runner import generate_in_batches
from freeaction.pipeline import WorldModel
from freeaction.shipped import QUICK_SAMPLER, resolve_sampler

SHUFFLED_RATIO_BAR = 0.8
EFFECTOR_BAR_PX = 3.0


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    """The mean of ``key`` over the rows, NaNs left out; NaN when every value is NaN, None when no row has it."""
    vals = [r[key] for r in rows if key in r and not np.isnan(r[key])]
    return float(np.mean(vals)) if vals else (float("nan") if any(key in r for r in rows) else None)


def _ratios(figures: dict[str, Any]) -> dict[str, float]:
    """The two Latent L2 ratios the bar reads: true/shuffled actions and true/nothing moves."""
    return {"true_over_shuffled": figures["latent_l2"] / figures["latent_l2_shuffled"],
            "true_over_still": figures["latent_l2"] / figures["latent_l2_still"]}


def _by_frame(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Frame k of every clip (1..n): where along the clip the effector drifts or is lost."""
    by_frame = [r["ee_error_by_frame"] for r in rows if "ee_error_by_frame" in r]
    if not by_frame:
        return {}
    missing = [r["ee_missing_by_frame"] for r in rows if "ee_missing_by_frame" in r]
    return {"ee_error_by_frame": np.mean(by_frame, axis=0).tolist(),
            "ee_missing_by_frame": np.mean(missing, axis=0).tolist()}


def the_bar(figures: dict[str, Any]) -> dict[str, bool]:
    """Which parts of the quality bar the figures meet (the effector only where it was measured)."""
    bar = {
        "beats_nothing_moves": figures["latent_l2"] < figures["latent_l2_still"],
        "uses_actions": figures["true_over_shuffled"] <= SHUFFLED_RATIO_BAR,
    }
    if figures["ee_error"] is not None:
        bar["effector_within_3px"] = figures["ee_error"] <= EFFECTOR_BAR_PX
    return bar


def by_seed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per seed: the means of the clip figures over that seed's clips and the two Latent L2 ratios,
    so a mean over seeds that one seed alone would fail shows itself."""
    out = []
    for s in sorted({r["seed"] for r in rows}):
        mine = [r for r in rows if r["seed"] == s]
        summary: dict[str, Any] = {"seed": s}
        for key in ("latent_l2", "latent_l2_shuffled", "latent_l2_still", "ee_error", "ee_missing"):
            m = _mean(mine, key)
            if m is not None and not np.isnan(m):
                summary[key] = m
        out.append({**summary, **_ratios(summary)})
    return out


def quality_check(
    checkpoint: str | Path,
    dataset: str | Path,
    *,
    vae: str | Path | None = None,
    split: str = "test",
    clips: int = 64,
    clip_frames: int = 16,
    sampler: str | None = None,
    steps: int | None = None,
    batch_size: int = 16,
    seed: int = 0,
    seeds: int = 1,
    device: str = "cpu",
    progress: bool = True,
    gripper_reader: str | Path | None = "auto",
    frames_out: str | Path | None = None,
) -> dict[str, Any]:
    """The figures listed in the module doc, as a dict (also per clip and seed under ``"clips"``).

    ``seeds`` > 1 generates every clip with seeds ``seed, seed + 1, ...`` (shuffled actions with the
    same seeds) and averages over all of them, so a bar that only one seed meets is not met. Seed
    ``s`` of a clip samples with :func:`~freeaction.eval.clips.derive_seed` of ``s`` and the clip's
    key, as ``freeaction evaluate`` does. ``sampler`` and ``steps`` default to what the model
    folder's ``shipped.json`` recommends (the shipped models), else to DDIM 20; a sampler given
    without steps gets its usual step count. ``gripper_reader``: a reader's ``.safetensors``,
    ``"auto"`` (for the arm simulator's datasets, their cached one, trained when missing) or None
    (no gripper figure). ``frames_out``: also write every generated clip's first and last frame
    with the true ones to this ``.npz`` (:class:`~freeaction.eval.first_last_frames.FirstLastFrames`; needs a VAE).

    Each clip row under ``"clips"`` also holds that clip's object figures with true actions
    (``block_error_px``, ``blocks_kept``, ``robot_iou``, ``robot_iou_moving``, ``gripper_agreement``...,
    as :func:`~freeaction.eval.measure.object_metrics` names them), where its annotation allows them.
    """
    if seeds < 1:
        raise InputError(f"seeds must be >= 1, got {seeds}")
    sampler, steps = resolve_sampler(checkpoint, sampler, steps, QUICK_SAMPLER)
    wm = WorldModel.load(checkpoint, vae, device=device)
    ds = open_test_split(wm, str(dataset), split, clip_frames, source=str(dataset))
    if len(ds) < 2:
        raise InputError(f"{dataset}: split {split!r} has {len(ds)} clips of {clip_frames} frames; need at least 2")
    keys = clip_keys(ds, "short")
    start = time.perf_counter()
    loaded = [load_clip(ds, ClipRef("short", k, keys[k]), wm)
              for k in tqdm(evenly_spaced(len(ds), clips).tolist(), desc="load clips", disable=not progress)]
    reader = load_gripper_reader(gripper_reader if wm.vae is not None else None, dataset,
                                 frame_size=wm.frame_size, device=wm.device, progress=progress)
    jobs = [(clip, seed + k) for k in range(seeds) for clip in loaded]
    contexts = torch.stack([clip.latents[0] for clip, _ in jobs])
    actions = torch.stack([clip.actions.float() for clip in loaded])
    shuffled = torch.roll(actions, 1, dims=0).repeat(seeds, 1, 1)  # another clip's actions, same seed
    sampler_seeds = [derive_seed(s, clip.ref.key) for clip, s in jobs]

    def run(acts: torch.Tensor, label: str) -> list[torch.Tensor]:
        return generate_in_batches(wm, contexts, acts, sampler_seeds, batch_size=batch_size, sampler=sampler,
                                   steps=steps, progress=progress, desc=label)

    gen_true, gen_shuf = run(actions.repeat(seeds, 1, 1), "true actions"), run(shuffled, "shuffled actions")
    rows = []
    objects = ObjectFigures(reader)
    kept_frames = FirstLastFrames()
    for (clip, clip_seed), g, s in zip(jobs, gen_true, gen_shuf, strict=True):
        lat = clip.latents
        row = {
            "clip": clip.ref.key,
            "seed": clip_seed,
            "latent_l2": latent_l2(g, lat),
            "latent_l2_shuffled": latent_l2(s, lat),
            "latent_l2_still": latent_l2(lat[:1].expand_as(lat), lat),
        }
        frames = wm.decode(g[None].to(wm.device))[0] if wm.vae is not None and clip.frames is not None else None
        if clip.track is not None and frames is not None:
            row.update(effector_by_frame(clip.track, frames, clip.frames, clip.start))
        if frames is not None and objects.measures(clip):
            row.update(objects.add(clip, clip_seed, frames, wm.decode(s[None].to(wm.device))[0],
                                   still=clip_seed == seed))
        if frames is not None:
            kept_frames.add(clip, clip_seed, frames)
        rows.append(row)

    result: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "dataset": str(dataset),
        "split": split,
        "clips_evaluated": len(loaded),
        "clip_frames": clip_frames,
        "model_window": wm.config.num_frames,
        "sampler": sampler,
        "steps": steps,
        "seed": seed,
        "seeds": seeds,
        **{k: _mean(rows, k) for k in ("latent_l2", "latent_l2_shuffled", "latent_l2_still", "ee_error", "ee_missing",
                                "ee_error_truth", "ee_error_vs_real_frames")},
        "seconds": round(time.perf_counter() - start, 1),
    }
    result.update(_by_frame(rows))
    result.update(_ratios(result))
    result["bar"] = the_bar(result)
    result["passes"] = all(result["bar"].values())
    result["by_seed"] = by_seed(rows)
    result.update(objects.figures())
    result["clips"] = rows
    if frames_out is not None:
        kept_frames.save(frames_out)
    return result


class ObjectFigures:
    """The object-level figures of true actions, shuffled actions and nothing moves, gathered clip by clip:
    pusher blocks (``objects``, pooled over clips) and the arm (``arm``: means over clips), each also
    per seed (``by_seed``: true and shuffled actions; nothing moves does not sample, so has no seed)."""

    ROWS = ("true_actions", "shuffled_actions", "nothing_moves")
    SAMPLED = ("true_actions", "shuffled_actions")
    ARM = ("robot_iou", "robot_iou_final", "robot_iou_moving", "robot_iou_moving_final", "gripper_agreement")

    def __init__(self, reader: GripperReader | None) -> None:
        self.reader = reader
        self.blocks: dict[str, list[BlockFrames]] = {name: [] for name in self.ROWS}
        self.blocks_by_seed: dict[int, dict[str, list[BlockFrames]]] = {}
        self.arm: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ROWS}
        self.arm_by_seed: dict[int, dict[str, list[dict[str, Any]]]] = {}

    def measures(self, clip: TestClip) -> bool:
        """Whether the clip's annotation gives it any object figure."""
        return (clip.blocks is not None or clip.paint is not None
                or (self.reader is not None and clip.gripper_closed is not None))

    def add(self, clip: TestClip, seed: int, frames: np.ndarray, shuffled: np.ndarray, still: bool) -> dict[str, Any]:
        """One generated clip with true and shuffled actions; ``still``: also measure nothing moves
        (no sampling: once per clip). Returns the clip's figures with true actions, named as
        :func:`~freeaction.eval.measure.object_metrics` names them."""
        videos = {"true_actions": frames, "shuffled_actions": shuffled}
        if still:
            videos["nothing_moves"] = nothing_moves(clip.frames)
        mine: dict[str, Any] = {}
        if clip.blocks is not None:
            per_seed = self.blocks_by_seed.setdefault(seed, {name: [] for name in self.SAMPLED})
            for name, video in videos.items():
                measured = clip.blocks.measure(clip.frames, video, clip.start)
                self.blocks[name] += measured
                if name in per_seed:
                    per_seed[name] += measured
                if name == "true_actions":
                    mine.update(clip_figures(measured))
        if clip.paint is not None or (self.reader is not None and clip.gripper_closed is not None):
            per_seed_arm = self.arm_by_seed.setdefault(seed, {name: [] for name in self.SAMPLED})
            for name, video in videos.items():
                figures = object_metrics(video, clip, self.reader)
                self.arm[name].append(figures)
                if name in per_seed_arm:
                    per_seed_arm[name].append(figures)
                if name == "true_actions":
                    mine.update(figures)
        return mine

    def _arm_means(self, rows: list[dict[str, Any]]) -> dict[str, float]:
        return {k: m for k in self.ARM if (m := _mean(rows, k)) is not None}

    def figures(self) -> dict[str, Any]:
        """``objects`` (blocks), ``arm`` and ``gripper_reader`` (the reader's facts), where measured."""
        out: dict[str, Any] = {}
        if self.blocks["true_actions"]:
            out["objects"] = {name: summarize_blocks(blocks) for name, blocks in self.blocks.items()}
            out["objects"]["by_seed"] = [
                {"seed": s, **summarize_blocks(b["true_actions"]),
                 "shuffled_actions": summarize_blocks(b["shuffled_actions"])}
                for s, b in sorted(self.blocks_by_seed.items())]
        if self.arm["true_actions"]:
            out["arm"] = {name: self._arm_means(rows) for name, rows in self.arm.items()}
            out["arm"]["by_seed"] = [{"seed": s, **{name: self._arm_means(rows[name]) for name in self.SAMPLED}}
                                     for s, rows in sorted(self.arm_by_seed.items())]
        if self.reader is not None:
            out["gripper_reader"] = self.reader.info
        return out


def format_quality(r: dict[str, Any]) -> str:
    lines = [
        f"{r['clips_evaluated']} clips of 1 + {r['clip_frames'] - 1} actions ({r['split']} split), "
        f"{r['sampler']} {r['steps']} steps, {r['seeds']} seed(s) each, model window {r['model_window']}",
        f"  Latent L2, true actions      {r['latent_l2']:.4f}",
        f"  Latent L2, shuffled actions  {r['latent_l2_shuffled']:.4f}   "
        f"true/shuffled = {r['true_over_shuffled']:.3f} (bar <= {SHUFFLED_RATIO_BAR})",
        f"  Latent L2, nothing moves     {r['latent_l2_still']:.4f}   "
        f"true/still = {r['true_over_still']:.3f} (bar < 1)",
    ]
    if r.get("ee_error") is not None:
        lines.append(
            f"  effector error {r['ee_error']:.2f} px (bar <= {EFFECTOR_BAR_PX}); "
            f"missing in {100 * r['ee_missing']:.1f}% of frames; on the real frames {r['ee_error_truth']:.2f} px"
        )
        if r.get("ee_error_by_frame"):
            lines.append("  effector error by frame 1..n (px): " + " ".join(f"{e:.1f}" for e in r["ee_error_by_frame"]))
            lines.append("  effector missing by frame (%):     "
                         + " ".join(f"{100 * m:.0f}" for m in r["ee_missing_by_frame"]))
    if r.get("objects"):
        lines += objects_text(r["objects"])
    if r.get("arm"):
        lines += arm_text(r["arm"], r.get("gripper_reader"))
    if len(r["by_seed"]) > 1:
        lines.append("  " + by_seed_text(r["by_seed"]))
    lines.append("  " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in r["bar"].items()))
    return "\n".join(lines)


def objects_text(objects: dict[str, Any]) -> list[str]:
    """Lines of the object-level figures (docs/evaluation.md §7): moved blocks' final position error
    over the found ones, found count, and the share of blocks kept, for true actions and both references."""

    def fmt(v: float | None, spec: str) -> str:
        return "-" if v is None or v != v else format(v, spec)

    lines = ["  blocks (moved > 2 px): final error px (found/moved), kept at the last frame (all blocks)"]
    for name in ("true_actions", "shuffled_actions", "nothing_moves"):
        o = objects[name]
        lines.append(f"    {name.replace('_', ' '):17s} {fmt(o['moved_error_final_px'], '.2f')} px "
                     f"({o['moved_found_final']}/{o['moved_blocks']}), kept {fmt(o['blocks_kept_final'], '.1%')}")
    if len(objects.get("by_seed", [])) > 1:
        lines.append("    by seed: " + "; ".join(
            f"seed {s['seed']}: {fmt(s['moved_error_final_px'], '.2f')} px, kept {fmt(s['blocks_kept_final'], '.1%')}"
            for s in objects["by_seed"]))
    return lines


def arm_text(arm: dict[str, Any], reader: dict[str, Any] | None) -> list[str]:
    """Lines of the arm's object-level figures (docs/evaluation.md §7) for true actions and both
    references, and the gripper reader's own accuracy on true test frames (the ceiling)."""

    def fmt(v: float | None) -> str:
        return "-" if v is None or v != v else f"{v:.3f}"

    lines = ["  arm: robot IoU and moving-robot IoU (mean over frames, last frame), gripper agreement"]
    for name in ("true_actions", "shuffled_actions", "nothing_moves"):
        a = arm[name]
        lines.append(f"    {name.replace('_', ' '):17s} IoU {fmt(a.get('robot_iou'))} "
                     f"(last {fmt(a.get('robot_iou_final'))}), moving {fmt(a.get('robot_iou_moving'))} "
                     f"(last {fmt(a.get('robot_iou_moving_final'))}), gripper {fmt(a.get('gripper_agreement'))}")
    if all(arm[name].get("robot_iou") is None for name in ("true_actions", "nothing_moves")):
        lines.append(f"    robot IoU {NOT_PAINTED}")
    if reader and reader.get("test_accuracy") is not None:
        lines.append(f"    gripper reader on true test frames: {reader['test_accuracy']:.3f} "
                     f"(the commoner state alone: {reader['test_majority']:.3f})")
    return lines


def by_seed_text(seeds: list[dict[str, Any]]) -> str:
    """One line: each seed's Latent L2 ratios (and effector error)."""
    parts = []
    for s in seeds:
        ee = f", effector {s['ee_error']:.2f} px" if "ee_error" in s else ""
        parts.append(f"seed {s['seed']}: true/still {s['true_over_still']:.3f}, "
                     f"true/shuffled {s['true_over_shuffled']:.3f}{ee}")
    return "per seed: " + "; ".join(parts)
