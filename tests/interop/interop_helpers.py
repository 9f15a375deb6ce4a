"""Helpers of the interop tests: run the real lerobot and tensorflow-datasets in their own virtualenvs.

The libraries live in their own virtualenvs (they pin other torch / numpy versions than the test
environment), built by ``scripts/interop_venvs.sh`` into ``$FREEACTION_INTEROP_VENVS`` (default
``.venv-interop`` in the repository). The scripts beside this file run inside them via subprocess
and save what the library read as ``.npz``; the tests compare that with freeaction's reading.
A missing environment skips its tests with the command that builds it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUILD = "scripts/interop_venvs.sh"


def venvs_dir() -> Path:
    return Path(os.environ.get("FREEACTION_INTEROP_VENVS", REPO / ".venv-interop"))


def _interpreter(env: str) -> Path:
    python = venvs_dir() / env / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no {env} environment in {venvs_dir()}: build it with `{BUILD}` (or set FREEACTION_INTEROP_VENVS)")
    return python


def run_script(env: str, script: str, *args: str | Path, legacy_lerobot: bool = False, timeout: int = 900) -> None:
    """Run ``tests/interop/<script>`` with ``args`` in the ``env`` virtualenv; a failure shows its output.

    ``legacy_lerobot`` runs it on the lerobot environment's interpreter with lerobot 0.3 first on the path.
    """
    python = _interpreter(env)
    environ = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    environ.pop("PYTHONPATH", None)
    if legacy_lerobot:
        legacy = venvs_dir() / "lerobot-0.3"
        if not (legacy / "lerobot").is_dir():
            pytest.skip(f"no lerobot 0.3 packages in {legacy}: build them with `{BUILD}`")
        environ["PYTHONPATH"] = str(legacy)
    start = time.perf_counter()
    proc = subprocess.run(
        [str(python), str(HERE / script), *map(str, args)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        output = f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        pytest.fail(f"{script} in {env} failed (exit {proc.returncode}, {took:.0f} s):\n{output}")


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
