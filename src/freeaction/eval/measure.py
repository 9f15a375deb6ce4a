"""Measuring one generated clip against its truth, and the truth against itself (the floors).

The metric definitions live in :mod:`~freeaction.eval.metrics` (PSNR, SSIM, Latent L2),
:mod:`~freeaction.eval.effector` (effector error), :mod:`~freeaction.eval.inverse_dynamics`
(IDM error) and :mod:`~freeaction.eval.objects` (blocks, robot silhouette, gripper); this
module says which of them one clip gets:

- :func:`sample_metrics`: a generated clip (latents, and frames when there is a VAE) against the
  true clip: Latent L2, PSNR/SSIM (short) or colour PSNR per frame (long), IDM error, effector
  error, and the object metrics its annotation allows (:func:`object_metrics`);
- :func:`reference_metrics`: the same measuring tools on the real clip (what a perfect model
  would get), the VAE's own reconstruction PSNR/SSIM and object metrics (``vae_*``) and the
  gripper reader's agreement on the real frames;
- :func:`effector_by_frame`: the effector error frame by frame (``freeaction quality``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.data.open import list_splits
from freeaction.errors import InputError
from freeaction.eval.clips import TestClip
from freeaction.eval.effector import EffectorTrack
from freeaction.eval.frechet import FeatureExtractor
from freeaction.eval.inverse_dynamics import IDMNet, load_idm
from freeaction.eval.objects import (
    GripperReader,
    arm_sim_dataset,
    clip_figures,
    gripper_agreement,
    load_reader,
    reader_cached,
    reader_for_dataset,
)
from freeaction.eval.scoring import SCORINGS, Scoring

FREEACTION_SCORING = SCORINGS["freeaction"]  # the corrected protocol, docs/method.md §4


def load_tools(
    idm: str | None, fvd_weights: str | None, fid_weights: str | None, *, action_dim: int, has_vae: bool,
    device: str, source: str = "options",
) -> tuple[IDMNet | None, dict[str, FeatureExtractor]]:
    """The inverse-dynamics model (action adherence) and the FVD/FID feature networks asked for."""
    model = None
    if idm:
        model = load_idm(idm, device)
        if model.config.action_dim != action_dim:
            raise InputError(f"{source}: 'idm' {idm} predicts {model.config.action_dim}-D actions; "
                             f"the model takes {action_dim}-D")
    extractors = {}
    for kind, path in (("fvd", fvd_weights), ("fid", fid_weights)):
        if path:
            if not has_vae:
                raise InputError(f"{source}: {kind} needs decoded frames: set 'vae'")
            extractors[kind] = FeatureExtractor(path, kind, device)
    return model, extractors


def load_gripper_reader(
    setting: str | Path | None, dataset: str | Path, *, frame_size: tuple[int, int], device: str,
    progress: bool = False,
) -> GripperReader | None:
    """The gripper reader ``setting`` names: a reader's ``.safetensors``; ``"auto"``: for a dataset
    made by the arm simulator, its cached one (trained on its train split when missing; none, said
    on stderr, when it has neither, such as the demo's test-only episodes), else none; None: none."""
    if setting is None:
        return None
    if setting != "auto":
        return load_reader(setting, device)
    if not arm_sim_dataset(dataset):
        return None
    if not reader_cached(dataset, tuple(frame_size)) and "train" not in list_splits(dataset):
        print(f"no gripper agreement: {dataset} has no gripper reader cached and no train split to train one on "
              "(name a reader's .safetensors as gripper_reader)", file=sys.stderr, flush=True)
        return None
    return reader_for_dataset(dataset, tuple(frame_size), progress=progress).to(device)


def frame_metrics(frames: np.ndarray | None, clip: TestClip, idm: IDMNet | None) -> dict[str, Any]:
    """Metrics that read a video's frames: adherence (IDM error), effector error."""
    out: dict[str, Any] = {}
    if frames is None:
        return out
    if idm is not None:
        out["idm_error"] = idm.error(frames, clip.actions.numpy())
    if clip.track is not None:
        out.update(clip.track.error(frames, clip.start))
    return out


def object_metrics(frames: np.ndarray | None, clip: TestClip, gripper: GripperReader | None = None) -> dict[str, Any]:
    """The object-level metrics of generated ``frames`` against the clip's true frames, each only
    where the clip's annotation allows it (docs/evaluation.md §7): ``block_error_px`` and
    ``blocks_kept`` (pusher blocks that move), ``robot_iou`` and ``robot_iou_final`` (the painted
    arm of world 2), ``robot_iou_moving`` (the same arm's change since frame 0, mean over the frames
    where the true arm moves enough) and ``robot_iou_moving_final`` (the last frame, when it does),
    ``gripper_agreement`` (arm data, with a gripper reader)."""
    out: dict[str, Any] = {}
    if frames is None or clip.frames is None:
        return out
    if clip.blocks is not None:
        out.update(clip_figures(clip.blocks.measure(clip.frames, frames, clip.start)))
    if clip.paint is not None:
        iou = clip.paint.iou(clip.frames, frames)
        out.update(robot_iou=float(iou.mean()), robot_iou_final=float(iou[-1]))
        moving = clip.paint.moving_iou(clip.frames, frames)
        if np.isfinite(moving).any():
            out["robot_iou_moving"] = float(np.nanmean(moving))
        if np.isfinite(moving[-1]):
            out["robot_iou_moving_final"] = float(moving[-1])
    if gripper is not None and clip.gripper_closed is not None:
        out["gripper_agreement"] = gripper_agreement(gripper, frames, clip.gripper_closed)
    return out


def sample_metrics(
    latents: torch.Tensor, frames: np.ndarray | None, clip: TestClip, idm: IDMNet | None,
    scoring: Scoring = FREEACTION_SCORING, gripper: GripperReader | None = None,
) -> dict[str, Any]:
    """Every per-sample metric of one generated clip (``frames`` None: no VAE, latents only), the
    video metrics as ``scoring`` computes them."""
    score = scoring.short if clip.ref.protocol == "short" else scoring.long
    metrics: dict[str, Any] = score(latents, clip.latents, frames, clip.frames)
    metrics.update(frame_metrics(frames, clip, idm))
    metrics.update(object_metrics(frames, clip, gripper))
    return metrics


def reference_metrics(
    clip: TestClip, reconstruction: np.ndarray, idm: IDMNet | None, scoring: Scoring = FREEACTION_SCORING,
    gripper: GripperReader | None = None,
) -> dict[str, Any]:
    """Floors on the real clip: IDM / effector error of the real frames, the VAE's reconstruction
    PSNR/SSIM (short) or colour PSNR (long) of its decoded true latents, as ``scoring`` computes
    them, the object metrics of that reconstruction (``vae_block_error_px`` ...) and the gripper
    reader's agreement on the real frames (``gripper_agreement``, its own accuracy on this clip)."""
    row = frame_metrics(clip.frames, clip, idm)
    scores = scoring.frame_metrics(clip.ref.protocol, reconstruction, clip.frames)
    row.update({f"vae_{k}": v for k, v in scores.items() if not k.endswith("_per_frame")})
    row.update({f"vae_{k}": v for k, v in object_metrics(reconstruction, clip).items()})
    if gripper is not None and clip.gripper_closed is not None:
        row["gripper_agreement"] = gripper_agreement(gripper, clip.frames, clip.gripper_closed)
    return row


def effector_by_frame(track: EffectorTrack, frames: np.ndarray, truth: np.ndarray, start: int) -> dict[str, Any]:
    """The effector in generated ``frames`` vs the truth: ``ee_error``/``ee_missing`` over frames 1..n,
    the same by frame index, the locator's own error on the real frames (``ee_error_truth``) and the
    distance to where the locator finds it in the real frames (``ee_error_vs_real_frames``)."""
    found, real = track.locate_all(frames), track.locate_all(truth)
    row: dict[str, Any] = dict(track.error(frames, start, found))
    row["ee_error_by_frame"] = track.frame_errors(frames, start, found)
    row["ee_missing_by_frame"] = [int(pos is None) for pos in found]
    row["ee_error_truth"] = track.error(np.asarray(truth), start, real)["ee_error"]
    pairs = [np.hypot(*(a - b)) for a, b in zip(found, real, strict=True) if a is not None and b is not None]
    row["ee_error_vs_real_frames"] = float(np.mean(pairs)) if pairs else float("nan")
    return row
