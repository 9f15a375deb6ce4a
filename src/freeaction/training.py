"""What the project's training loops share: the world model's (:mod:`freeaction.train`), the
autoencoder's (:mod:`freeaction.vae.train`) and the behaviour-cloned policies'
(:mod:`freeaction.policies.bc_train`).

- :func:`learning_rate`: linear warm-up, then constant or a cosine decay (nanoGPT's ``get_lr``).
- :func:`step_seed`: the seed of step ``s``. Nothing random is carried from step to step; each
  step's draws come from a generator seeded by (seed, step), so a resumed run repeats what an
  uninterrupted one does.
- :class:`JsonLog`: the append-only ``log.jsonl``, one JSON object per line, flushed as it is
  written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import TracebackType
from typing import Any


# -- schedule and seeds ---------------------------------------------------------------------------
def learning_rate(
    step: int, lr: float, warmup_steps: int, decay_steps: int | None = None, min_lr_ratio: float = 1.0
) -> float:
    """The learning rate of (0-based) ``step``: ``lr * (step + 1) / warmup_steps`` while warming up,
    then ``lr`` (``decay_steps=None``) or a cosine from ``lr`` down to ``lr * min_lr_ratio`` at
    ``decay_steps``."""
    warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
    if decay_steps is None or step < warmup_steps:
        return lr * warmup
    progress = min(1.0, (step - warmup_steps) / max(1, decay_steps - warmup_steps))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def step_seed(seed: int, step: int) -> int:
    """The seed of the random draws of ``step`` in a run seeded with ``seed``."""
    return int(seed) * 1_000_003 + int(step)


# -- log.jsonl ------------------------------------------------------------------------------------
class JsonLog:
    """Appends entries to a JSON-lines file, one object per line, flushed at once (so a killed
    run keeps everything it logged). ``path=None`` makes a log that writes nothing (a process
    other than the main one)."""

    def __init__(self, path: Path | None) -> None:
        self._file = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115

    def write(self, entry: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> JsonLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
