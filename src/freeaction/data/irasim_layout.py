"""IRASim's preprocessed dataset layout on disk: the one place that knows it.

    ROOT/annotation/{split}/{episode_id}.json        one JSON per episode (IRASim's own datasets
                                                     may nest them deeper below the split)
    ROOT/videos/{split}/{episode_id}/rgb.mp4         RGB video of camera 0 (``rgb_{k}.mp4``: camera k)
    ROOT/latent_videos/{split}/{episode_id}/{k}.pt   scaled VAE latents of camera k (``freeaction encode``)
    ROOT/latent_videos/freeaction_encode.json        which VAE made the latents

Those are the paths freeaction writes; readers follow the paths each annotation names
(relative to the root), as IRASim does. The annotation *flavour* follows its keys:

- 7-D, RT-1/Bridge style: ``state`` (T x >=6: xyz, roll, pitch, yaw), ``continuous_gripper_state``
  (T), ``videos: [{"video_path"}]`` and ``latent_videos: [{"latent_video_path"}]`` (one entry
  per camera), ``episode_id``.
- 2-D, Language-Table style: ``actions`` (T-1 x D), ``video_path``, ``latent_video_path``,
  ``episode_id``. Latent files hold ``{"obs": tensor}``, as IRASim's own Language-Table latents
  do (7-D ones hold the bare tensor).

:func:`write_episode` writes one episode atomically: each file goes to a temporary name and is
moved into place (:mod:`freeaction.files`), the videos and latents first and the annotation JSON
**last**. So an episode exists if and only if its JSON exists: a crash at any moment leaves at
most media without JSON (ignored by readers, overwritten on a rerun) and temporary files
(removed by :func:`clean_temp_files`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction import files
from freeaction.errors import DataError, InputError
from freeaction.files import atomic_open, atomic_path, write_text_atomic
from freeaction.media import VideoWriter

SPLITS = ("train", "val", "test")
ANNOTATION_DIR = "annotation"
VIDEO_DIR = "videos"
LATENT_DIR = "latent_videos"
ENCODE_MARKER = f"{LATENT_DIR}/freeaction_encode.json"

FLAVOUR_7D = "7d"
FLAVOUR_2D = "2d"
FLAVOUR_KEYS = ("'state' + 'continuous_gripper_state' (7-D, RT-1/Bridge style) or 'actions' (2-D, Language-Table "
                "style)")

DEFAULT_CRF = 0
"""x264 constant rate factor of episode videos (0 = lossless in YUV; 23 = x264's default).
Measured on pusher episodes at 64x64 with yuv444p: CRF 0 gives a round-trip error (decoded RGB
vs rendered RGB, 0..255) of mean 0.63 / max 2 (only the RGB<->YUV rounding) at ~11 KB per
50-frame episode; CRF 10 gives mean 0.79 / max 43 at ~9 KB. The files are small either way, so
lossless."""

DEFAULT_PIX_FMT = "yuv444p"
"""Full-resolution chroma. At 64x64, 4:2:0 subsampling smears every coloured edge over 2 px
(pusher frames: mean error 2.5, RMSE 6.1, max >100 at any CRF). The files are H.264 High 4:4:4
Predictive, which FFmpeg-based readers (PyAV, decord, torchvision) decode; pass
``pix_fmt="yuv420p"`` for browser-playable files."""


# -- paths ----------------------------------------------------------------------------------------
def annotation_relpath(split: str, episode_id: str) -> str:
    """``annotation/{split}/{episode_id}.json`` (relative to the dataset root)."""
    return f"{ANNOTATION_DIR}/{split}/{episode_id}.json"


def video_relpath(split: str, episode_id: str, camera: int = 0) -> str:
    """``videos/{split}/{episode_id}/rgb.mp4`` (camera 0) or ``.../rgb_{camera}.mp4``."""
    name = "rgb" if camera == 0 else f"rgb_{camera}"
    return f"{VIDEO_DIR}/{split}/{episode_id}/{name}.mp4"


def latent_relpath(split: str, episode_id: str, camera: int = 0) -> str:
    """``latent_videos/{split}/{episode_id}/{camera}.pt`` (relative to the dataset root)."""
    return f"{LATENT_DIR}/{split}/{episode_id}/{camera}.pt"


def is_irasim_root(root: Path | str) -> bool:
    """True when ``root`` holds an ``annotation/`` folder."""
    return (Path(root) / ANNOTATION_DIR).is_dir()


def available_splits(root: Path | str) -> list[str]:
    """Splits with an annotation folder, in train/val/test order first."""
    ann = Path(root) / ANNOTATION_DIR
    have = [p.name for p in ann.iterdir() if p.is_dir()] if ann.is_dir() else []
    return [s for s in SPLITS if s in have] + sorted(s for s in have if s not in SPLITS)


def annotation_files(root: Path | str, split: str) -> list[Path]:
    """The annotation JSON files of ``split`` (at any depth below it), sorted; [] without the split."""
    folder = Path(root) / ANNOTATION_DIR / split
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def count_episodes(root: Path | str, splits: Sequence[str] = SPLITS) -> dict[str, int]:
    """Episodes (annotation files) per split of ``splits``."""
    return {s: len(annotation_files(root, s)) for s in splits}


def episode_exists(root: Path | str, split: str, episode_id: str) -> bool:
    """True when the episode is complete, i.e. its annotation JSON exists."""
    return (Path(root) / annotation_relpath(split, episode_id)).is_file()


def latents_complete(root: Path | str) -> bool:
    """True when every episode freeaction wrote under ``root`` has its camera-0 latent file."""
    root = Path(root)
    return all((root / latent_relpath(split, f.stem)).is_file()
               for split in available_splits(root) for f in annotation_files(root, split))


def clean_temp_files(root: Path | str) -> int:
    """Delete the temporary files interrupted writers left in a dataset; return how many."""
    root = Path(root)
    return sum(files.clean_temp_files(root / sub, recursive=True) for sub in (ANNOTATION_DIR, VIDEO_DIR, LATENT_DIR))


# -- flavours and the paths an annotation names --------------------------------------------------
def flavour_of(ann: Mapping[str, Any]) -> str | None:
    """``"7d"`` (RT-1/Bridge style: has ``state``), ``"2d"`` (Language-Table style: has ``actions``) or None."""
    if "state" in ann:
        return FLAVOUR_7D
    if "actions" in ann:
        return FLAVOUR_2D
    return None


def media_path(ann: Mapping[str, Any], kind: str, camera: int, source: Path | str) -> tuple[str | None, str]:
    """(relative path, field name) of the ``kind`` (``"video"`` or ``"latent"``) file of ``camera``
    that annotation ``ann`` (read from ``source``) names.

    The path is None when the annotation names no latent file; a missing video path, or a
    malformed camera list, is a :class:`DataError` naming ``source`` and the field.
    """
    flavour = flavour_of(ann)
    list_key, path_key = ("videos", "video_path") if kind == "video" else ("latent_videos", "latent_video_path")
    if flavour == FLAVOUR_7D:
        field = f"{list_key}[{camera}].{path_key}"
        if kind == "latent" and list_key not in ann:
            return None, field
        entries = ann.get(list_key)
        if not isinstance(entries, list) or not entries:
            raise DataError(f"{source}: field {list_key!r} must be a non-empty list of {{{path_key!r}: ...}}")
        if not 0 <= camera < len(entries):
            raise DataError(
                f"{source}: camera {camera} requested but {list_key!r} lists {len(entries)} camera(s)"
            )
        entry = entries[camera]
        if not isinstance(entry, dict) or path_key not in entry:
            raise DataError(f"{source}: field {list_key}[{camera}] has no {path_key!r}")
        return entry[path_key], field
    if flavour == FLAVOUR_2D:
        rel = ann.get(path_key)
        if rel is None and kind == "video":
            raise DataError(f"{source}: missing field {path_key!r}")
        return rel, path_key
    raise DataError(f"{source}: not an IRASim annotation: needs {FLAVOUR_KEYS}; found keys {sorted(ann)}")


def with_paths(annotation: Mapping[str, Any], split: str, episode_id: str, frames: Sequence[np.ndarray],
               fps: int) -> dict[str, Any]:
    """The annotation checked against the frames of each camera, with the path fields and
    ``episode_id``, ``fps``, ``num_frames``, ``height``, ``width`` filled in."""
    t = frames[0].shape[0]
    out: dict[str, Any] = dict(annotation)
    cameras = range(len(frames))
    flavour = flavour_of(out)
    if flavour == FLAVOUR_7D:
        state = np.asarray(out["state"], dtype=np.float64)
        grip = np.asarray(out.get("continuous_gripper_state", []), dtype=np.float64).reshape(-1)
        if state.shape != (t, 6):
            raise InputError(f"annotation 'state' must have shape ({t}, 6) for {t} frames, got {state.shape}")
        if grip.shape != (t,):
            raise InputError(
                f"annotation 'continuous_gripper_state' must have {t} values for {t} frames, got {grip.shape}"
            )
        out["videos"] = [{"video_path": video_relpath(split, episode_id, c)} for c in cameras]
        out["latent_videos"] = [{"latent_video_path": latent_relpath(split, episode_id, c)} for c in cameras]
    elif flavour == FLAVOUR_2D:
        actions = np.asarray(out["actions"], dtype=np.float64)
        if actions.ndim != 2 or actions.shape[0] != t - 1:
            raise InputError(
                f"annotation 'actions' must have shape ({t - 1}, D) for {t} frames, got {actions.shape}"
            )
        if len(frames) != 1:
            raise InputError(f"a 2-D (Language-Table style) episode has one camera, got {len(frames)}")
        out["video_path"] = video_relpath(split, episode_id)
        out["latent_video_path"] = latent_relpath(split, episode_id)
    else:
        raise InputError(f"annotation needs {FLAVOUR_KEYS}")
    out["episode_id"] = episode_id
    out["fps"] = int(fps)
    out["num_frames"] = int(t)
    out["height"], out["width"] = int(frames[0].shape[1]), int(frames[0].shape[2])
    return out


# -- writing --------------------------------------------------------------------------------------
def encode_mp4(
    path: Path | str,
    frames: np.ndarray,
    fps: int,
    crf: int = DEFAULT_CRF,
    pix_fmt: str = DEFAULT_PIX_FMT,
) -> None:
    """Encode RGB uint8 frames (T, H, W, 3) as H.264 in an MP4 container at ``path``.

    ``yuv420p`` needs even H and W; odd sizes fall back to ``yuv444p``. The container format is
    given explicitly, so ``path`` may have any suffix (e.g. a temporary name).
    """
    t, h, w = frames.shape[:3]
    if pix_fmt == "yuv420p" and (h % 2 or w % 2):
        pix_fmt = "yuv444p"
    # Tiny videos: one thread avoids x264 thread start-up cost and keeps the output
    # byte-identical across machines.
    with VideoWriter(path, fps=fps, crf=crf, pix_fmt=pix_fmt, options={"preset": "medium", "threads": "1"}) as w:
        w.write(frames)


def save_latents(path: Path | str, latents: torch.Tensor, flavour: str) -> None:
    """``torch.save`` a (T, C, h, w) latent tensor atomically, as ``{"obs": tensor}`` for 2-D episodes."""
    obj: Any = {"obs": latents} if flavour == FLAVOUR_2D else latents
    with atomic_open(path) as f:
        torch.save(obj, f)


def write_episode(
    root: Path | str,
    split: str,
    episode_id: str,
    frames: np.ndarray | Sequence[np.ndarray],
    annotation: Mapping[str, Any],
    fps: int,
    crf: int = DEFAULT_CRF,
    pix_fmt: str = DEFAULT_PIX_FMT,
    *,
    latents: torch.Tensor | Sequence[torch.Tensor] | None = None,
) -> Path:
    """Write one episode: its videos, its latents (if given), then its annotation JSON last.

    ``frames`` is RGB uint8 (T, H, W, 3), or a list with one such array per camera (7-D only).
    ``annotation`` is the episode's JSON content without the path fields, which are filled in
    here (flavour chosen by its keys, see the module doc); every other key is kept as given.
    ``latents`` are (T, C, h, w) scaled latents, one tensor per camera. Rewriting an existing
    episode replaces it. Returns the annotation path.
    """
    cams = list(frames) if isinstance(frames, (list, tuple)) else [frames]
    for f in cams:
        _check_frames(f)
    if len({f.shape[0] for f in cams}) > 1:
        raise InputError(f"every camera needs the same number of frames, got {[f.shape[0] for f in cams]}")
    if not split or "/" in split or not episode_id or "/" in episode_id:
        raise InputError(f"split and episode_id must be non-empty names without '/', got {split!r}, {episode_id!r}")
    lats = None if latents is None else (list(latents) if isinstance(latents, (list, tuple)) else [latents])
    if lats is not None and len(lats) != len(cams):
        raise InputError(f"{len(lats)} latent tensors for {len(cams)} cameras")
    root = Path(root)
    content = with_paths(annotation, split, episode_id, cams, fps)
    text = json.dumps(content, default=_json_default)  # compact: the C encoder, ~10x faster

    for c, f in enumerate(cams):
        with atomic_path(root / video_relpath(split, episode_id, c)) as tmp:
            encode_mp4(tmp, f, fps, crf=crf, pix_fmt=pix_fmt)
    for c, lat in enumerate(lats or []):
        save_latents(root / latent_relpath(split, episode_id, c), lat.contiguous(), flavour_of(content))
    path = root / annotation_relpath(split, episode_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path


def _check_frames(frames: Any) -> None:
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        raise InputError(f"frames must be a uint8 numpy array, got {type(frames).__name__}"
                         f"{'' if not isinstance(frames, np.ndarray) else ' of ' + str(frames.dtype)}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise InputError(f"frames must have shape (T>=2, H, W, 3), got {frames.shape}")


def _json_default(obj: Any) -> Any:
    """JSON for numpy values inside annotations."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"annotation value of type {type(obj).__name__} is not JSON-serialisable")
