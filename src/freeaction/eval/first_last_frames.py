"""Each generated clip's first and last frame beside the true ones, kept by ``freeaction quality
--frames`` for pictures of what a model gets wrong (:mod:`freeaction.report.stills`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from freeaction.eval.clips import TestClip
from freeaction.files import atomic_path


class FirstLastFrames:
    """Each generated clip's first and last frame beside the true ones (true actions), kept for
    pictures of what a model gets wrong; saved as one ``.npz``: ``clip`` (keys), ``seed``, and
    ``true_first``, ``true_last``, ``generated_first``, ``generated_last``, each (N, H, W, 3) uint8,
    row i of every array being the same (clip, seed)."""

    FRAMES = ("true_first", "true_last", "generated_first", "generated_last")

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.seeds: list[int] = []
        self.frames: dict[str, list[np.ndarray]] = {name: [] for name in self.FRAMES}

    def add(self, clip: TestClip, seed: int, generated: np.ndarray) -> None:
        """One clip's generated frames (n + 1, H, W, 3) uint8 with true actions and seed ``seed``."""
        if clip.frames is None:
            return
        self.keys.append(clip.ref.key)
        self.seeds.append(seed)
        for name, video in (("true", clip.frames), ("generated", generated)):
            self.frames[f"{name}_first"].append(np.asarray(video[0], np.uint8))
            self.frames[f"{name}_last"].append(np.asarray(video[-1], np.uint8))

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` (compressed) atomically; an empty set of arrays when no clip had frames."""
        arrays = {name: np.stack(v) if v else np.zeros((0, 0, 0, 3), np.uint8) for name, v in self.frames.items()}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, clip=np.array(self.keys, dtype=str), seed=np.array(self.seeds, np.int64), **arrays)
        return Path(path)


def load_first_last_frames(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays :meth:`FirstLastFrames.save` wrote."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
