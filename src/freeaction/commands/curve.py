"""``freeaction curve RUN [RUN ...] --dataset DATASET --out CURVE``: the quality and contact figures
of a training run's checkpoints, step by step (:mod:`freeaction.eval.learning_curve`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from freeaction.eval import learning_curve
from freeaction.eval.learning_curve import PLOT, measure_curve
from freeaction.report.curve import format_curve, plot_curve


def cmd_curve(args: argparse.Namespace) -> int:
    out = Path(args.out)

    def on_row(rows: list[dict[str, Any]]) -> None:
        print(format_curve(rows[-1:], header=False), flush=True)
        plot_curve(rows, out / PLOT)

    rows = measure_curve(
        args.runs, out, dataset=args.dataset, vae=args.vae, every=args.every, follow=args.follow, frames=args.frames,
        poll_seconds=args.poll, on_row=on_row, split=args.split, clips=args.clips, clip_frames=args.clip_frames,
        sampler=args.sampler, steps=args.steps, batch_size=args.batch_size, seed=args.seed, seeds=args.seeds,
        device=args.device, gripper_reader=None if args.gripper_reader == "none" else args.gripper_reader,
    )
    if not rows:
        print(f"no checkpoint measured: {', '.join(args.runs)} hold no checkpoint"
              + (f" at a multiple of {args.every} steps" if args.every else ""))
        return 1
    print(format_curve(rows))
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
    p.add_argument("--dataset", required=True, help="dataset root (IRASim layout, LeRobot or RLDS)")
    p.add_argument("--vae", default=None, help="diffusers AutoencoderKL folder (default: the checkpoint's vae/)")
    p.add_argument("--out", required=True, help="the curve folder (rows, per-step results, plot)")
    p.add_argument("--every", type=int, default=0,
                   help="measure only the steps that are multiples of this (default 0: every checkpoint)")
    p.add_argument("--follow", action="store_true",
                   help="wait for checkpoints still to come, until the last run's last step is measured")
    p.add_argument("--frames", action="store_true",
                   help="also write each step's first and last frames, true and generated (step-N-frames.npz)")
    p.add_argument("--poll", type=float, default=60.0, help="seconds between looks for new checkpoints (--follow)")
    p.add_argument("--split", default="test")
    p.add_argument("--clips", type=int, default=32, help="clips, spread evenly over the split (default 32)")
    p.add_argument("--clip-frames", type=int, default=16, help="frames per clip, context included (default 16)")
    p.add_argument("--sampler", default="ddpm", help="sampler (default ddpm)")
    p.add_argument("--steps", type=int, default=50, help="sampler steps (default 50)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per clip (default 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--gripper-reader", default="auto",
                   help="arm data: a gripper reader's .safetensors, auto or none (as freeaction quality)")
    p.set_defaults(func=cmd_curve)
