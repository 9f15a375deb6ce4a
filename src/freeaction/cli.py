"""The ``freeaction`` command. Thin: every subcommand parses arguments and calls the API.

Subcommands live next to the code they drive and register themselves here through an
``add_parser(subparsers)`` function that sets ``func`` on its parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from freeaction.errors import FreeActionError
from freeaction.runtime import tune_cpu_allocator

# module path -> function that adds its subcommand(s) to the parser
SUBCOMMANDS = [
    "freeaction.commands.demo",
    "freeaction.commands.generate",
    "freeaction.data.commands",
    "freeaction.train.commands",
    "freeaction.eval.commands",
    "freeaction.eval.quality",
    "freeaction.report.commands",
    "freeaction.commands.policy_eval",
]


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for a frame size written HxW (e.g. 64x96), shared by the subcommands."""
    try:
        h, w = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW (e.g. 64x96), got {text!r}") from exc
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="freeaction",
        description="Action-conditioned robot video world models with FreeAction guidance.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    tune_cpu_allocator()
    try:
        result = args.func(args)
    except FreeActionError as exc:
        print(f"freeaction {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"freeaction {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
