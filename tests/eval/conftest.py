"""The helpers next to this file are imported by name; their session fixtures are registered here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_helpers import eval_workspace, finished_run, idm_file  # noqa: E402, F401
