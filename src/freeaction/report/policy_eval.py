"""The policy-evaluation report: results.json, table.md, scatter.png, drift.png and index.html.

``index.html`` shows, per method, episodes where the world model agrees with the simulator and
episodes where it does not, as animated GIFs side by side (simulator | each method), with the
goal disc drawn over them (it is not part of the frames the policies and the detector see).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

from freeaction.eval.policy_eval import SIM, load_frames, summarize
from freeaction.eval.results_folder import read_rows

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SHOWN_PER_KIND = 4  # agreeing and disagreeing episodes shown per method
SCALE = 3


def _fmt_rate(r: dict[str, Any]) -> str:
    if r.get("rate") is None:
        return "-"
    ci = r.get("ci")
    return f"{r['rate']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def markdown_table(summary: dict[str, Any]) -> str:
    """Success per policy (simulator and each method, 95% bootstrap intervals) and the ranking figures."""
    methods = list(summary["methods"])
    paired = summary["methods"][methods[0]]["sim_paired"] if methods else {}
    lines = ["| policy | sim, all episodes (pixels) | sim (state) | sim, WM's scenes | "
             + " | ".join(f"WM {m}" for m in methods) + " |", "|---|---|---|---|" + "---|" * len(methods)]
    for n in summary["policies"]:
        s = summary["sim"][n]
        cells = [_fmt_rate(summary["methods"][m]["wm"][n]) for m in methods]
        lines.append(f"| {n} | {_fmt_rate(s)} (n={s['n']}) | {_fmt(s['state_rate'])} | "
                     f"{_fmt_rate(paired.get(n, {}))} | " + " | ".join(cells) + " |")
    lines += ["", "Ranking against the simulator on the same scenes (in brackets: against all simulator episodes); "
              "drift: error of the world model's frames against the simulator replaying the same actions.", "",
              "| method | Pearson r | Spearman rho | MMRV | episode agreement | ee error (px, step 1 / last) "
              "| object error (px, step 1 / last) |", "|---|---|---|---|---|---|---|"]
    for m, r in summary["methods"].items():
        a = r["vs_all_sim"]
        ee, obj = r["drift"]["ee_error"], r["drift"]["object_error"]
        lines.append(f"| {m} | {_fmt(r['pearson'])} ({_fmt(a['pearson'])}) | {_fmt(r['spearman'])} "
                     f"({_fmt(a['spearman'])}) | {_fmt(r['mmrv'], 3)} ({_fmt(a['mmrv'], 3)}) | "
                     f"{_fmt_rate(r['agreement'])} | {_fmt(ee[0], 1)} / {_fmt(ee[-1], 1)} | "
                     f"{_fmt(obj[0], 1)} / {_fmt(obj[-1], 1)} |")
    intervals = summary.get("ranking_intervals") or {}
    if intervals:
        lines += ["", "95% bootstrap intervals over the shared episodes (resampled within each policy, the same draw "
                  "for the simulator and every method, so differences are paired):", ""]
        for m, iv in intervals.items():
            extra = "; ".join(f"{k.removesuffix('_ci').replace('_', ' ')} {_fmt_ci(v)}" for k, v in iv.items()
                              if "minus" in k)
            lines.append(f"- {m}: Pearson r {_fmt_ci(iv['pearson_ci'])}, MMRV {_fmt_ci(iv['mmrv_ci'])}"
                         + (f"; {extra}" if extra else ""))
    return "\n".join(lines) + "\n"


def _fmt_ci(ci: list[float] | None) -> str:
    return "-" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def scatter(summary: dict[str, Any], path: Path) -> Path:
    """Simulator success (x) against world-model success (y), one point per policy, a colour per method."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="y = x")
    for m, r in summary["methods"].items():
        xs = [r["sim_paired"][n]["rate"] for n in summary["policies"]]
        ys = [r["wm"][n]["rate"] for n in summary["policies"]]
        ax.scatter(xs, ys, label=f"{m} (r={_fmt(r['pearson'])}, MMRV={_fmt(r['mmrv'], 3)})", s=30)
        for n, x, y in zip(summary["policies"], xs, ys, strict=True):
            ax.annotate(n, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03), xlabel="simulator success (same scenes)",
           ylabel="world-model success")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def drift_plot(summary: dict[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for m, r in summary["methods"].items():
        for ax, key in zip(axes, ("ee_error", "object_error"), strict=True):
            ax.plot(range(1, len(r["drift"][key]) + 1), r["drift"][key], label=m)
    for ax, title in zip(axes, ("effector", "target block"), strict=True):
        ax.set(xlabel="step", ylabel="error vs simulator replay (px)", title=title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _gif(videos: list[np.ndarray], task: dict[str, Any], path: Path) -> None:
    """Videos side by side, upscaled, goal disc outlined, as an animated GIF."""
    n = min(len(v) for v in videos)
    cx, cy = (np.asarray(task["goal_px"]) + 0.5) * SCALE
    rad = task["goal_radius_px"] * SCALE
    frames = []
    for t in range(n):
        tiles = []
        for v in videos:
            im = Image.fromarray(np.kron(v[t], np.ones((SCALE, SCALE, 1), np.uint8)))
            ImageDraw.Draw(im).ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=(255, 255, 255))
            tiles.append(np.asarray(im))
        frames.append(Image.fromarray(np.concatenate(tiles, axis=1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=150, loop=0)


def pick_episodes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to :data:`SHOWN_PER_KIND` episodes, world-model successes first, one per policy while there
    are policies left, so the page shows varied cases."""
    ordered = sorted(rows, key=lambda r: (not r["success"], r["episode"]))
    picked: list[dict[str, Any]] = []
    for r in ordered:
        if len(picked) < SHOWN_PER_KIND and r["policy"] not in {p["policy"] for p in picked}:
            picked.append(r)
    return picked + [r for r in ordered if r not in picked][: SHOWN_PER_KIND - len(picked)]


def html_page(summary: dict[str, Any], out: Path) -> str:
    rows = read_rows(out / "results.jsonl")
    sim = {r["clip"]: r for r in rows if r["protocol"] == SIM}
    methods = list(summary["methods"])
    parts = ["<!doctype html><meta charset='utf-8'><title>policy evaluation</title>",
             "<style>body{font-family:sans-serif;margin:2em} img{image-rendering:pixelated}</style>",
             "<h1>Policies in the world model vs the simulator</h1>",
             "<p><img src='scatter.png'> <img src='drift.png'></p>",
             f"<pre>{html.escape(markdown_table(summary))}</pre>",
             "<p>Each animation: simulator | " + " | ".join(html.escape(m) for m in methods)
             + " (the same scene, policy and policy seed; white circle: the goal).</p>"]
    for m in methods:
        wm = [r for r in rows if r["protocol"] == "wm" and r["method"] == m and r["clip"] in sim]
        for label, agree in (("agreeing", True), ("disagreeing", False)):
            picked = pick_episodes([r for r in wm if (r["success"] == sim[r["clip"]]["success"]) == agree])
            parts.append(f"<h2>{html.escape(m)}: {label} episodes</h2><p>")
            for r in picked:
                videos = [load_frames(out, SIM, r["policy"], r["episode"])]
                videos += [load_frames(out, k, r["policy"], r["episode"]) for k in methods]
                videos = [v for v in videos if v is not None]
                name = f"gifs/{m}_{label}_{r['policy']}_{r['episode']:03d}.gif"
                _gif(videos, sim[r["clip"]]["task"], out / name)
                s = sim[r["clip"]]
                parts.append(f"<figure style='display:inline-block'><img src='{html.escape(name)}'><figcaption>"
                             f"{html.escape(r['policy'])} #{r['episode']}: sim {'success' if s['success'] else 'fail'}"
                             f", WM {'success' if r['success'] else 'fail'}</figcaption></figure>")
            parts.append("</p>")
    return "\n".join(parts)


def write_report(out: str | Path) -> dict[str, Any]:
    """Summarise a results folder and write every report file into it; returns the summary."""
    out = Path(out)
    summary = summarize(out)
    (out / "results.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    (out / "table.md").write_text(markdown_table(summary))
    if summary["methods"]:
        scatter(summary, out / "scatter.png")
        drift_plot(summary, out / "drift.png")
        (out / "index.html").write_text(html_page(summary, out))
    return summary
