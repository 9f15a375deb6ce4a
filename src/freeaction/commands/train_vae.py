"""``freeaction train-vae``: train a small AutoencoderKL on a dataset's frames.

Thin: turns flags (and ``--set KEY=VALUE``) into a :class:`freeaction.vae.train.VAETrainConfig`
and calls :func:`freeaction.vae.train.train_vae`.
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.commands.args import size_arg
from freeaction.config_files import option_help, parse_set
from freeaction.vae.train import VAETrainConfig, train_vae

# the VAETrainConfig fields given as plain flags (``--kl-weight`` sets kl_weight), typed, with the
# fields' own help; all default to None = "not given"
_FLAGS: list[tuple[str, Any]] = [
    ("preset", str),
    ("latent_channels", int),
    ("init_from", str),
    ("steps", int),
    ("batch_size", int),
    ("lr", float),
    ("warmup_steps", int),
    ("kl_weight", float),
    ("l1_weight", float),
    ("mse_weight", float),
    ("edge_weight", float),
    ("focus_weight", float),
    ("size", size_arg),
    ("crop", int),
    ("max_frames", int),
    ("val_frames", int),
    ("save_every", int),
    ("seed", int),
    ("split", str),
    ("val_split", str),
    ("device", str),
]


def vae_config_from_args(args: argparse.Namespace) -> VAETrainConfig:
    """VAETrainConfig from the defaults, the flags given and ``--set`` (which wins); the held-out
    evaluation runs at every checkpoint unless ``--set eval_every=N`` says otherwise."""
    given = {name: getattr(args, name) for name, _ in _FLAGS if getattr(args, name) is not None}
    extra = parse_set(args.set)
    values = {"dataset": args.dataset, "out": args.out, "progress": not args.no_progress, **given, **extra}
    values.setdefault("eval_every", values.get("save_every", VAETrainConfig.save_every))
    return VAETrainConfig.from_dict(values)


def cmd_train_vae(args: argparse.Namespace) -> int:
    cfg = vae_config_from_args(args)
    r = train_vae(cfg, resume=not args.no_resume)
    print(f"VAE {r['preset']} at step {r['step']}: latents {'x'.join(map(str, r['latent_shape']))}, "
          f"scaling factor {r['scaling_factor']:.5f}")
    print(f"held-out PSNR {r['psnr']:.2f} dB over all pixels, {r['psnr_objects']:.2f} dB over object pixels "
          f"({100 * r['object_fraction']:.1f}% of pixels), worst frame {r['psnr_frame_min']:.2f} dB "
          f"({r['frames']} frames)")
    print(f"wrote {r['vae']} (diffusers AutoencoderKL) and {r['grid']}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``train-vae``."""
    p = sub.add_parser(
        "train-vae",
        help="train a small AutoencoderKL on a dataset's frames",
        description="Train a small diffusers AutoencoderKL on the frames of an IRASim-layout dataset. Writes OUT/vae "
        "(diffusers folder, scaling factor = 1/std of the latents), OUT/recon.png, OUT/metrics.json; resumes "
        "from OUT/train_state.",
    )
    p.add_argument("dataset", help=option_help(VAETrainConfig, "dataset", default=False))
    p.add_argument("--out", "-o", required=True, help=option_help(VAETrainConfig, "out", default=False))
    for name, typ in _FLAGS:
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=None, help=option_help(VAETrainConfig, name))
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any train-vae option, e.g. --set min_lr_ratio=0.05 (repeatable)")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train_vae)
