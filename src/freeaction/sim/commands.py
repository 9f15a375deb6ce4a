"""``freeaction data make``: make a simulator dataset in IRASim's layout.

Registered in the ``data`` group (:mod:`freeaction.data.commands`), which knows nothing of the
simulators: data formats sit below the simulators that write them.
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.cli import size_arg, subcommand_group
from freeaction.errors import InputError


def cmd_make(args: argparse.Namespace) -> int:
    try:
        from freeaction.sim import make_dataset
    except ImportError as exc:
        raise InputError(f"the simulators are not available in this installation ({exc})") from exc
    kwargs: dict[str, Any] = {"episodes": args.episodes, "seed": args.seed, "workers": args.workers}
    if args.size is not None:
        kwargs["size"] = args.size
    result = make_dataset(args.kind, args.out, **kwargs)
    print(f"made {args.kind} dataset in {args.out}")
    if isinstance(result, dict):
        for key in ("episodes", "splits", "written", "skipped_existing"):
            if key in result:
                print(f"  {key}: {result[key]}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``make`` to the ``freeaction data`` group (registered before this)."""
    p = subcommand_group(subparsers, "data").add_parser("make", help="make a simulator dataset (IRASim layout)")
    p.add_argument("kind", help="simulator: pusher (2-D, Language-Table-like) or arm (7-D, RT-1/Bridge-like)")
    p.add_argument("out")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--size", type=size_arg, default=None, help="frame size HxW (default: the simulator's)")
    p.set_defaults(func=cmd_make)


__all__ = ["add_parser"]
