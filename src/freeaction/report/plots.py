"""Report figures (matplotlib, Agg backend, PNG).

- ``diff_<protocol>_<method>.png``: per-clip paired differences to the baseline, one histogram
  per metric, the mean and its interval marked.
- ``sweep_<protocol>_<axis>.png``: mean difference to the baseline (with the interval) against
  the swept parameter, one panel per metric.
- ``long_psnr_per_frame.png``: colour PSNR against the generated frame index (long protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from freeaction.eval.results_folder import slug  # noqa: E402
from freeaction.report.tables import LABELS  # noqa: E402

FIG_METRICS = ["psnr", "ssim", "psnr_color", "latent_l2", "idm_error", "ee_error"]


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def difference_histograms(summary: dict[str, Any], folder: Path) -> list[Path]:
    out = []
    for pname, p in summary["protocols"].items():
        for method, comps in p["comparisons"].items():
            metrics = [m for m in FIG_METRICS if m in comps]
            if not metrics:
                continue
            fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
            for ax, m in zip(axes[0], metrics, strict=True):
                c = comps[m]
                ax.hist(c["differences"], bins=min(30, max(5, len(c["differences"]) // 2)), color="#4c72b0")
                ax.axvline(0, color="k", lw=0.8)
                ax.axvline(c["diff"], color="#dd8452", lw=1.5)
                if c["ci_low"] is not None:
                    ax.axvspan(c["ci_low"], c["ci_high"], color="#dd8452", alpha=0.25)
                ax.set_title(f"{LABELS.get(m, m)}", fontsize=9)
                ax.set_xlabel(f"{method} − {summary['baseline']}", fontsize=8)
            axes[0][0].set_ylabel("clips")
            out.append(_save(fig, folder / f"diff_{pname}_{slug(method)}.png"))
    return out


def sweep_plots(summary: dict[str, Any], folder: Path) -> list[Path]:
    sweep = summary.get("sweep") or {}
    plan = sweep.get("plan") or {}
    out = []
    for pname, p in summary["protocols"].items():
        for axis, points in plan.items():
            metrics = [m for m in FIG_METRICS if any(m in p["comparisons"].get(pt["method"], {}) for pt in points)]
            if not metrics or not points:
                continue
            fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
            labels = [pt["label"] for pt in points]
            for ax, m in zip(axes[0], metrics, strict=True):
                ys, lo, hi = [], [], []
                for pt in points:
                    c = p["comparisons"].get(pt["method"], {}).get(m)
                    ys.append(c["diff"] if c else float("nan"))
                    lo.append(c["diff"] - c["ci_low"] if c and c["ci_low"] is not None else 0.0)
                    hi.append(c["ci_high"] - c["diff"] if c and c["ci_high"] is not None else 0.0)
                ax.errorbar(range(len(points)), ys, yerr=[lo, hi], fmt="o-", capsize=3)
                ax.axhline(0, color="k", lw=0.8)
                ax.set_xticks(range(len(points)), labels, fontsize=8, rotation=30)
                ax.set_title(f"{LABELS.get(m, m)} vs {summary['baseline']}", fontsize=9)
                ax.set_xlabel(axis, fontsize=8)
            out.append(_save(fig, folder / f"sweep_{pname}_{slug(axis)}.png"))
    return out


def long_curves(summary: dict[str, Any], folder: Path) -> list[Path]:
    curves = (summary["protocols"].get("long") or {}).get("psnr_color_per_frame")
    if not curves:
        return []
    fig, ax = plt.subplots(figsize=(5, 3))
    for method, ys in curves.items():
        ax.plot(range(1, len(ys) + 1), ys, label=method)
    ax.set_xlabel("generated frame k (compared with true frame k)")
    ax.set_ylabel("colour PSNR (dB)")
    ax.legend(fontsize=7)
    return [_save(fig, folder / "long_psnr_per_frame.png")]


def make_plots(summary: dict[str, Any], folder: Path) -> list[Path]:
    """Every figure of the report, written under ``folder``."""
    return difference_histograms(summary, folder) + sweep_plots(summary, folder) + long_curves(summary, folder)
