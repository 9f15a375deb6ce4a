"""Build every report file of a results folder: results.json, table.md, plots, videos, index.html."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from freeaction.files import write_text_atomic
from freeaction.report.html import render_html
from freeaction.report.plots import make_plots
from freeaction.report.summary import compute_summary
from freeaction.report.tables import markdown_report
from freeaction.report.videos import comparison_videos


def build_report(out: str | os.PathLike[str], *, videos: bool = True) -> dict[str, Any]:
    """(Re)generate the report of ``out``; returns the summary (``results.json``'s content)."""
    out = Path(out)
    summary = compute_summary(out)
    write_text_atomic(out / "results.json", json.dumps(summary, indent=1))
    write_text_atomic(out / "table.md", markdown_report(summary))
    plots = make_plots(summary, out / "plots")
    clips = comparison_videos(summary, out, out / "report_videos") if videos else []
    write_text_atomic(out / "index.html", render_html(summary, out, plots, clips))
    return summary
