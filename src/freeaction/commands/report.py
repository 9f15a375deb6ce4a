"""``freeaction report RESULTS_DIR``: regenerate the report of an evaluation results folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from freeaction.errors import InputError


def cmd_report(args: argparse.Namespace) -> int:
    from freeaction.report import build_report

    out = Path(args.results_dir)
    if not out.is_dir():
        raise InputError(f"results folder not found: {out}")
    summary = build_report(out, videos=not args.no_videos)
    print(
        f"wrote {out / 'index.html'}, {out / 'results.json'}, {out / 'table.md'} "
        f"({len(summary['methods'])} methods, protocols: {', '.join(summary['protocols'])})"
    )
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="regenerate results.json, table.md, plots and index.html of an evaluation results folder",
        description="Merge the shards of an evaluation results folder and rebuild its report.",
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="the 'out' folder of freeaction evaluate / sweep")
    p.add_argument("--no-videos", action="store_true", help="skip the side-by-side comparison videos")
    p.set_defaults(func=cmd_report)
