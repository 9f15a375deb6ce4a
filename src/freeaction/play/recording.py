"""What a play session keeps of what was displayed, and the folder ``save`` writes from it.

A :class:`Recording` is the displayed part of one rollout: the actions and every panel's frames,
at most ``max_frames`` actions long (the play goes on past that, unrecorded, so memory stays flat).
:func:`save_recording` writes it with the ``freeaction generate`` command that reproduces each
world-model panel.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from freeaction import Method
from freeaction.errors import InputError
from freeaction.media import VideoWriter
from freeaction.play.controls import PlaySettings
from freeaction.play.method_options import generate_flags


class Recording:
    """Actions (model space and raw) and every panel's frames, first frames included."""

    def __init__(self, start: np.ndarray, first_frames: dict[str, np.ndarray], max_frames: int) -> None:
        self.start = start  # the start image as given (the world models' first frames are its reconstruction)
        self.first_frames = first_frames
        self.max_frames = max_frames
        self.raw: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.frames: dict[str, list[np.ndarray]] = {pid: [] for pid in first_frames}

    @property
    def length(self) -> int:
        """Recorded actions (= recorded frames after the first, per panel)."""
        return sum(len(a) for a in self.actions)

    def has_room(self, n: int) -> bool:
        return self.length + n <= self.max_frames

    def snapshot(self) -> Recording:
        """A copy that later :meth:`add` calls do not change (the arrays are shared, never modified)."""
        copy = Recording(self.start, self.first_frames, self.max_frames)
        copy.raw, copy.actions = list(self.raw), list(self.actions)
        copy.frames = {pid: list(chunks) for pid, chunks in self.frames.items()}
        return copy

    def add(self, raw: np.ndarray, actions: np.ndarray, frames: dict[str, np.ndarray]) -> None:
        """One displayed chunk: (k, A) raw and model-space actions, (k, H, W, 3) frames per panel."""
        self.raw.append(raw)
        self.actions.append(actions)
        for pid, video in frames.items():
            self.frames[pid].append(video)


def save_recording(recording: Recording, folder: str | Path, *, settings: PlaySettings,
                   methods: dict[str, Method], chunk: int, precision: str, model_name: str) -> dict[str, Any]:
    """Write ``first_frame.png``, ``actions.npy`` (model space), ``raw_actions.npy``, per panel
    ``<panel>.mp4`` and ``<panel>.npy`` (uint8 frames, the first included) and ``settings.json``,
    whose ``reproduce`` entry is the ``freeaction generate`` command of each world-model panel
    (run in the folder). Returns what ``settings.json`` holds."""
    if not recording.actions:
        raise InputError("nothing to save yet: steer for a moment first")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    actions = np.concatenate(recording.actions)
    Image.fromarray(recording.start).save(folder / "first_frame.png")
    np.save(folder / "actions.npy", actions)
    np.save(folder / "raw_actions.npy", np.concatenate(recording.raw))
    files = {"first_frame": "first_frame.png", "actions": "actions.npy", "raw_actions": "raw_actions.npy"}
    names = {pid: f"{pid}-{m.name}" for pid, m in methods.items()} | {"sim": "simulator"}
    for pid, chunks in recording.frames.items():
        if not chunks:
            continue
        video = np.concatenate([recording.first_frames[pid][None], *chunks])
        with VideoWriter(folder / f"{names[pid]}.mp4", fps=settings.fps) as writer:
            writer.write(video)
        np.save(folder / f"{names[pid]}.npy", video)
        files[pid] = f"{names[pid]}.mp4"
    commands = {
        pid: ["freeaction", "generate", "--checkpoint", model_name or "CHECKPOINT",
              "--image", "first_frame.png", "--actions", "actions.npy", "--action-space", "model",
              "--sampler", settings.sampler, "--steps", str(settings.steps), "--seed", str(settings.seed),
              "--precision", precision, *generate_flags(m), "--out", f"{names[pid]}.generated.mp4"]
        for pid, m in methods.items()
    }
    info = {
        "model": model_name,
        "precision": precision,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "frames": int(len(actions) + 1),
        "chunk": chunk,
        "settings": settings.to_dict(),
        "panels": {pid: {"method": m.name, "guidance": m.to_dict()["guidance"],
                         "truncation": m.to_dict()["truncation"], "video": files[pid]}
                   for pid, m in methods.items()},
        "simulator": files.get("sim"),
        "files": files,
        "reproduce": {pid: " ".join(commands[pid]) for pid in methods},
    }
    (folder / "settings.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return info
