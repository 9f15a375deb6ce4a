"""The ``freeaction`` command itself: version, help, ``python -m freeaction``, help texts."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import freeaction
from freeaction.cli import build_parser, main

SRC = Path(freeaction.__file__).resolve().parents[1]


def _parsers(parser: argparse.ArgumentParser, name: str = "freeaction"):
    """Every (sub)command parser under ``parser``, with its command line."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"freeaction {freeaction.__version__}"


def test_bare_command_prints_help_not_an_error(capsys):
    assert main([]) == 0
    captured = capsys.readouterr()
    assert "usage: freeaction" in captured.out and "generate" in captured.out and not captured.err


def test_python_dash_m_freeaction_runs_the_command():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-m", "freeaction", "--version"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"freeaction {freeaction.__version__}"


def test_help_texts_cite_no_internal_tracker():
    for name, parser in _parsers(build_parser()):
        text = parser.format_help()
        assert not re.search(r"\bissue\s*#?\d", text, re.IGNORECASE), f"`{name} --help` cites an issue"
        assert "SPEC" not in text, f"`{name} --help` cites the internal specification"


def test_help_names_what_a_new_user_needs():
    helps = {name: parser.format_help() for name, parser in _parsers(build_parser())}
    assert "trajectory" in helps["freeaction train"]
    make = " ".join(helps["freeaction data make"].split())
    assert "(default 100)" in make and "(default 64x64)" in make and "out dataset folder" in make
    generate = " ".join(helps["freeaction generate"].split())
    assert "--no-progress" in generate and "metres per step" in generate
