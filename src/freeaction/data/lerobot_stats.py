"""Feature statistics as lerobot records them: per episode and aggregated over a dataset.

LeRobotDataset v2.1 keeps one line per episode in ``meta/episodes_stats.jsonl``
(``{"episode_index": i, "stats": {feature: {"min", "max", "mean", "std", "count"}}}``), and
lerobot 0.3.x refuses a v2.1 dataset without it. v3.0 keeps the same numbers as
``stats/<feature>/<stat>`` columns of the episodes parquet and their aggregate in
``meta/stats.json`` (what lerobot's own v2.1 -> v3.0 conversion writes).

The numbers follow lerobot's ``compute_episode_stats``: numeric features are reduced over the
frame axis (a 1-D column keeps a length-1 axis); a camera is reduced per channel over an evenly
spaced sample of the episode's frames (every frame up to 100, then ``n ** 0.75``), frames with a
side of 300 pixels or more strided down to about 150, and the results scaled to [0, 1] with shape
(3, 1, 1). ``count`` is the number of frames (cameras: sampled frames) as a length-1 list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Stats = dict[str, np.ndarray]


def sample_indices(length: int, min_samples: int = 100, max_samples: int = 10_000, power: float = 0.75) -> np.ndarray:
    """The frame indices lerobot samples from an episode of ``length`` frames for a camera's stats."""
    num = max(min(min_samples, length), min(int(length**power), max_samples))
    return np.round(np.linspace(0, length - 1, num)).astype(int)


def _downsample(chw: np.ndarray, target: int = 150, threshold: int = 300) -> np.ndarray:
    """Frames (N, C, H, W) strided so their longer side is about ``target`` when it reaches ``threshold``."""
    height, width = chw.shape[-2:]
    if max(height, width) < threshold:
        return chw
    factor = int(width / target) if width > height else int(height / target)
    return chw[..., ::factor, ::factor]


def _reduce(array: np.ndarray, axis: int | tuple[int, ...], keepdims: bool) -> Stats:
    return {
        "min": np.min(array, axis=axis, keepdims=keepdims),
        "max": np.max(array, axis=axis, keepdims=keepdims),
        "mean": np.mean(array, axis=axis, keepdims=keepdims),
        "std": np.std(array, axis=axis, keepdims=keepdims),
        "count": np.array([len(array)]),
    }


def numeric_stats(values: np.ndarray) -> Stats:
    """Statistics of one numeric column, (T,) or (T, D), over its frames."""
    return _reduce(values, 0, keepdims=values.ndim == 1)


def camera_stats(frames: np.ndarray) -> Stats:
    """Per-channel statistics, scaled to [0, 1], of an episode's frames (T, H, W, 3) uint8."""
    sample = _downsample(np.ascontiguousarray(frames[sample_indices(len(frames))].transpose(0, 3, 1, 2)))
    stats = _reduce(sample, (0, 2, 3), keepdims=True)
    return {k: v if k == "count" else np.squeeze(v / 255.0, axis=0) for k, v in stats.items()}


def aggregate(per_episode: list[Stats]) -> Stats:
    """One feature's statistics over several episodes: count-weighted mean, pooled variance."""
    means = np.stack([s["mean"] for s in per_episode])
    variances = np.stack([s["std"] ** 2 for s in per_episode])
    counts = np.stack([s["count"] for s in per_episode])
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    mean = (means * counts).sum(axis=0) / total
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    return {
        "min": np.min(np.stack([s["min"] for s in per_episode]), axis=0),
        "max": np.max(np.stack([s["max"] for s in per_episode]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total,
    }


def aggregate_features(episodes: list[dict[str, Stats]]) -> dict[str, Stats]:
    """Every feature's statistics over all ``episodes`` (each feature -> its stats)."""
    return {key: aggregate([ep[key] for ep in episodes]) for key in episodes[0]}


def to_json(stats: dict[str, Stats]) -> dict[str, dict[str, Any]]:
    """``stats`` with arrays as (nested) lists, as lerobot serialises them."""
    return {key: {name: value.tolist() for name, value in feature.items()} for key, feature in stats.items()}


def to_columns(stats: dict[str, Stats]) -> dict[str, Any]:
    """``stats`` as the ``stats/<feature>/<stat>`` fields of a v3.0 episodes row."""
    return {f"stats/{key}/{name}": value.tolist() for key, feature in stats.items() for name, value in feature.items()}
