"""The one clip interface every dataset reader returns.

A *clip* is what a world model is asked to continue: a context frame plus the actions that
follow it, with the true frames (and, where available, the pre-encoded latents) to compare
against. An *episode* is the same thing over a whole recorded trajectory.

Conventions (docs/method.md §1):
- ``actions[i]`` is the model-space action (raw action times the per-dimension scaler) that
  drives frame ``i`` to frame ``i + 1``; so ``len(frames) == len(actions) + 1``.
- ``frames`` are RGB uint8, (n + 1, H, W, 3); frame 0 is the context frame.
- ``latents`` are the *scaled* VAE latents (already multiplied by the VAE scaling factor),
  float32 (n + 1, C, h, w), or ``None`` when the dataset has not been encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def clip_key(episode_id: str, start: int) -> str:
    """``episode@start``: the name of the clip of ``episode_id`` starting at frame ``start``, in
    messages, result rows and skip lists."""
    return f"{episode_id}@{start}"


def evenly_spaced(n: int, k: int) -> np.ndarray:
    """``min(k, n)`` indices of ``range(n)`` spread evenly from first to last (all of them when
    ``k >= n``), as int64."""
    return np.linspace(0, n - 1, min(k, n)).round().astype(int)


@dataclass
class Clip:
    episode_id: str
    start: int
    actions: np.ndarray
    frames: np.ndarray | None = None
    latents: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actions = np.asarray(self.actions, dtype=np.float32)
        if self.actions.ndim != 2:
            raise ValueError(f"clip {self.key}: actions must be (n, D), got {self.actions.shape}")
        n = len(self.actions) + 1
        if self.frames is not None and len(self.frames) != n:
            raise ValueError(
                f"clip {self.key}: {len(self.frames)} frames for {n - 1} actions (need {n})"
            )
        if self.latents is not None and len(self.latents) != n:
            raise ValueError(
                f"clip {self.key}: {len(self.latents)} latents for {n - 1} actions (need {n})"
            )

    @property
    def key(self) -> str:
        """``episode@start`` (:func:`clip_key`)."""
        return clip_key(self.episode_id, self.start)

    @property
    def num_actions(self) -> int:
        return len(self.actions)

    @property
    def action_dim(self) -> int:
        return int(self.actions.shape[1])


# An episode is a clip that spans a whole recorded trajectory (start == 0).
Episode = Clip
