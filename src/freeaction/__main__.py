"""``python -m freeaction``: the ``freeaction`` command."""

import sys

from freeaction.cli import main

sys.exit(main())
