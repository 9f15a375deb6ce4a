"""``python -m freeaction.eval COMMAND ...``: the freeaction CLI with the evaluation commands registered.

The same as ``freeaction COMMAND ...`` once ``freeaction.eval.commands`` and
``freeaction.report.commands`` are in :data:`freeaction.cli.SUBCOMMANDS`; usable before that,
and with ``accelerate launch -m freeaction.eval evaluate CONFIG``.
"""

from __future__ import annotations

import sys

from freeaction import cli

EVAL_SUBCOMMANDS = ["freeaction.eval.commands", "freeaction.report.commands"]


def main(argv: list[str] | None = None) -> int:
    for module in EVAL_SUBCOMMANDS:
        if module not in cli.SUBCOMMANDS:
            cli.SUBCOMMANDS.append(module)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
