"""What every dataset reader shares: 16-frame windows, episodes, and honest skipping.

A reader indexes its episodes once (metadata only, no video decoding) and exposes

- ``len(ds)`` / ``ds[k]`` -> :class:`Clip`: window ``k`` of ``num_frames`` frames
  (``num_frames - 1`` actions). Windows start every ``stride`` frames: every frame for the
  training split, every 16 frames otherwise (IRASim's ``val_start_frame_interval``, docs/method.md §4).
- ``ds.episode(i)`` / ``ds.episodes()`` -> a whole episode as one :class:`Clip` (long rollouts).
- ``ds.episode_actions(i)``: the model-space actions of episode ``i`` without touching any
  video, which is what the statistics need.

Bad input raises :class:`DataError` naming the file. With ``skip_bad=True`` a bad episode is
left out and recorded in ``ds.skipped`` (file + reason) instead, both while indexing and while
iterating with :meth:`episodes` / :meth:`iter_clips`; ``ds[k]`` on a bad episode still raises,
because silently returning a different clip would hide the problem. Two episodes of a split
with the same id are always an error naming both (results are keyed by episode id; which of
the two is wrong is not known, so ``skip_bad`` does not pick one).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.data.clip import Clip, clip_key
from freeaction.errors import DataError

DEFAULT_NUM_FRAMES = 16
EVAL_STRIDE = 16


@dataclass(frozen=True)
class Skipped:
    """One thing a reader left out with ``skip_bad=True``: the file at fault and why."""

    path: str
    reason: str


def window_starts(num_window_frames: int, num_frames: int, stride: int) -> range:
    """Start frames of the full windows of ``num_frames`` frames in an episode."""
    return range(0, max(num_window_frames - num_frames + 1, 0), stride)


def skip_summary(skipped: list[Skipped]) -> str:
    """A short human summary of what was skipped (empty string when nothing was)."""
    if not skipped:
        return ""
    lines = [f"skipped {len(skipped)} bad item(s):"]
    lines += [f"  {s.path}: {s.reason}" for s in skipped[:20]]
    if len(skipped) > 20:
        lines.append(f"  ... and {len(skipped) - 20} more")
    return "\n".join(lines)


class ClipDataset:
    """Base class of the readers; subclasses fill the index and the four loaders."""

    format: str = "?"

    def __init__(
        self,
        root: Path | str,
        split: str,
        *,
        num_frames: int = DEFAULT_NUM_FRAMES,
        stride: int | None = None,
        frames: bool = True,
        size: tuple[int, int] | None = None,
        skip_bad: bool = False,
    ) -> None:
        if num_frames < 2:
            raise ValueError(f"num_frames must be >= 2, got {num_frames}")
        self.root = Path(root)
        self.split = split
        self.num_frames = int(num_frames)
        self.stride = int(stride if stride is not None else (1 if split == "train" else EVAL_STRIDE))
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.load_frames = bool(frames)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.skip_bad = skip_bad
        self.skipped: list[Skipped] = []
        self.windows: list[tuple[int, int]] = []  # (episode index, start frame)

    # --- to be provided by a reader -------------------------------------------------------
    @property
    def num_episodes(self) -> int:
        raise NotImplementedError

    def episode_id(self, i: int) -> str:
        raise NotImplementedError

    def episode_actions(self, i: int) -> np.ndarray:
        """Model-space actions (n_i, D) of episode ``i``; frame k + 1 follows action k."""
        raise NotImplementedError

    def episode_raw_actions(self, i: int) -> np.ndarray:
        """The dataset's own actions of episode ``i`` (before the model-space scaler), exactly as
        stored, so that converters write them unchanged."""
        raise NotImplementedError

    @property
    def scaler(self) -> np.ndarray:
        """The per-dimension scaler from raw to model-space actions."""
        from freeaction.actions import action_scaler

        return action_scaler(self.action_dim)

    def window_frames(self, i: int) -> int:
        """Frames of episode ``i`` that windows may use (usually ``len(actions) + 1``)."""
        return len(self.episode_actions(i)) + 1

    def _frames(self, i: int, indices: range) -> np.ndarray | None:
        return None

    def _latents(self, i: int, indices: range) -> torch.Tensor | None:
        return None

    def _episode_meta(self, i: int) -> dict[str, Any]:
        return {}

    def episode_source(self, i: int) -> str:
        """Where episode ``i`` is stored (a file, or a file and a record), for error messages."""
        return str(self.root)

    # --- shared behaviour -----------------------------------------------------------------
    def _build_windows(self) -> None:
        self._refuse_duplicate_ids()
        self.windows = [
            (i, s)
            for i in range(self.num_episodes)
            for s in window_starts(self.window_frames(i), self.num_frames, self.stride)
        ]

    def _refuse_duplicate_ids(self) -> None:
        """DataError naming the id and both episodes' sources when two episodes share an id:
        results are keyed by episode id, so one of them would silently replace the other."""
        first: dict[str, int] = {}
        for i in range(self.num_episodes):
            eid = self.episode_id(i)
            if eid in first:
                raise DataError(
                    f"{self.episode_source(i)}: episode id {eid!r} is also the id of the episode in "
                    f"{self.episode_source(first[eid])}; episode ids must be unique within a split"
                )
            first[eid] = i

    def _skip_or_raise(self, path: Path | str, exc: DataError) -> None:
        if not self.skip_bad:
            raise exc
        self.skipped.append(Skipped(str(path), str(exc)))

    @property
    def action_dim(self) -> int:
        return int(self.episode_actions(0).shape[1]) if self.num_episodes else 0

    def __len__(self) -> int:
        return len(self.windows)

    def _clip(self, i: int, start: int, n_actions: int) -> Clip:
        indices = range(start, start + n_actions + 1)
        actions = self.episode_actions(i)[start : start + n_actions]
        meta = {"split": self.split, "episode_index": i, "format": self.format, **self._episode_meta(i)}
        return Clip(
            episode_id=self.episode_id(i),
            start=start,
            actions=actions,
            frames=self._frames(i, indices) if self.load_frames else None,
            latents=self._latents(i, indices),
            meta=meta,
        )

    def __getitem__(self, k: int) -> Clip:
        if not -len(self) <= k < len(self):
            raise IndexError(f"clip {k} out of range for {len(self)} clips")
        i, start = self.windows[k]
        return self._clip(i, start, self.num_frames - 1)

    def episode(self, i: int) -> Clip:
        """Episode ``i`` as one clip from frame 0 with all of its actions."""
        if not 0 <= i < self.num_episodes:
            raise IndexError(f"episode {i} out of range for {self.num_episodes} episodes")
        return self._clip(i, 0, len(self.episode_actions(i)))

    def episodes(self) -> Iterator[Clip]:
        """Every episode; with ``skip_bad`` a bad one is recorded in ``skipped`` and left out."""
        for i in range(self.num_episodes):
            try:
                yield self.episode(i)
            except DataError as exc:
                self._skip_or_raise(self.episode_id(i), exc)

    def iter_clips(self) -> Iterator[Clip]:
        """Every window in order; with ``skip_bad`` bad ones are recorded and left out."""
        for k in range(len(self)):
            try:
                yield self[k]
            except DataError as exc:
                self._skip_or_raise(clip_key(self.episode_id(self.windows[k][0]), self.windows[k][1]), exc)

    def describe(self) -> dict[str, Any]:
        """Facts for ``freeaction data info``."""
        return {
            "format": self.format,
            "root": str(self.root),
            "split": self.split,
            "episodes": self.num_episodes,
            "clips": len(self),
            "num_frames": self.num_frames,
            "stride": self.stride,
            "action_dim": self.action_dim,
            "skipped": len(self.skipped),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.root)!r}, split={self.split!r}: {self.num_episodes} episodes, "
            f"{len(self)} clips of {self.num_frames} frames)"
        )
