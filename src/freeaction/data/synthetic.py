"""A tiny synthetic IRASim-layout dataset for tests and benchmarks, and a shorthand to write one episode.

:func:`write_irasim_episode` builds an episode's annotation from raw actions (2-D) or poses
(7-D) and writes it with :func:`freeaction.data.irasim_layout.write_episode`, the one writer of
the layout. :func:`make_synthetic_dataset` draws moving-square videos with random actions; it
stands in for the simulators where they are not installed (the benchmarks), not for real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from freeaction.data.irasim_layout import write_episode
from freeaction.data.poses import states_from_actions


def write_irasim_episode(
    root: Path | str,
    split: str,
    episode_id: str,
    frames: np.ndarray | list[np.ndarray],
    *,
    actions: np.ndarray | None = None,
    states: np.ndarray | None = None,
    gripper: np.ndarray | None = None,
    latents: torch.Tensor | list[torch.Tensor] | None = None,
    fps: int = 10,
    extra: dict | None = None,
) -> Path:
    """Write one episode; returns its annotation path.

    2-D (Language-Table style): pass raw ``actions`` (T-1, 2) and ``frames`` (T, H, W, 3).
    7-D (RT-1/Bridge style): pass ``states`` (T, 6) and ``gripper`` (T,), and ``frames`` as one
    array per camera (a list) or a single array. ``latents`` (T, C, h, w) per camera, optional.
    ``extra``: more annotation fields.
    """
    if states is not None:
        ann = {"state": np.asarray(states, dtype=np.float64).tolist(),
               "continuous_gripper_state": np.asarray(gripper, dtype=np.float64).reshape(-1).tolist()}
    elif actions is not None:
        ann = {"actions": np.asarray(actions, dtype=np.float64).tolist()}
    else:
        raise ValueError("pass actions (2-D) or states + gripper (7-D)")
    return write_episode(root, split, str(episode_id), frames, {**ann, **(extra or {})}, fps, latents=latents)


def _render(positions: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A coloured square moving over a textured background, one frame per 2-D position in [0, 1]."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), np.full_like(xx, 60)], -1)
    base = (base * 0.5).astype(np.uint8)
    colour = rng.integers(100, 256, size=3, dtype=np.uint8)
    r = max(2, min(h, w) // 8)
    out = np.repeat(base[None], len(positions), axis=0)
    for k, (px, py) in enumerate(positions):
        cx, cy = int(px * (w - 2 * r)) + r, int(py * (h - 2 * r)) + r
        out[k, cy - r : cy + r, cx - r : cx + r] = colour
    return out


def make_synthetic_dataset(
    out: Path | str,
    episodes: int = 8,
    *,
    kind: str = "2d",
    length: int = 24,
    size: tuple[int, int] = (64, 96),
    seed: int = 0,
    splits: tuple[float, float, float] = (0.75, 0.125, 0.125),
    latents: bool = False,
) -> Path:
    """A small IRASim-layout dataset of moving squares (``kind`` ``2d`` or ``7d``)."""
    out = Path(out)
    rng = np.random.default_rng(seed)
    n_train = max(1, round(episodes * splits[0]))
    n_val = round(episodes * splits[1])
    for e in range(episodes):
        split = "train" if e < n_train else ("val" if e < n_train + n_val else "test")
        raw2 = rng.normal(0, 0.02, size=(length - 1, 2))
        pos = np.clip(0.5 + np.concatenate([np.zeros((1, 2)), np.cumsum(raw2, 0)]), 0, 1)
        frames = _render(pos, size, rng)
        lat = torch.randn(length, 4, size[0] // 8, size[1] // 8, generator=torch.Generator().manual_seed(e))
        if kind == "2d":
            write_irasim_episode(
                out, split, f"{e:06d}", frames, actions=np.diff(pos, axis=0), latents=lat if latents else None
            )
        elif kind == "7d":
            deltas, grips = rng.normal(0, 0.01, (length - 1, 6)), rng.uniform(0, 1, (length - 1, 1))
            raw = np.concatenate([deltas, grips], 1)
            states, grip = states_from_actions(raw, start=rng.normal(0, 0.3, 6))
            write_irasim_episode(
                out, split, f"{e:06d}", [frames], states=states, gripper=grip, latents=[lat] if latents else None
            )
        else:
            raise ValueError(f"kind must be '2d' or '7d', got {kind!r}")
    return out
