"""``freeaction train``: train a world model on a dataset's pre-encoded latents.

Thin: turns flags into a :class:`freeaction.train.TrainConfig` and calls :func:`freeaction.train.train`.

Several processes (DDP through accelerate)::

    accelerate launch --multi_gpu --num_processes 2 -m freeaction.cli train DATASET --out RUN ...  (GPUs)
    torchrun --nproc_per_node 2 -m freeaction.cli train DATASET --out RUN ...  (CPU processes)
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.config_files import option_help
from freeaction.train.config import TrainConfig, load_config, parse_set

# -- train ----------------------------------------------------------------------------------------
# the TrainConfig fields given as plain flags (``--max-steps`` sets max_steps), typed, with the
# fields' own help; all default to None = "not given"
_TRAIN_FLAGS: list[tuple[str, type]] = [
    ("model", str),
    ("num_frames", int),
    ("stride", int),
    ("batch_size", int),
    ("max_steps", int),
    ("lr", float),
    ("weight_decay", float),
    ("warmup_steps", int),
    ("grad_clip", float),
    ("ema_decay", float),
    ("null_prob", float),
    ("min_snr_gamma", float),
    ("moving_weight", float),
    ("moving_threshold", float),
    ("seed", int),
    ("save_every", int),
    ("keep_checkpoints", int),
    ("log_every", int),
    ("action_check_every", int),
    ("action_check_clips", int),
    ("init_from", str),
    ("vae", str),
    ("device", str),
    ("num_workers", int),
    ("split", str),
    ("val_split", str),
]
_MODEL_FLAGS: list[tuple[str, type, str]] = [
    ("--hidden-size", int, "override the preset's hidden size"),
    ("--depth", int, "override the preset's number of blocks (even)"),
    ("--num-heads", int, "override the preset's attention heads"),
    ("--patch-size", int, "override the preset's patch size"),
    ("--condition", str, "frame (Frame-Ada, IRASim's main variant), video (Video-Ada) or trajectory (per-frame "
     "action + cumulative displacement; the shipped models' choice)"),
    ("--action-embedder", str, "mlp or linear (default: linear for 2-D actions, as IRASim)"),
]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """TrainConfig from the defaults, ``--config`` and the flags given (flags win)."""
    overrides: dict[str, Any] = {name: getattr(args, name) for name, _ in _TRAIN_FLAGS}
    overrides["dataset"], overrides["out"] = args.dataset, args.out
    overrides["ema_warmup"] = True if args.ema_warmup else None
    overrides["bf16"] = True if args.bf16 else None
    overrides["compile"] = True if args.compile else None
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
    p.add_argument("dataset", nargs="?", default=None, help=option_help(TrainConfig, "dataset", default=False))
    p.add_argument("--out", "-o", default=None, help=option_help(TrainConfig, "out", default=False))
    p.add_argument("--config", default=None, help="YAML or TOML file of training options")
    for name, typ in _TRAIN_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=None, help=option_help(TrainConfig, name))
    for flag, typ, text in _MODEL_FLAGS:
        p.add_argument(flag, type=typ, default=None, help=text)
    p.add_argument("--ema-warmup", action="store_true", help=option_help(TrainConfig, "ema_warmup", default=False))
    p.add_argument("--bf16", action="store_true", help=option_help(TrainConfig, "bf16", default=False))
    p.add_argument("--compile", action="store_true", help=option_help(TrainConfig, "compile", default=False))
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any training option, e.g. --set model_options.mlp_ratio=2 (repeatable)")
    p.add_argument("--resume-from", default=None, help="continue from this checkpoint folder")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
    p.add_argument("--allow-config-change", action="store_true",
                   help="resume although options that change the result differ from the saved ones")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
