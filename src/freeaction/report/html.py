"""The self-contained HTML page of a results folder (relative links only, no scripts or CDNs)."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from freeaction.report.summary import DIVERSITY, METRICS
from freeaction.report.tables import failure_notes, table_rows

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
video { image-rendering: pixelated; display: block; }
figure { margin: 1em 0; }
.note { color: #555; font-size: 13px; }
"""


def _table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _shown_path(value: Any) -> str:
    """A recorded path, normalised for reading (``/w/configs/../runs/x`` as ``/w/runs/x``)."""
    return html.escape(os.path.normpath(value) if isinstance(value, str) and value else str(value))


def render_html(summary: dict[str, Any], out: Path, plots: list[Path], videos: list[dict[str, Any]]) -> str:
    """The page's HTML text; ``plots`` and video paths are made relative to ``out``."""
    boot = summary["bootstrap"]
    run = summary.get("run") or {}
    settings = run.get("settings", {})
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>freeaction evaluation</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Evaluation results</h1>",
        f"<p class='note'>checkpoint <code>{_shown_path(settings.get('checkpoint'))}</code>, dataset "
        f"<code>{_shown_path(settings.get('dataset'))}</code> ({html.escape(str(settings.get('split')))}), "
        f"sampler {html.escape(str(settings.get('sampler')))} ({html.escape(str(settings.get('steps')))} steps), "
        f"seeds {html.escape(str(settings.get('seeds')))}, scoring "
        f"<b>{html.escape(str(settings.get('scoring', 'freeaction')))}</b>. Cells: mean over clips; "
        "for non-baseline methods the "
        f"paired difference to <b>{html.escape(summary['baseline'])}</b> with its "
        f"{100 * float(boot['confidence']):.0f}% bootstrap interval and the share of clips improved.</p>",
    ]
    for name, p in summary["protocols"].items():
        parts.append(f"<h2>{html.escape(name)} protocol</h2>")
        parts.append(_table(*table_rows(summary, name, METRICS[name])))
        if any(m in p["metrics"] for m in DIVERSITY):
            parts.append("<h3>Diversity across seeds</h3>")
            parts.append(_table(*table_rows(summary, name, DIVERSITY)))
        for note in failure_notes(summary, name):
            parts.append(f"<p class='note'><b>Failed:</b> {html.escape(note)}</p>")
    if videos:
        parts.append(
            "<h2>Videos</h2><p class='note'>Best, median and worst clips by the paired difference "
            "of the highlighted method to the baseline, among the clips whose videos were saved.</p>"
        )
        for v in videos:
            caption = (
                f"{v['protocol']} / {v['label']}: clip {v['clip']} (difference {v['difference']:+.3f}). "
                f"Left to right: {' | '.join(v['panels'])}"
            )
            width = 160 * len(v["panels"])
            parts.append(
                f"<figure><figcaption>{html.escape(caption)}</figcaption>"
                f"<video src='{html.escape(_rel(v['path'], out))}' width='{width}' autoplay loop muted playsinline "
                "controls></video></figure>"
            )
    if plots:
        parts.append("<h2>Plots</h2>")
        for p in plots:
            parts.append(
                f"<figure><img src='{html.escape(_rel(p, out))}' alt='{html.escape(p.stem)}'>"
                f"<figcaption class='note'>{html.escape(p.stem)}</figcaption></figure>"
            )
    for note in (summary.get("sweep") or {}).get("notes", []):
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts.append(
        "<p class='note'>Machine-readable: <a href='results.json'>results.json</a>, "
        "<a href='results.jsonl'>results.jsonl</a> (one row per clip, method and seed), "
        "<a href='table.md'>table.md</a>.</p></body></html>"
    )
    return "\n".join(parts)
