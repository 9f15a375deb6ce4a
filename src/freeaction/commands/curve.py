"""``freeaction curve RUN [RUN ...] --dataset DATASET --out CURVE``: the quality and contact figures
of a training run's checkpoints, step by step (:mod:`freeaction.eval.learning_curve`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from freeaction.commands.args import add_quality_options, quality_kwargs
from freeaction.eval import learning_curve
from freeaction.eval.learning_curve import PLOT, measure_curve
from freeaction.report.curve import format_curve, plot_curve


def cmd_curve(args: argparse.Namespace) -> int:
    out = Path(args.out)

    def on_row(rows: list[dict[str, Any]]) -> None:
        print(format_curve(rows), flush=True)
        plot_curve(rows, out / PLOT)

    rows = measure_curve(args.runs, out, dataset=args.dataset, every=args.every, follow=args.follow, frames=args.frames,
                         poll_seconds=args.poll, on_row=on_row, progress=sys.stderr.isatty(), **quality_kwargs(args))
    if not rows:
        print(f"no checkpoint measured: {', '.join(args.runs)} hold no checkpoint"
              + (f" at a multiple of {args.every} steps" if args.every else ""))
        return 1
    print(f"saved {out / learning_curve.ROWS} and {out / PLOT}")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "curve",
        help="a learning curve: the quality and contact figures of a run's checkpoints, step by step",
        description=learning_curve.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="training run folders (with checkpoints/), a recipe's stages in order")
    add_quality_options(p, clips=32, sampler="ddpm", steps=50)
    p.add_argument("--out", required=True, help="the curve folder (rows, per-step results, plot)")
    p.add_argument("--every", type=int, default=0,
                   help="measure only the steps that are multiples of this (default 0: every checkpoint)")
    p.add_argument("--follow", action="store_true",
                   help="wait for checkpoints still to come, until the last run's last step is measured")
    p.add_argument("--frames", action="store_true",
                   help="also write each step's first and last frames, true and generated (step-N-frames.npz)")
    p.add_argument("--poll", type=float, default=60.0, help="seconds between looks for new checkpoints (--follow)")
    p.set_defaults(func=cmd_curve)
