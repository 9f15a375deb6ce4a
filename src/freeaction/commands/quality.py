"""``freeaction quality CHECKPOINT --dataset DATASET``: the quality bar of a trained world model
(:mod:`freeaction.eval.quality`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freeaction.eval import quality
from freeaction.eval.quality import format_quality, quality_check


def cmd_quality(args: argparse.Namespace) -> int:
    result = quality_check(
        args.checkpoint, args.dataset, vae=args.vae, split=args.split, clips=args.clips, clip_frames=args.clip_frames,
        sampler=args.sampler, steps=args.steps, batch_size=args.batch_size, seed=args.seed, seeds=args.seeds,
        device=args.device, gripper_reader=None if args.gripper_reader == "none" else args.gripper_reader,
        frames_out=args.frames,
    )
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
    p.add_argument("--dataset", required=True, help="dataset root (IRASim layout, LeRobot or RLDS)")
    p.add_argument("--vae", default=None, help="diffusers AutoencoderKL folder (default: CHECKPOINT/vae)")
    p.add_argument("--split", default="test")
    p.add_argument("--clips", type=int, default=64, help="clips, spread evenly over the split (default 64)")
    p.add_argument("--clip-frames", type=int, default=16, help="frames per clip, context included (default 16)")
    p.add_argument("--sampler", default=None,
                   help="default: the model's recommended sampler (a shipped model's shipped.json), else ddim")
    p.add_argument("--steps", type=int, default=None,
                   help="default: the recommended steps for that sampler, else 20 for ddim")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per clip, averaged (default 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--gripper-reader", default="auto",
                   help="arm data: a gripper reader's .safetensors, auto (DATASET/gripper_reader/, trained when "
                        "missing) or none (default auto)")
    p.add_argument("--out", help="write the figures (and per-clip rows) to this JSON file")
    p.add_argument("--frames", default=None,
                   help="also write every generated clip's first and last frame, with the true ones, to this .npz")
    p.add_argument("--strict", action="store_true", help="exit 1 when the bar is not met")
    p.set_defaults(func=cmd_quality)
