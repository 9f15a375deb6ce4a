"""Resolve paths written inside dataset files, never letting them leave the dataset root.

Annotation files, LeRobot metadata and the like name other files by relative path. A path
that is absolute, climbs out with ``..``, or is a symlink whose target lies outside the
dataset root is refused with a :class:`~freeaction.errors.DataError` naming the file and
field that hold it; so is one that cannot be resolved (a symlink loop).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from freeaction.errors import DataError


def resolve_inside(root: Path, rel: str | Path, *, source: Path | str, field: str) -> Path:
    """``root / rel`` fully resolved (symlinks followed); DataError if it leaves ``root``.

    ``source`` (the file holding the path) and ``field`` (its key) go into the message.
    """
    if not isinstance(rel, (str, Path)) or str(rel) == "":
        raise DataError(f"{source}: field {field!r} must be a non-empty relative path, got {rel!r}")
    root_real = _resolved_root(str(root))
    try:
        candidate = (root_real / rel).resolve()
    except (RuntimeError, OSError) as exc:  # pathlib reports a symlink loop as RuntimeError
        raise DataError(
            f"{root_real / rel}: cannot be resolved, a symlink loop? ({exc}); named by {source}, field {field!r}"
        ) from exc
    if candidate != root_real and root_real not in candidate.parents:
        raise DataError(
            f"{source}: field {field!r} = {str(rel)!r} resolves to {candidate}, outside the dataset root "
            f"{root_real}; dataset paths must stay inside their root"
        )
    return candidate


@lru_cache(maxsize=64)
def _resolved_root(root: str) -> Path:
    try:
        return Path(root).resolve()
    except (RuntimeError, OSError) as exc:
        raise DataError(f"{root}: the dataset root cannot be resolved, a symlink loop? ({exc})") from exc


def check_not_dangling(path: Path) -> Path:
    """``path``, or DataError when it is a symlink that leads nowhere (broken, or a loop)."""
    if path.is_symlink() and not path.exists():
        raise DataError(f"{path}: a symlink that resolves to nothing (broken, or a symlink loop)")
    return path
