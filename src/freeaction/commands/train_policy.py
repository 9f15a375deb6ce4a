"""``freeaction train-policy``: behaviour-clone a small CNN pusher policy from simulator demonstrations.

Thin: turns flags (and ``--set KEY=VALUE``) into a :class:`freeaction.policies.bc_train.BCTrainConfig`
and calls :func:`freeaction.policies.bc_train.train_bc`.
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.commands.args import size_arg
from freeaction.config_files import option_help, parse_set
from freeaction.policies.bc_train import BCTrainConfig, train_bc

# the BCTrainConfig fields given as plain flags (``--batch-size`` sets batch_size), typed, with the
# fields' own help; all default to None = "not given"
_FLAGS: list[tuple[str, Any]] = [
    ("episodes", int),
    ("teacher", str),
    ("world", int),
    ("task", str),
    ("horizon", int),
    ("chunk", int),
    ("size", size_arg),
    ("steps", int),
    ("batch_size", int),
    ("lr", float),
    ("seed", int),
]


def train_config_from_args(args: argparse.Namespace) -> BCTrainConfig:
    """BCTrainConfig from the defaults, the flags given and ``--set`` (which wins)."""
    given = {name: getattr(args, name) for name, _ in _FLAGS if getattr(args, name) is not None}
    values = {"out": args.out, "progress": not args.no_progress, **given, **parse_set(args.set)}
    return BCTrainConfig.from_dict(values)


def cmd_train_policy(args: argparse.Namespace) -> int:
    cfg = train_config_from_args(args)
    r = train_bc(cfg)
    print(f"{r['episodes']} demonstrations by {cfg.teacher} ({100 * r['demo_success']:.0f}% reached the goal), "
          f"{r['examples']} examples; loss {r['first_loss']:.4f} -> {r['loss']:.4f} in {r['seconds']:.0f} s")
    print(f"wrote {r['out']} ({r['parameters']} parameters); a policy-eval config names it by its path: "
          f"policies: [{{name: mine, factory: {r['out']}}}]")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``train-policy``."""
    p = sub.add_parser(
        "train-policy",
        help="behaviour-clone a small CNN pusher policy from simulator demonstrations",
        description="Play a teacher policy (default: the scripted expert) in the pusher simulator on demonstration "
        "scenes (seeds from 1000000, apart from policy-eval's), then fit a small CNN from the image and the task to "
        "the teacher's action chunks. Writes OUT/policy.json, OUT/policy.safetensors and OUT/log.jsonl.",
    )
    p.add_argument("--out", "-o", required=True, help=option_help(BCTrainConfig, "out", default=False))
    for name, typ in _FLAGS:
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=None, help=option_help(BCTrainConfig, name))
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any train-policy option, e.g. --set hidden=64 (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train_policy)
