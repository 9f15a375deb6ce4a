"""``python -m freeaction.eval COMMAND ...`` = ``freeaction COMMAND ...``; handy for
``accelerate launch -m freeaction.eval evaluate CONFIG``."""

import sys

from freeaction.cli import main

if __name__ == "__main__":
    sys.exit(main())
