"""Reports of evaluation results: results.json, a paper-shaped table, plots, an HTML page with videos.

from freeaction.report import build_report
build_report("results/pusher")     # what `freeaction report results/pusher` does
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report"]


def build_report(out: Any, **kwargs: Any) -> dict[str, Any]:
    """See :func:`freeaction.report.build.build_report` (imported lazily: matplotlib is heavy)."""
    from freeaction.report.build import build_report as _build

    return _build(out, **kwargs)
