"""``freeaction encode``: pre-encode a dataset's videos into latent_videos/ with a VAE.

Thin: checks the flags and calls :func:`freeaction.vae.encode_dataset.encode_dataset`.
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.commands.args import size_arg
from freeaction.errors import InputError


def cmd_encode(args: argparse.Namespace) -> int:
    from freeaction.vae.encode_dataset import encode_dataset

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    s = encode_dataset(args.dataset, args.vae, args.splits, batch_size=args.batch_size, size=args.size,
                       camera=args.camera, overwrite=args.overwrite, device=args.device, progress=not args.no_progress)
    for split, c in s["splits"].items():
        print(f"  {split:6s} encoded {c['encoded']:6d} episodes, skipped {c['skipped']} already encoded")
    shape = "x".join(map(str, s["latent_shape"])) if s["latent_shape"] else "-"
    print(f"latents {shape} (scaling factor {s['scaling_factor']:.5f}); {s['frames']} frames in {s['seconds']:.1f} s "
          f"({s['frames_per_second']:.0f} frames/s)")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``encode``."""
    p = sub.add_parser(
        "encode",
        help="pre-encode a dataset's videos into latent_videos/ with a VAE",
        description="Encode every episode's frames with a diffusers AutoencoderKL and write IRASim's "
        "latent_videos/{split}/{episode_id}/0.pt (scaled latents), atomically; episodes already encoded are skipped.",
    )
    p.add_argument("dataset", help="IRASim-layout dataset")
    p.add_argument("--vae", required=True, help="local AutoencoderKL folder (train-vae output or the SDXL VAE)")
    p.add_argument("--splits", nargs="+", default=None, help="splits to encode (default: all)")
    p.add_argument("--batch-size", type=int, default=32, help="frames per VAE call (default 32)")
    p.add_argument("--size", type=size_arg, default=None, help="resize frames to HxW before encoding")
    p.add_argument("--camera", type=int, default=0, help="camera index for RT-1/Bridge annotations")
    p.add_argument("--overwrite", action="store_true", help="re-encode episodes that already have latents")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_encode)
