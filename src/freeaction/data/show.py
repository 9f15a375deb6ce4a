"""A PNG grid of frames from a few episodes, so a user can look at a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from freeaction.data.base import ClipDataset
from freeaction.data.clip import evenly_spaced
from freeaction.errors import DataError


def frame_grid(
    ds: ClipDataset,
    out: Path | str,
    episodes: int = 4,
    frames_per_episode: int = 6,
    seed: int = 0,
    cell_height: int = 128,
) -> Path:
    """Write a grid: one row per picked episode, ``frames_per_episode`` evenly spaced frames."""
    if ds.num_episodes == 0:
        raise DataError(f"{ds.root}: split {ds.split!r} has no episodes to show")
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(ds.num_episodes, size=min(episodes, ds.num_episodes), replace=False).tolist())
    rows, labels = [], []
    for i in picked:
        try:
            ep = ds.episode(i)
        except DataError as exc:
            ds._skip_or_raise(ds.episode_id(i), exc)
            continue
        idx = evenly_spaced(len(ep.frames), frames_per_episode)
        h, w = ep.frames.shape[1:3]
        cw = max(1, round(w * cell_height / h))
        cells = [np.asarray(Image.fromarray(ep.frames[k]).resize((cw, cell_height), Image.BILINEAR)) for k in idx]
        cells += [np.zeros_like(cells[0])] * (frames_per_episode - len(cells))
        rows.append(np.concatenate(cells, axis=1))
        labels.append(f"{ep.episode_id}  frames {', '.join(map(str, idx))}")
    if not rows:
        raise DataError(f"{ds.root}: none of the picked episodes could be read")
    width = max(r.shape[1] for r in rows)
    band = 14
    canvas = Image.new("RGB", (width, len(rows) * (cell_height + band)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (row, label) in enumerate(zip(rows, labels, strict=True)):
        y = r * (cell_height + band)
        draw.text((2, y + 1), label, fill="black")
        canvas.paste(Image.fromarray(row), (0, y + band))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out
