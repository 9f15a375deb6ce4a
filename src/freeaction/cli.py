"""The ``freeaction`` command: builds the parser from :mod:`freeaction.commands` and runs the chosen command.

Each subcommand module has an ``add_parser(subparsers)`` function that registers its command(s)
and sets ``func`` on each parser; every handler parses its arguments and calls the API.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from freeaction.errors import FreeActionError
from freeaction.runtime import tune_cpu_allocator

# the subcommand modules, in the order ``freeaction --help`` lists their commands
SUBCOMMANDS = [
    "freeaction.commands.demo",
    "freeaction.commands.generate",
    "freeaction.commands.data",
    "freeaction.commands.train",
    "freeaction.commands.train_vae",
    "freeaction.commands.encode",
    "freeaction.commands.evaluate",
    "freeaction.commands.quality",
    "freeaction.commands.report",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``freeaction`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="freeaction",
        description="Action-conditioned robot video world models with FreeAction guidance.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``freeaction ARGV``; returns the exit status (2 on a FreeActionError, 130 when interrupted)."""
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
