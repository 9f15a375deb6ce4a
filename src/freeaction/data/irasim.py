"""Reader for IRASim's preprocessed layout (RT-1, Bridge, Language-Table and the simulators).

The layout and the two annotation flavours are described in :mod:`freeaction.data.irasim_layout`;
``ROOT/freeaction_stats.json`` holds the statistics written by ``freeaction data stats``.

- 7-D (RT-1/Bridge): actions come from consecutive states (:mod:`freeaction.data.poses`) and are
  scaled by [20]*6 + [1]. Windows use the T frames.
- 2-D (Language-Table): actions scaled by 20. As in IRASim's loader, windows count the frames as
  ``len(actions)`` (the last action and frame are never part of a window;
  ``irasim_window_count=False`` uses all ``len(actions) + 1``). ``episode(i)`` always returns
  every action and ``len(actions) + 1`` frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.actions import action_scaler
from freeaction.data.base import DEFAULT_NUM_FRAMES, ClipDataset, Skipped
from freeaction.data.irasim_layout import (
    ANNOTATION_DIR,
    FLAVOUR_7D,
    FLAVOUR_KEYS,
    annotation_files,
    flavour_of,
    media_path,
)
from freeaction.data.latents import ENCODE_HINT, load_latent_file
from freeaction.data.paths import resolve_inside
from freeaction.data.poses import actions_from_states
from freeaction.data.video import read_frames
from freeaction.errors import DataError


@dataclass
class _Episode:
    ann: Path
    episode_id: str
    actions: np.ndarray  # model space, (n, D)
    raw_actions: np.ndarray  # as stored / derived, before the scaler, float64
    window_frames: int
    video: Path
    latent: Path | None  # None: not encoded (file absent)


def _flavour(ann: dict[str, Any], path: Path) -> str:
    flavour = flavour_of(ann)
    if flavour is None:
        raise DataError(f"{path}: not an IRASim annotation: needs {FLAVOUR_KEYS}; found keys {sorted(ann)}")
    return flavour


def _array(ann: dict[str, Any], key: str, path: Path, ndim: int) -> np.ndarray:
    if key not in ann:
        raise DataError(f"{path}: missing field {key!r}")
    try:
        a = np.asarray(ann[key], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: field {key!r} is not a numeric array ({exc})") from exc
    if a.ndim != ndim or not np.isfinite(a).all():
        raise DataError(f"{path}: field {key!r} must be a finite {ndim}-D array, got shape {a.shape}")
    return a


def read_annotation(root: Path, path: Path, camera: int = 0, irasim_window_count: bool = True) -> _Episode:
    """Parse and check one annotation file (no media is opened, only existence checked)."""
    resolve_inside(root, path.relative_to(root), source=path, field="<annotation file>")
    try:
        with open(path, encoding="utf-8") as f:
            ann = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: malformed JSON ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(ann, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(ann).__name__}")
    if _flavour(ann, path) == FLAVOUR_7D:
        state = _array(ann, "state", path, 2)
        grip = _array(ann, "continuous_gripper_state", path, 1)
        if state.shape[1] < 6 or len(grip) != len(state) or len(state) < 2:
            raise DataError(
                f"{path}: 'state' must be T x >=6 and 'continuous_gripper_state' T long with T >= 2; "
                f"got {state.shape} and {grip.shape}"
            )
        raw = actions_from_states(state[:, :6], grip)
        window_frames = len(state)
    else:
        raw = _array(ann, "actions", path, 2)
        if len(raw) < 1:
            raise DataError(f"{path}: field 'actions' is empty")
        window_frames = len(raw) if irasim_window_count else len(raw) + 1
    video_rel, video_field = media_path(ann, "video", camera, path)
    latent_rel, latent_field = media_path(ann, "latent", camera, path)
    if "episode_id" not in ann:
        raise DataError(f"{path}: missing field 'episode_id'")
    video = resolve_inside(root, video_rel, source=path, field=video_field)
    if not video.is_file():
        raise DataError(f"{path}: field {video_field!r} names {video}, which does not exist")
    latent = None
    if latent_rel is not None:
        latent = resolve_inside(root, latent_rel, source=path, field=latent_field)
        latent = latent if latent.is_file() else None
    actions = (raw * action_scaler(raw.shape[1])).astype(np.float32)
    return _Episode(path, str(ann["episode_id"]), actions, raw, window_frames, video, latent)


class IRASimDataset(ClipDataset):
    """Clips and episodes of one split of an IRASim-layout dataset.

    Args:
        root: dataset root (holds ``annotation/``).
        split: ``train``, ``val`` or ``test``.
        num_frames: frames per window (16: 1 context + 15 generated).
        stride: window start interval; default 1 for ``train``, 16 otherwise.
        frames: decode the RGB frames into ``clip.frames``.
        latents: ``True`` requires pre-encoded latents, ``False`` never loads them, ``None``
            (default) loads them when every episode of the split has its latent file.
        size: resize frames to (H, W) with antialiasing (e.g. IRASim's (288, 512)).
        camera: camera index for RT-1/Bridge annotations (``videos[camera]``).
        skip_bad: leave out bad episodes and record them in ``skipped`` instead of raising.
        irasim_window_count: Language-Table windows count ``len(actions)`` frames, as IRASim does.
    """

    format = "irasim"

    def __init__(
        self,
        root: Path | str,
        split: str = "train",
        *,
        num_frames: int = DEFAULT_NUM_FRAMES,
        stride: int | None = None,
        frames: bool = True,
        latents: bool | None = None,
        size: tuple[int, int] | None = None,
        camera: int = 0,
        skip_bad: bool = False,
        irasim_window_count: bool = True,
    ) -> None:
        super().__init__(root, split, num_frames=num_frames, stride=stride, frames=frames, size=size, skip_bad=skip_bad)
        self.root = Path(root).resolve()
        self.camera = camera
        ann_dir = self.root / ANNOTATION_DIR / split
        if not ann_dir.is_dir():
            have = sorted(p.name for p in (self.root / ANNOTATION_DIR).glob("*") if p.is_dir())
            raise DataError(f"{ann_dir}: no such split directory (found splits: {have or 'none'})")
        self._eps: list[_Episode] = []
        for path in annotation_files(self.root, split):
            try:
                self._eps.append(read_annotation(self.root, path, camera, irasim_window_count))
            except DataError as exc:
                self._skip_or_raise(path, exc)
        dims = {e.actions.shape[1] for e in self._eps}
        if len(dims) > 1:
            raise DataError(f"{ann_dir}: episodes mix action dimensions {sorted(dims)}")
        self.flavour = {2: "2d", 7: "7d"}.get(next(iter(dims), 0), "?")
        missing = [e for e in self._eps if e.latent is None]
        self.latents_present = len(self._eps) - len(missing)
        if latents is True and missing and skip_bad:
            for e in missing:
                self.skipped.append(Skipped(str(e.ann), f"no latent file; {ENCODE_HINT}"))
            self._eps = [e for e in self._eps if e.latent is not None]
        elif latents is True and missing:
            bad = missing[0]
            raise DataError(
                f"{bad.ann}: latents requested but {len(missing)} of {len(self._eps)} episodes in split "
                f"{split!r} have no latent file (first: episode {bad.episode_id}); {ENCODE_HINT}"
            )
        self.load_latents = bool(latents) if latents is not None else (bool(self._eps) and not missing)
        self._build_windows()
        from freeaction.data.stats import load_stats

        self.stats = load_stats(self.root)

    @property
    def num_episodes(self) -> int:
        return len(self._eps)

    def episode_id(self, i: int) -> str:
        return self._eps[i].episode_id

    def episode_actions(self, i: int) -> np.ndarray:
        return self._eps[i].actions

    def window_frames(self, i: int) -> int:
        return self._eps[i].window_frames

    def episode_raw_actions(self, i: int) -> np.ndarray:
        return self._eps[i].raw_actions

    def annotation_path(self, i: int) -> Path:
        return self._eps[i].ann

    def episode_source(self, i: int) -> str:
        return str(self._eps[i].ann)

    def _episode_meta(self, i: int) -> dict[str, Any]:
        e = self._eps[i]
        return {"annotation": str(e.ann), "video": str(e.video), "camera": self.camera}

    def _frames(self, i: int, indices: range) -> np.ndarray:
        return read_frames(self._eps[i].video, indices, self.size)

    def _latents(self, i: int, indices: range) -> torch.Tensor | None:
        if not self.load_latents:
            return None
        path = self._eps[i].latent
        if path is None:
            e = self._eps[i]
            raise DataError(f"{e.ann}: episode {e.episode_id} has no latent file; {ENCODE_HINT}")
        lat = load_latent_file(path)
        if indices.stop > len(lat):
            raise DataError(f"{path}: holds {len(lat)} latent frames, frame {indices.stop - 1} needed")
        return lat[indices.start : indices.stop].clone()

    def frame_size(self) -> tuple[int, int] | None:
        """(H, W) of the frames a clip would hold (probes the first video)."""
        if self.size is not None:
            return self.size
        if not self._eps:
            return None
        import av

        try:
            with av.open(str(self._eps[0].video)) as c:
                s = c.streams.video[0]
                return (s.height, s.width)
        except (av.error.FFmpegError, IndexError) as exc:
            raise DataError(f"{self._eps[0].video}: cannot open video ({exc})") from exc

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            flavour=self.flavour,
            frame_size=self.frame_size(),
            latents_present=self.latents_present,
            latents_loaded=self.load_latents,
            stats=bool(self.stats),
        )
        return d
