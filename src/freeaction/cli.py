"""The ``freeaction`` command. Thin: every subcommand parses arguments and calls the API.

Subcommands live next to the code they drive and register themselves here through an
``add_parser(subparsers)`` function that sets ``func`` on its parser; a package may add a
subcommand to another's group (``freeaction data make`` comes from the simulators) through
:func:`subcommand_group`.
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

# module path -> function that adds its subcommand(s) to the parser
SUBCOMMANDS = [
    "freeaction.commands.demo",
    "freeaction.commands.generate",
    "freeaction.commands.play",
    "freeaction.data.commands",
    "freeaction.sim.commands",  # adds ``data make`` to the ``data`` group
    "freeaction.train.commands",
    "freeaction.commands.evaluate",
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


def subcommand_group(subparsers: argparse._SubParsersAction, name: str) -> argparse._SubParsersAction:
    """The subcommands of the registered command ``name`` (e.g. ``data``), to add one to them."""
    parser = subparsers.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


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
