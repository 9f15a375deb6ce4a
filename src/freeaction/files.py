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

from filelock import FileLock, Timeout

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
def try_lock(path: Path | str, busy: str) -> FileLock:
    """Hold the OS lock (``flock``, through ``filelock``) on ``path`` (created if absent) or raise
    :class:`~freeaction.errors.InputError` with the message ``busy`` at once. The lock is released
    by ``.release()`` or when the process ends, however it ends, so a killed run leaves no lock
    that blocks the next one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InputError(busy) from None
    return lock


def is_locked(path: Path | str) -> bool:
    """Whether another holder has the lock on ``path`` now."""
    probe = FileLock(path, timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


class FolderLock:
    """An exclusive lock on ``folder``, so two runs never write into the same folder at once.

    ``with FolderLock(folder, ".make_dataset.lock", "make_dataset"):`` takes the OS lock on that
    file (:func:`try_lock`) and writes the holder's process id and host into it for messages;
    leaving the block releases the lock and deletes the file. Entering while another process
    holds the lock raises :class:`~freeaction.errors.InputError` naming the folder and the
    holder; a lock file left by a killed run (or an older version's pid file) is not held by
    anyone and is simply taken over.
    """

    def __init__(self, folder: Path | str, name: str = ".lock", purpose: str = "freeaction") -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.purpose = purpose
        self._lock: FileLock | None = None

    def __enter__(self) -> FolderLock:
        holder = self.holder()
        who = f" (process {holder['pid']} on {holder['host']})" if holder else ""
        busy = (f"another {self.purpose} run{who} is writing into {self.folder} (lock file {self.path}); "
                "wait for it or stop it")
        for _ in range(3):
            lock = try_lock(self.path, busy)
            if self.path.exists():
                self._lock = lock
                break
            lock.release()  # we locked a file its previous holder had just deleted: lock the new one
        else:
            raise InputError(f"could not take the lock {self.path} of {self.folder}")
        self.path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "purpose": self.purpose}),
                             encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            # delete while still holding it: whoever locks the old file after us finds its path gone
            # and locks a new one (__enter__), instead of a deleted file nobody else can see
            self.path.unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def holder(self) -> dict[str, Any] | None:
        """``{"pid", "host"}`` written by the lock's latest holder; None when there is none to read.

        A file holding just a process id (as older versions wrote) counts as this host's.
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
