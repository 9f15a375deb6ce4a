"""``freeaction quality CHECKPOINT --dataset DATASET``: the quality bar of a trained world model
(:mod:`freeaction.eval.quality`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freeaction.commands.args import add_quality_options, quality_kwargs
from freeaction.eval import quality
from freeaction.eval.quality import format_quality, quality_check


def cmd_quality(args: argparse.Namespace) -> int:
    result = quality_check(args.checkpoint, args.dataset, frames_out=args.frames, **quality_kwargs(args))
    print(format_quality(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print(f"saved {out}")
    return 0 if result["passes"] or not args.strict else 1


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "quality",
        help="is a trained model better than 'nothing moves', and does it use its actions?",
        description=quality.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint folder (with vae/) or shipped model name")
    add_quality_options(p, clips=64, sampler=None, steps=None)
    p.add_argument("--out", help="write the figures (and per-clip rows) to this JSON file")
    p.add_argument("--frames", default=None,
                   help="also write every generated clip's first and last frame, with the true ones, to this .npz")
    p.add_argument("--strict", action="store_true", help="exit 1 when the bar is not met")
    p.set_defaults(func=cmd_quality)
