"""Reuse the evaluation tests' helpers and session fixtures (a finished tiny run)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))

from eval_helpers import eval_workspace, finished_run, idm_file  # noqa: E402, F401
