"""Side-by-side comparison videos (ground truth | each method) for the best, median and worst clips.

Clips are ranked by the paired difference between the highlighted method (``freeaction`` when
present) and the baseline, on PSNR when the run decoded frames, else on Latent L2, in the
direction where larger means the highlighted method did better. Only clips whose videos the
run saved (``save_videos``) can be shown; the ranking is over those clips. Panels are stacked
left to right in one H.264 (yuv420p) MP4 so that they play in sync in any browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from freeaction.eval.results_folder import slug, video_path
from freeaction.files import atomic_path

MAX_PANELS = 6  # ground truth + up to 5 methods
GAP = 2  # white pixels between panels


def highlight_method(summary: dict[str, Any]) -> str | None:
    others = [m for m in summary["methods"] if m != summary["baseline"]]
    return "freeaction" if "freeaction" in others else (others[0] if others else None)


def ranked_clips(summary: dict[str, Any], out: Path, protocol: str = "short") -> list[tuple[str, str, float]]:
    """[(label, clip, difference)] for best, median and worst among clips with saved videos."""
    p = summary["protocols"].get(protocol)
    method = highlight_method(summary)
    if not p or method is None:
        return []
    comps = p["comparisons"].get(method, {})
    metric = "psnr" if "psnr" in comps else ("psnr_color" if "psnr_color" in comps else "latent_l2")
    c = comps.get(metric)
    if not c:
        return []
    sign = 1.0 if c["higher_is_better"] else -1.0
    have = [
        (sign * d, clip)
        for d, clip in zip(c["differences"], c["clips"], strict=True)
        if video_path(out, protocol, clip, None).is_file()
    ]
    if not have:
        return []
    have.sort()
    picks = [("best", have[-1]), ("median", have[len(have) // 2]), ("worst", have[0])]
    seen, result = set(), []
    for label, (score, clip) in picks:
        if clip not in seen:
            seen.add(clip)
            result.append((label, clip, sign * score))
    return result


def panel_methods(summary: dict[str, Any], out: Path, protocol: str, clip: str) -> list[str]:
    """Methods to show for a clip: baseline, highlight, then the rest in order, as saved."""
    order = [summary["baseline"], highlight_method(summary)] + list(summary["methods"])
    seen: list[str] = []
    for m in order:
        if m and m not in seen and video_path(out, protocol, clip, m).is_file():
            seen.append(m)
    return seen[: MAX_PANELS - 1]


def side_by_side(paths: list[Path], target: Path) -> Path:
    """Decode the videos, put them next to each other, and write one browser-playable MP4."""
    from freeaction.data.video import read_frames
    from freeaction.media import VideoWriter

    videos = [read_frames(p) for p in paths]
    n = min(len(v) for v in videos)
    h = max(v.shape[1] for v in videos)
    cols = []
    for i, v in enumerate(videos):
        v = v[:n]
        if v.shape[1] < h:
            v = np.pad(v, ((0, 0), (0, h - v.shape[1]), (0, 0), (0, 0)), constant_values=255)
        cols.append(v)
        if i < len(videos) - 1:
            cols.append(np.full((n, h, GAP, 3), 255, np.uint8))
    frames = np.concatenate(cols, axis=2)
    with atomic_path(target) as tmp, VideoWriter(tmp, fps=4, crf=18) as w:
        w.write(frames)
    return target


def comparison_videos(summary: dict[str, Any], out: Path, folder: Path) -> list[dict[str, Any]]:
    """Write the comparison videos; returns [{"label", "clip", "difference", "path", "panels"}]."""
    result = []
    for protocol in ("short", "long"):
        for label, clip, diff in ranked_clips(summary, out, protocol):
            methods = panel_methods(summary, out, protocol, clip)
            paths = [video_path(out, protocol, clip, m) for m in (None, *methods)]
            target = folder / f"{protocol}_{label}_{slug(clip)}.mp4"
            side_by_side(paths, target)
            result.append(
                {
                    "protocol": protocol,
                    "label": label,
                    "clip": clip,
                    "difference": diff,
                    "path": target,
                    "panels": ["ground truth", *methods],
                }
            )
    return result
