"""Atomic writes, folder replacement, hashing and the folder lock of freeaction.files."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys

import pytest

from freeaction.errors import InputError
from freeaction.files import (
    TEMP_MARK,
    FolderLock,
    atomic_open,
    atomic_path,
    clean_temp_files,
    recover_dir,
    sha256_file,
    temp_path,
    write_bytes_atomic,
    write_dir_atomic,
    write_json_atomic,
    write_text_atomic,
)


class _Unserialisable:
    pass


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if TEMP_MARK in p.name]


def test_writes_replace_the_file_and_leave_nothing_behind(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_json_atomic(target, {"b": 1, "a": [1, 2]}, indent=1, sort_keys=True, newline=True)
    assert target.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=1, sort_keys=True) + "\n"
    write_text_atomic(target, "héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01" and not _leftovers(target.parent)


def test_a_serializer_failing_midway_leaves_the_old_file(tmp_path):
    target = tmp_path / "state.json"
    write_text_atomic(target, "old content")

    # json.dump streams: the first keys reach the temporary file before the failing value
    with pytest.raises(TypeError, match="_Unserialisable"), atomic_open(target, "w") as f:
        json.dump({"a": "x" * 10_000, "b": _Unserialisable()}, f)
    assert target.read_text() == "old content" and not _leftovers(tmp_path)

    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": 1, "b": _Unserialisable()})
    assert target.read_text() == "old content" and not _leftovers(tmp_path)

    # a writer that takes a path, killed after writing half the file
    def half_then_interrupted(path):
        path.write_bytes(b"new cont")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        half_then_interrupted(tmp)
    assert target.read_text() == "old content" and not _leftovers(tmp_path)


def test_temporary_names_are_unique_hidden_and_never_match_the_suffix(tmp_path):
    target = tmp_path / "rgb.mp4"
    names = {temp_path(target).name for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith(".rgb.mp4" + TEMP_MARK) and not name.endswith(".mp4")
    # two writes of the same file at once use different temporaries
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b and a.parent == b.parent == tmp_path
        a.write_bytes(b"first")
        b.write_bytes(b"second")
    assert target.read_bytes() == b"first" and not _leftovers(tmp_path)


def test_write_dir_atomic_replaces_whole_folders_and_recovers(tmp_path):
    final = tmp_path / "model"

    def write(content):
        def go(tmp):
            (tmp / "w.bin").write_bytes(content)
        return go

    write_dir_atomic(final, write(b"one"))
    write_dir_atomic(final, write(b"two"))
    assert (final / "w.bin").read_bytes() == b"two" and sorted(os.listdir(tmp_path)) == ["model"]

    def fail(tmp):
        (tmp / "w.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_dir_atomic(final, fail)
    assert (final / "w.bin").read_bytes() == b"two" and sorted(os.listdir(tmp_path)) == ["model"]
    # a crash between the two renames of a replacement: the old folder is aside, the new one absent
    os.rename(final, tmp_path / ".model.old-1-abc")
    (tmp_path / f".model{TEMP_MARK}1-abc").mkdir()
    recover_dir(final)
    assert (final / "w.bin").read_bytes() == b"two" and sorted(os.listdir(tmp_path)) == ["model"]


def test_clean_temp_files(tmp_path):
    (tmp_path / "keep.json").write_text("{}")
    (tmp_path / f".a.json{TEMP_MARK}1-x").write_text("{")
    (tmp_path / f".ckpt{TEMP_MARK}2-y").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f".b.mp4{TEMP_MARK}3-z").write_bytes(b"")
    assert clean_temp_files(tmp_path) == 2
    assert sorted(os.listdir(tmp_path)) == ["keep.json", "sub"]
    assert clean_temp_files(tmp_path, recursive=True) == 1 and not os.listdir(tmp_path / "sub")


def test_sha256_file(tmp_path):
    data = os.urandom(5 << 20)  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def hold_lock_in_child(folder, name: str, purpose: str) -> subprocess.Popen:
    """A child process that holds ``FolderLock(folder, name, purpose)`` until it is killed."""
    code = ("import time; from freeaction.files import FolderLock; "
            f"held = FolderLock({str(folder)!r}, {name!r}, {purpose!r}).__enter__(); print('held', flush=True); "
            "time.sleep(120)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_lock_refuses_a_second_holder_and_a_killed_holder_does_not_block(tmp_path):
    lock = FolderLock(tmp_path, ".job.lock", "make_dataset")
    with lock:
        assert lock.holder() == {"pid": os.getpid(), "host": socket.gethostname()}
        message = rf"another make_dataset run \(process {os.getpid()} .*{tmp_path}"
        with pytest.raises(InputError, match=message), FolderLock(tmp_path, ".job.lock", "make_dataset"):
            pass
    assert not (tmp_path / ".job.lock").exists()
    child = hold_lock_in_child(tmp_path, ".job.lock", "make_dataset")
    try:
        message = rf"another make_dataset run \(process {child.pid} on {socket.gethostname()}\) .*{tmp_path}"
        with pytest.raises(InputError, match=message), FolderLock(tmp_path, ".job.lock", "make_dataset"):
            pass
    finally:
        child.kill()  # SIGKILL: nothing of the child's runs; its OS lock ends with it
        child.wait()
    assert (tmp_path / ".job.lock").exists()  # the killed holder's file stays behind and blocks nothing
    with FolderLock(tmp_path, ".job.lock", "make_dataset") as again:
        assert again.holder()["pid"] == os.getpid()
    (tmp_path / ".job.lock").write_text("999999999")  # a dead process's pid file, as older versions wrote it
    with FolderLock(tmp_path, ".job.lock", "make_dataset") as again:
        assert again.holder()["pid"] == os.getpid()
    assert not (tmp_path / ".job.lock").exists()
