"""The ``freeaction`` command: builds the parser from :mod:`freeaction.commands` and runs the chosen command.

Each subcommand module has an ``add_parser(subparsers)`` function that registers its command(s)
and sets ``func`` on each parser; every handler parses its arguments and calls the API.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from freeaction import __version__
from freeaction.errors import FreeActionError
from freeaction.runtime import tune_cpu_allocator

# the subcommand modules, in the order ``freeaction --help`` lists their commands
SUBCOMMANDS = [
    "freeaction.commands.demo",
    "freeaction.commands.generate",
    "freeaction.commands.data",
    "freeaction.commands.train",
    "freeaction.commands.train_vae",
    "freeaction.commands.train_policy",
    "freeaction.commands.encode",
    "freeaction.commands.evaluate",
    "freeaction.commands.quality",
    "freeaction.commands.curve",
    "freeaction.commands.report",
    "freeaction.commands.play",
    "freeaction.commands.policy_eval",
]


def os_error_message(exc: OSError) -> str:
    """One line for a filesystem error: the path(s) it concerns and what the system said."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and paths and os.path.isfile(paths[0]):
        reason += " (a file is where a folder is needed)"
    if exc.errno == errno.ENOSPC:
        reason += " (free some space and run the command again)"
    return f"{' -> '.join(paths)}: {reason}" if paths else f"{reason} ({type(exc).__name__})"


def build_parser() -> argparse.ArgumentParser:
    """The ``freeaction`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="freeaction",
        description="Action-conditioned robot video world models with FreeAction guidance.",
    )
    parser.add_argument("--version", action="version", version=f"freeaction {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``freeaction ARGV``; returns the exit status (2 on a FreeActionError, 130 when interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare `freeaction`: the overview, not an error
        parser.print_help()
        return 0
    tune_cpu_allocator()
    try:
        result = args.func(args)
    except FreeActionError as exc:
        print(f"freeaction {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the filesystem said no: an output path that is a file, read-only, a full disk
        print(f"freeaction {args.command}: error: {os_error_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"freeaction {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
