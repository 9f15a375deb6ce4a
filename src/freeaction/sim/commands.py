"""``freeaction data make``: make a simulator dataset in IRASim's layout.

Registered in the ``data`` group (:mod:`freeaction.data.commands`), which knows nothing of the
simulators: data formats sit below the simulators that write them.
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from freeaction.cli import size_arg, subcommand_group
from freeaction.data.irasim_layout import SPLITS
from freeaction.errors import InputError


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


def cmd_make(args: argparse.Namespace) -> int:
    try:
        from freeaction.sim import make_dataset
    except ImportError as exc:
        raise InputError(f"the simulators are not available in this installation ({exc})") from exc
    kwargs: dict[str, Any] = {"episodes": args.episodes, "seed": args.seed, "workers": args.workers}
    if args.size is not None:
        kwargs["size"] = args.size
    result = make_dataset(args.kind, args.out, **kwargs, **parse_options(args.option))
    print(f"made {args.kind} dataset in {args.out}")
    if isinstance(result, dict):
        for key in ("episodes", "splits", "written", "skipped_existing"):
            if key in result:
                print(f"  {key}: {result[key]}")
        empty = [s for s in SPLITS if not result.get("splits", {}).get(s)]
        if empty:
            print(f"  note: no {' or '.join(empty)} episode: with fewer than 3 episodes some split stays empty "
                  "(evaluate and quality read the test split); use --episodes 3 or more")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``make`` to the ``freeaction data`` group (registered before this)."""
    p = subcommand_group(subparsers, "data").add_parser("make", help="make a simulator dataset (IRASim layout)")
    p.add_argument("kind", help="simulator: pusher (2-D, Language-Table-like) or arm (7-D, RT-1/Bridge-like)")
    p.add_argument("out", help="dataset folder to make (or finish: a second run resumes)")
    p.add_argument("--episodes", type=int, default=100,
                   help="episodes to make (default 100), split 80/10/10 into train/val/test; with 3 or more "
                   "every split gets at least one")
    p.add_argument("--seed", type=int, default=0, help="dataset seed: episode i depends only on (seed, i) (default 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2; the bytes do not depend on it)")
    p.add_argument("--size", type=size_arg, default=None, help="frame size HxW (default 64x64)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a simulator option, repeatable (pusher: world=1|2, blocks=N or [MIN,MAX], frames=N or "
                   "[MIN,MAX]; arm: world=1|2, frames, behaviours, camera_jitter, supersample)")
    p.set_defaults(func=cmd_make)


__all__ = ["add_parser"]
