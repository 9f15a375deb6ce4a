"""``freeaction train``: train a world model on a dataset's pre-encoded latents.

Thin: turns flags into a :class:`freeaction.train.TrainConfig` and calls :func:`freeaction.train.train`.

Several processes (DDP through accelerate)::

    accelerate launch --multi_gpu --num_processes 2 -m freeaction.cli train DATASET --out RUN ...  (GPUs)
    torchrun --nproc_per_node 2 -m freeaction.cli train DATASET --out RUN ...  (CPU processes)
"""

from __future__ import annotations

import argparse
from typing import Any

# -- train ----------------------------------------------------------------------------------------
# flag -> TrainConfig field, for the options given as plain flags (all default to None = "not given")
_TRAIN_FLAGS: list[tuple[str, type, str]] = [
    ("--model", str, "size preset (tiny, small, IRASim-S/2, ...; default small)"),
    ("--num-frames", int, "window length = the model's num_frames (IRASim: 16)"),
    ("--stride", int, "window start interval in the training split (default 1)"),
    ("--batch-size", int, "clips per process and step (default 8)"),
    ("--max-steps", int, "train until this step (default 10000)"),
    ("--lr", float, "AdamW learning rate (IRASim: 1e-4)"),
    ("--weight-decay", float, "AdamW weight decay (IRASim: 0)"),
    ("--warmup-steps", int, "linear learning-rate warm-up steps (default 0)"),
    ("--grad-clip", float, "gradient-norm clipping, 0 = off (IRASim: 0.1)"),
    ("--ema-decay", float, "EMA decay (IRASim: 0.9999; small, short runs want ~0.999 with --ema-warmup)"),
    ("--null-prob", float, "probability of the null condition per sample (IRASim: 0.1)"),
    ("--min-snr-gamma", float, "Min-SNR-gamma loss weighting (off by default; e.g. 5)"),
    ("--moving-weight", float, "loss weight of latent cells that move (1 = off; e.g. 5)"),
    ("--moving-threshold", float, "mean |z_k - z_k-1| over channels above which a cell moves (default 0.1)"),
    ("--seed", int, "seed of the initialisation, data order and noise (default 0)"),
    ("--save-every", int, "checkpoint interval in steps (default 1000)"),
    ("--keep-checkpoints", int, "checkpoints kept (default 3)"),
    ("--log-every", int, "loss log interval in steps (default 10)"),
    ("--action-check-every", int, "interval of the true-vs-shuffled-actions check, 0 = off (default 500)"),
    ("--action-check-clips", int, "validation clips in that check (default 16)"),
    ("--init-from", str, "start from these weights (a freeaction or IRASim checkpoint)"),
    ("--vae", str, "VAE folder to ship next to the model (default: the one `freeaction encode` recorded)"),
    ("--device", str, "auto, cpu or cuda (default auto)"),
    ("--num-workers", int, "DataLoader worker processes (default 0)"),
    ("--split", str, "training split (default train)"),
    ("--val-split", str, "split of the action-use check (default val, else the training split)"),
]
_MODEL_FLAGS: list[tuple[str, type, str]] = [
    ("--hidden-size", int, "override the preset's hidden size"),
    ("--depth", int, "override the preset's number of blocks (even)"),
    ("--num-heads", int, "override the preset's attention heads"),
    ("--patch-size", int, "override the preset's patch size"),
    ("--condition", str, "frame (Frame-Ada, IRASim's main variant) or video (Video-Ada)"),
    ("--action-embedder", str, "mlp or linear (default: linear for 2-D actions, as IRASim)"),
]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def train_config_from_args(args: argparse.Namespace) -> Any:
    """TrainConfig from the defaults, ``--config`` and the flags given (flags win)."""
    from freeaction.train.config import load_config, parse_set

    overrides: dict[str, Any] = {_dest(f): getattr(args, _dest(f)) for f, _, _ in _TRAIN_FLAGS}
    overrides["dataset"], overrides["out"] = args.dataset, args.out
    overrides["ema_warmup"] = True if args.ema_warmup else None
    overrides["bf16"] = True if args.bf16 else None
    overrides["progress"] = False if args.no_progress else None
    model_options = {_dest(f): getattr(args, _dest(f)) for f, _, _ in _MODEL_FLAGS}
    overrides["model_options"] = {k: v for k, v in model_options.items() if v is not None} or None
    extra = parse_set(args.set)
    if "model_options" in extra and overrides["model_options"]:
        extra["model_options"] = {**extra["model_options"], **overrides["model_options"]}
    return load_config(args.config, **{**overrides, **{k: v for k, v in extra.items()}})


def cmd_train(args: argparse.Namespace) -> int:
    from freeaction.train import train

    cfg = train_config_from_args(args)
    resume: bool | str = args.resume_from or ("auto" if not args.no_resume else False)
    summary = train(cfg, resume=resume, allow_config_change=args.allow_config_change)
    if "model" not in summary:  # not the main process
        return 0
    print(f"trained to step {summary['step']} ({summary['world_size']} process(es), resumed from "
          f"{summary['resumed_from']})")
    if "loss" in summary:
        print(f"loss {summary['loss']:.4f}, {summary.get('samples_per_s', float('nan')):.1f} samples/s")
    if "action_ratio" in summary:
        print(f"action use: val loss {summary['val_loss']:.4f} with true actions, {summary['val_loss_shuffled']:.4f} "
              f"shuffled (ratio {summary['action_ratio']:.3f}; 1.0 = actions ignored)")
    print(f"model: {summary['model']} (mu_act {summary['mu_act']:.4f})")
    print(f"loss curve: {summary['plot']}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``train``."""
    p = sub.add_parser(
        "train",
        help="train a world model on pre-encoded latents (IRASim's recipe by default)",
        description="Train an action-conditioned video DiT on a dataset's pre-encoded latents. Defaults are IRASim's "
        "recipe; a --config YAML/TOML file and flags override them (flags win). Resumes from the newest checkpoint "
        "in --out. Multi-process: accelerate launch --multi_gpu --num_processes N -m freeaction.cli train ... "
        "(GPUs) or torchrun --nproc_per_node N -m freeaction.cli train ... (CPU processes)",
    )
    p.add_argument("dataset", nargs="?", default=None, help="IRASim-layout dataset with latent_videos/")
    p.add_argument("--out", "-o", default=None, help="run folder (checkpoints, log, loss curve, final model)")
    p.add_argument("--config", default=None, help="YAML or TOML file of training options")
    for flag, typ, text in _TRAIN_FLAGS + _MODEL_FLAGS:
        p.add_argument(flag, type=typ, default=None, help=text)
    p.add_argument("--ema-warmup", action="store_true", help="ramp the EMA decay up as (1+n)/(10+n)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the model's forward pass")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any training option, e.g. --set model_options.mlp_ratio=2 (repeatable)")
    p.add_argument("--resume-from", default=None, help="continue from this checkpoint folder")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
    p.add_argument("--allow-config-change", action="store_true",
                   help="resume although options that change the result differ from the saved ones")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
