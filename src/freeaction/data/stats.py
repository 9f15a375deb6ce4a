"""Dataset action statistics, above all ``mu_act`` = mean of m(a) over the training clips (docs/method.md §3.2).

``compute_stats`` works from each reader's ``episode_actions`` (for the IRASim layout: the
annotation JSON alone, no video is decoded), forms every training window of ``num_frames - 1``
actions and applies m(a), :func:`freeaction.method.actions.magnitude`. ``save_stats`` writes
``freeaction_stats.json`` (and a histogram PNG) at the dataset root; ``load_stats(root)`` reads
it back for the sampler; which statistics apply to a method is decided by
:func:`freeaction.method.resolve_mu_act`.

Keys of the JSON: ``format_version``, ``mu_act``, ``std``, ``min``, ``max``, ``quantiles``
(q01 ... q99), ``histogram`` (``edges``, ``counts``), ``magnitude`` (``l2``/``mean_step``),
``dims`` (null = all), ``action_dim``, ``scaler``, ``num_frames``, ``stride``, ``split``,
``num_clips``, ``num_episodes``, ``per_dim_mean``, ``per_dim_std`` (model-space actions of
the clips' episodes), ``format``, ``dataset``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from freeaction.errors import DataError
from freeaction.files import write_json_atomic
from freeaction.method.actions import MAGNITUDE_KINDS, magnitude
from freeaction.method.mu_act import stats_mismatch

STATS_FILE = "freeaction_stats.json"
HIST_FILE = "freeaction_stats_hist.png"
FORMAT_VERSION = 1
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def window_magnitudes(
    actions: np.ndarray,
    num_actions: int,
    stride: int = 1,
    kind: str = "l2",
    dims: Sequence[int] | None = None,
) -> np.ndarray:
    """m(a) of every window of ``num_actions`` consecutive actions (starts every ``stride``)."""
    if len(actions) < num_actions:
        return np.zeros(0, dtype=np.float64)
    win = sliding_window_view(np.asarray(actions, dtype=np.float32), num_actions, axis=0)[::stride]
    win = np.array(np.swapaxes(win, 1, 2), copy=True)  # (W, n, D), writable for torch
    return magnitude(win, kind=kind, dims=dims).double().numpy()


def compute_stats(
    dataset: Any,
    magnitude_kind: str = "l2",
    dims: Sequence[int] | None = None,
    bins: int = 50,
) -> dict[str, Any]:
    """Statistics of m(a) over the windows of ``dataset`` (a reader; use its training split)."""
    if magnitude_kind not in MAGNITUDE_KINDS:
        raise ValueError(f"unknown magnitude {magnitude_kind!r}; choose one of {MAGNITUDE_KINDS}")
    n_act = dataset.num_frames - 1
    mags, all_actions, used = [], [], 0
    for i in range(dataset.num_episodes):
        a = dataset.episode_actions(i)[: dataset.window_frames(i) - 1]
        m = window_magnitudes(a, n_act, dataset.stride, magnitude_kind, dims)
        if m.size:
            mags.append(m)
            all_actions.append(a)
            used += 1
    if not mags:
        raise DataError(
            f"{dataset.root}: split {dataset.split!r} has no clip of {dataset.num_frames} frames "
            f"({dataset.num_episodes} episodes); statistics need at least one"
        )
    m = np.concatenate(mags)
    acts = np.concatenate(all_actions).astype(np.float64)
    counts, edges = np.histogram(m, bins=bins)
    from freeaction.actions import action_scaler

    return {
        "format_version": FORMAT_VERSION,
        "dataset": str(dataset.root),
        "format": dataset.format,
        "split": dataset.split,
        "num_frames": dataset.num_frames,
        "stride": dataset.stride,
        "magnitude": magnitude_kind,
        "dims": None if dims is None else [int(d) for d in dims],
        "action_dim": int(acts.shape[1]),
        "scaler": [float(x) for x in getattr(dataset, "scaler", action_scaler(acts.shape[1]))],
        "num_clips": int(m.size),
        "num_episodes": int(dataset.num_episodes),
        "num_episodes_with_clips": used,
        "mu_act": float(m.mean()),
        "std": float(m.std()),
        "min": float(m.min()),
        "max": float(m.max()),
        "quantiles": {f"q{round(q * 100):02d}": float(np.quantile(m, q)) for q in QUANTILES},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "per_dim_mean": acts.mean(axis=0).tolist(),
        "per_dim_std": acts.std(axis=0).tolist(),
        "skipped": [s.path for s in getattr(dataset, "skipped", [])],
    }


def save_stats(root: Path | str, stats: dict[str, Any], histogram: bool = True) -> Path:
    """Write ``freeaction_stats.json`` (+ ``freeaction_stats_hist.png``) into ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / STATS_FILE
    write_json_atomic(path, stats, indent=2, newline=True)
    if histogram:
        plot_histogram(stats, root / HIST_FILE)
    return path


def plot_histogram(stats: dict[str, Any], out: Path) -> None:
    """Histogram of m(a) with mu_act marked (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.asarray(stats["histogram"]["edges"])
    counts = np.asarray(stats["histogram"]["counts"])
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#4c72b0")
    ax.axvline(stats["mu_act"], color="#c44e52", label=f"mu_act = {stats['mu_act']:.3f}")
    dims = "all dims" if stats["dims"] is None else f"dims {stats['dims']}"
    ax.set_xlabel(f"m(a) ({stats['magnitude']}, {dims})")
    ax.set_ylabel("clips")
    ax.set_title(f"{Path(stats['dataset']).name} [{stats['split']}]: {stats['num_clips']} clips")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def load_stats(root: Path | str) -> dict[str, Any] | None:
    """The saved statistics of the dataset at ``root``, or None when there are none."""
    path = Path(root) / STATS_FILE
    if not path.is_file():
        return None
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: malformed JSON ({exc}); rerun `freeaction data stats`") from exc
    if (
        not isinstance(stats, dict)
        or not isinstance(stats.get("mu_act"), (int, float))
        or not math.isfinite(stats["mu_act"])
    ):
        raise DataError(f"{path}: no finite 'mu_act'; rerun `freeaction data stats`")
    return stats


def mu_act_from_stats(stats: dict[str, Any], magnitude_kind: str = "l2", dims: Sequence[int] | None = None) -> float:
    """``mu_act`` from saved stats, refusing if they were computed with another m(a)."""
    why = stats_mismatch(stats, magnitude_kind, dims, None)
    if why:
        want_dims = None if dims is None else [int(d) for d in dims]
        raise DataError(
            f"{stats.get('dataset', '?')}/{STATS_FILE}: mu_act was computed for {why}; rerun "
            f"`freeaction data stats --magnitude {magnitude_kind}"
            + (f" --dims {' '.join(map(str, want_dims))}`" if want_dims else "`")
        )
    return float(stats["mu_act"])
