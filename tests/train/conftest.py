"""The helpers module next to this file is imported by name (works with --import-mode=importlib too)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
