"""Print how often the training windows of a pusher dataset show a block moving, and how big blocks are.

    python scripts/contact_stats.py data/pusher                 # train split, windows of 8 and 16 frames
    python scripts/contact_stats.py data/pusher --split test --windows 16

Reads only the annotations (``block_xy``, ``blocks``, ``sim``), never the videos. A window is
every run of W consecutive frames of an episode (stride 1, as training takes them). A block's
displacement in a window is the largest distance (px, at the dataset's frame size) of its
centre from its place in the window's first frame, the same definition the object metrics use
for "moved" (:data:`freeaction.eval.objects.MOVED_PX`).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from freeaction.eval.objects import MOVED_PX, BlockTrack

THRESHOLDS_PX = (MOVED_PX, 5.0)
HISTOGRAM_EDGES_PX = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, math.inf)
PERCENTILES = (50, 75, 90, 95, 99)


def block_area(shape: str, size: float) -> float:
    """Area of a pusher block of characteristic ``size`` (side, diameter or the bar's long side),
    in the units of ``size`` squared (the shapes of :mod:`freeaction.sim.pusher`)."""
    if shape == "disc":
        return math.pi * size**2 / 4
    if shape == "square":
        return size**2
    if shape == "bar":
        return size * size / 2
    n = {"triangle": 3, "pentagon": 5}[shape]  # regular polygon with side ``size``
    return n * size**2 / (4 * math.tan(math.pi / n))


def window_displacements(centres: np.ndarray, frames: int) -> np.ndarray:
    """(windows, blocks) largest centre displacement of each block in each window of ``frames``
    consecutive frames of an episode's centres (T, blocks, 2)."""
    if len(centres) < frames:
        return np.zeros((0, centres.shape[1]))
    view = sliding_window_view(centres, frames, axis=0)  # (windows, blocks, 2, frames)
    return np.linalg.norm(view - view[..., :1], axis=2).max(axis=-1)


def print_windows(frames: int, per_window: np.ndarray) -> None:
    """The figures of windows of ``frames`` frames; ``per_window``: (windows, blocks) displacements
    (episodes with fewer blocks padded with 0)."""
    n = len(per_window)
    largest = per_window.max(axis=1) if per_window.size else np.zeros(0)
    print(f"\nwindows of {frames} frames: {n}")
    if not n:
        return
    for th in THRESHOLDS_PX:
        with_moving = int((largest > th).sum())
        moving_blocks = (per_window > th).sum(axis=1)
        print(f"  with a block moving > {th:g} px: {with_moving} ({100 * with_moving / n:.1f}%); "
              f"moving blocks per window: mean {moving_blocks.mean():.2f}, max {moving_blocks.max()}")
    pct = np.percentile(largest, PERCENTILES)
    print("  largest block displacement per window (px): "
          + ", ".join(f"p{p} {v:.2f}" for p, v in zip(PERCENTILES, pct, strict=True)) + f", max {largest.max():.2f}")
    counts, _ = np.histogram(largest, bins=HISTOGRAM_EDGES_PX)
    for lo, hi, c in zip(HISTOGRAM_EDGES_PX[:-1], HISTOGRAM_EDGES_PX[1:], counts, strict=True):
        print(f"    [{lo:g}, {hi:g}) px: {c:7d} ({100 * c / n:5.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="a pusher dataset folder (`freeaction data make pusher`)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--windows", type=int, nargs="+", default=[8, 16], help="window lengths in frames")
    args = parser.parse_args()

    paths = sorted((args.dataset / "annotation" / args.split).glob("*.json"))
    if not paths:
        raise SystemExit(f"{args.dataset}: no annotation/{args.split}/*.json")
    per_window: dict[int, list[np.ndarray]] = defaultdict(list)
    sizes: dict[str, list[tuple[float, float]]] = defaultdict(list)  # shape -> (size px, area px)
    frames_total = 0
    episodes = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    if not all("block_xy" in a and "blocks" in a for a in episodes):
        raise SystemExit(f"{args.dataset}: not pusher data (annotations without block_xy/blocks)")
    most_blocks = max(len(a["blocks"]) for a in episodes)
    for ann in episodes:
        track = BlockTrack(ann, (int(ann["height"]), int(ann["width"])))  # the size it was rendered at
        frames_total += len(track.centres_px)
        for block in ann["blocks"]:
            s = block["size_m"] * float(ann["sim"]["px_per_meter"])
            sizes[block["shape"]].append((s, block_area(block["shape"], s)))
        for w in args.windows:
            d = window_displacements(track.centres_px, w)
            per_window[w].append(np.pad(d, ((0, 0), (0, most_blocks - d.shape[1]))))

    print(f"{args.dataset} split {args.split}: {len(episodes)} episodes, {frames_total} frames, "
          f"frame size {episodes[0]['height']}x{episodes[0]['width']}")
    print("\nblock sizes at that frame size (px; size = side, diameter or the bar's long side):")
    for shape, rows in sorted(sizes.items()):
        s, a = np.array(rows).T
        print(f"  {shape:9s} {len(rows):5d} blocks  size {s.min():5.1f}..{s.max():5.1f} (median {np.median(s):5.1f})"
              f"  area {a.min():6.1f}..{a.max():6.1f} px^2")
    for w in args.windows:
        print_windows(w, np.concatenate(per_window[w]) if per_window[w] else np.zeros((0, most_blocks)))


if __name__ == "__main__":
    main()
