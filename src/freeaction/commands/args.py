"""Argument types and flag parsers shared by the ``freeaction`` subcommands."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from freeaction.errors import InputError


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for a frame size written HxW (e.g. 64x96), shared by the subcommands."""
    try:
        h, w = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW (e.g. 64x96), got {text!r}") from exc
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def parse_options(items: list[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` flags as a dict, each value read as YAML (``world=2``, ``blocks=[3,4]``)."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {item!r}: expected KEY=VALUE (e.g. world=2 or blocks=[3,4])")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError(f"--option {item!r}: the value is not valid YAML ({exc})") from exc
    return options


def add_quality_options(p: Any, *, clips: int, sampler: str | None, steps: int | None) -> None:
    """The options of a quality measurement (:func:`freeaction.eval.quality.quality_check`), shared by
    ``freeaction quality`` and ``freeaction curve``; ``sampler``/``steps`` None: the model's recommendation."""
    p.add_argument("--dataset", required=True, help="dataset root (IRASim layout, LeRobot or RLDS)")
    p.add_argument("--vae", default=None, help="diffusers AutoencoderKL folder (default: CHECKPOINT/vae)")
    p.add_argument("--split", default="test")
    p.add_argument("--clips", type=int, default=clips, help=f"clips, spread evenly over the split (default {clips})")
    p.add_argument("--clip-frames", type=int, default=16, help="frames per clip, context included (default 16)")
    p.add_argument("--sampler", default=sampler,
                   help=f"default {sampler}" if sampler else
                   "default: the model's recommended sampler (a shipped model's shipped.json), else ddim")
    p.add_argument("--steps", type=int, default=steps,
                   help=f"default {steps}" if steps else
                   "default: the recommended steps for that sampler, else 20 for ddim")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per clip, averaged (default 1)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--gripper-reader", default="auto",
                   help="arm data: a gripper reader's .safetensors, auto (DATASET/gripper_reader/, trained when "
                        "missing) or none (default auto)")


def quality_kwargs(args: Any) -> dict[str, Any]:
    """:func:`~freeaction.eval.quality.quality_check`'s keyword arguments from those options."""
    return dict(vae=args.vae, split=args.split, clips=args.clips, clip_frames=args.clip_frames, sampler=args.sampler,
                steps=args.steps, batch_size=args.batch_size, seed=args.seed, seeds=args.seeds, device=args.device,
                gripper_reader=None if args.gripper_reader == "none" else args.gripper_reader)
