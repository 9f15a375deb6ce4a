"""The ``freeaction`` command's error boundary: filesystem errors are one line naming the path."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from PIL import Image

from freeaction import save_model
from freeaction.cli import main
from tiny_vae import make_vae


def run(*args) -> int:
    return main([str(a) for a in args])


def one_line_error(capsys, *args, naming) -> str:
    """The one ``error:`` line (progress bars may share stderr) of a run that must fail with status 1."""
    assert run(*args) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert "Traceback" not in err and len(lines) == 1, err
    assert str(naming) in lines[0], err
    return lines[0]


@pytest.fixture
def generate_args(tmp_path, tiny_model):
    folder = save_model(tiny_model, tmp_path / "ckpt")
    make_vae(folder / "vae", width=8)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "first.png")
    np.save(tmp_path / "acts.npy", np.zeros((3, 2), np.float32))
    return ["generate", "--checkpoint", folder, "--image", tmp_path / "first.png", "--actions", tmp_path / "acts.npy",
            "--steps", "1", "--sampler", "ddim"]


def test_output_inside_an_existing_file(tmp_path, capsys, generate_args):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    err = one_line_error(capsys, *generate_args, "--out", blocker / "v.mp4", naming=blocker)
    assert "a file is where a folder is needed" in err
    one_line_error(capsys, "data", "make", "pusher", blocker / "data", "--episodes", "1", "--workers", "1",
                   naming=blocker)


def test_a_data_folder_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    one_line_error(capsys, "data", "make", "pusher", blocker, "--episodes", "1", "--workers", "1", naming=blocker)


def test_generate_out_that_is_a_folder_is_named(tmp_path, capsys, generate_args):
    assert run(*generate_args, "--out", tmp_path) == 2
    assert f"--out {tmp_path} is a folder" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(tmp_path, capsys, generate_args):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_line_error(capsys, *generate_args, "--out", locked / "v.mp4", naming=locked)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/out/locked/v.mp4"),
         "/out/locked/v.mp4: Permission denied"),
        (OSError(errno.ENOSPC, "No space left on device", "/out/v.mp4"),
         "/out/v.mp4: No space left on device (free some space"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device (free some space"),
    ],
)
def test_filesystem_errors_anywhere_are_one_line(tmp_path, capsys, generate_args, monkeypatch, error, expected):
    from freeaction.media import VideoWriter

    def refuse(self, frames):
        raise error

    monkeypatch.setattr(VideoWriter, "write", refuse)
    err = one_line_error(capsys, *generate_args, "--out", tmp_path / "v.mp4", naming=expected)
    assert "freeaction generate: error: " in err
    assert not (tmp_path / "v.mp4").exists()
