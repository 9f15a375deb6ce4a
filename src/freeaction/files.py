"""Atomic file and folder writes, file hashing and an exclusive folder lock, used everywhere.

A file is written to a temporary sibling with a unique name (``.{name}.tmp-{pid}-{random}``),
fsynced and moved into place with ``os.replace``; a folder is built under such a name and
renamed into place. So a reader sees the old content or the new, never a part, and a crash
(even ``kill -9``) leaves only hidden ``*.tmp-*`` entries, which :func:`clean_temp_files`
deletes. Temporary names never end in the target's suffix, so a glob for ``*.json`` or
``*.mp4`` never picks up a half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from freeaction.errors import InputError

TEMP_MARK = ".tmp-"
"""Every temporary file or folder made here has this in its name, after a leading dot."""

_OLD_MARK = ".old-"


# -- files ----------------------------------------------------------------------------------------
def temp_path(final: Path | str) -> Path:
    """A fresh, unique temporary path beside ``final`` (same folder, so ``os.replace`` is atomic)."""
    final = Path(final)
    return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fsync_file(path: Path | str) -> None:
    """Flush ``path``'s content to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(final: Path | str) -> Iterator[Path]:
    """A temporary path to write ``final``'s new content to, for writers that take a path.

    On leaving the block normally the file is fsynced and moved onto ``final``; on an exception
    (``KeyboardInterrupt`` included) it is deleted and ``final`` keeps its old content. The
    folder of ``final`` is created if missing.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(final: Path | str, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """An open temporary file (``mode`` ``"wb"`` or ``"w"``) that replaces ``final`` when the block ends.

    For writers that take a file object (``torch.save``, ``np.save``, PIL with ``format=``).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(final) as tmp, open(tmp, "x" + mode[1:], encoding=encoding) as f:
        yield f


def write_bytes_atomic(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path: Path | str, obj: Any, *, newline: bool = False, **dumps_options: Any) -> Path:
    """Write ``json.dumps(obj, **dumps_options)`` (plus ``"\\n"`` when ``newline``) to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, **dumps_options) + ("\n" if newline else ""))


# -- folders --------------------------------------------------------------------------------------
def fsync_tree(folder: Path | str) -> None:
    """fsync every file under ``folder`` and the folder itself (best effort on odd filesystems)."""
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fsync_file(path)
    with contextlib.suppress(OSError):
        fsync_file(folder)


def write_dir_atomic(final: Path | str, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_folder)`` on a new empty folder and move it to ``final`` in one rename.

    If ``final`` exists it is replaced: moved aside first, then the new folder is moved in,
    then the old one is deleted (a crash in between leaves ``.{name}.old-*``, which
    :func:`recover_dir` moves back). On an exception the temporary folder is deleted.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    tmp.mkdir()
    try:
        write(tmp)
        fsync_tree(tmp)
        if final.exists():
            old = final.with_name(f".{final.name}{_OLD_MARK}{tmp.name.rsplit(TEMP_MARK, 1)[1]}")
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def recover_dir(final: Path | str) -> None:
    """Undo a :func:`write_dir_atomic` replacement interrupted between its two renames; remove
    the temporaries of interrupted writes of ``final``."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    olds = sorted(final.parent.glob(f".{final.name}{_OLD_MARK}*"))
    if not final.exists() and olds:
        os.rename(olds[-1], final)
        olds = olds[:-1]
    for stale in [*olds, *final.parent.glob(f".{final.name}{TEMP_MARK}*")]:
        _remove(stale)


def clean_temp_files(folder: Path | str, *, recursive: bool = False) -> int:
    """Delete the temporary files and folders interrupted writes left in ``folder`` (and below it
    when ``recursive``); return how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    pattern = f".*{TEMP_MARK}*"
    found = list(folder.rglob(pattern) if recursive else folder.glob(pattern))
    for path in found:
        _remove(path)
    return len(found)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# -- hashing --------------------------------------------------------------------------------------
def update_hash(h: Any, path: Path | str, block: int = 1 << 22) -> None:
    """Feed the bytes of ``path`` into the hashlib object ``h``, ``block`` bytes at a time."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)


def sha256_file(path: Path | str) -> str:
    """The hex sha256 of the file at ``path``."""
    h = hashlib.sha256()
    update_hash(h, path)
    return h.hexdigest()


# -- an exclusive folder lock ---------------------------------------------------------------------
class FolderLock:
    """An exclusive lock file in ``folder``, so two runs never write into the same folder at once.

    ``with FolderLock(folder, ".make_dataset.lock", "make_dataset"):`` creates the lock file
    (``O_EXCL``) holding the process id and host, and deletes it on exit. A lock whose holder is
    gone (a process of this host that no longer exists, or an unreadable lock file) is stale and
    taken over; a live holder, or one on another host, makes entering raise
    :class:`~freeaction.errors.InputError` naming the folder and the holder.
    """

    def __init__(self, folder: Path | str, name: str = ".lock", purpose: str = "freeaction") -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.purpose = purpose

    def __enter__(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self.holder()
                if holder is not None and _alive(holder):
                    raise InputError(
                        f"another {self.purpose} run (process {holder['pid']} on {holder['host']}) is writing into "
                        f"{self.folder} (lock file {self.path}); wait for it, or delete the lock file if that run "
                        "is gone"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "purpose": self.purpose}))
            return self
        raise InputError(f"could not take the lock {self.path} of {self.folder}")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)

    def holder(self) -> dict[str, Any] | None:
        """``{"pid", "host"}`` of the lock's holder; None when there is no readable lock file.

        A file holding just a process id (as older locks did) counts as this host's.
        """
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        try:
            info = json.loads(text)
        except ValueError:
            return None
        if isinstance(info, int):
            return {"pid": info, "host": socket.gethostname()}
        if isinstance(info, dict) and isinstance(info.get("pid"), int):
            return {"pid": info["pid"], "host": str(info.get("host", socket.gethostname()))}
        return None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the lock holder may still run: true for another host (it cannot be checked from here)."""
    if holder["host"] != socket.gethostname():
        return True
    if holder["pid"] == os.getpid():
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
