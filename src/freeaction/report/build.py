"""Build every report file of a results folder: results.json, table.md, plots, videos, index.html."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from freeaction.report.html import render_html
from freeaction.report.plots import make_plots
from freeaction.report.summary import compute_summary
from freeaction.report.tables import markdown_report
from freeaction.report.videos import comparison_videos


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(out: str | os.PathLike[str], *, videos: bool = True) -> dict[str, Any]:
    """(Re)generate the report of ``out``; returns the summary (``results.json``'s content)."""
    out = Path(out)
    summary = compute_summary(out)
    _write(out / "results.json", json.dumps(summary, indent=1))
    _write(out / "table.md", markdown_report(summary))
    plots = make_plots(summary, out / "plots")
    clips = comparison_videos(summary, out, out / "report_videos") if videos else []
    _write(out / "index.html", render_html(summary, out, plots, clips))
    return summary
