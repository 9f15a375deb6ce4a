"""Argument types and flag parsers shared by the ``freeaction`` subcommands."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from freeaction.errors import InputError


def size_arg(text: str) -> tuple[int, int]:
    """argparse type for a frame size written HxW (e.g. 64x96), shared by the subcommands."""
    try:
        h, w = (int(x) for x in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be HxW (e.g. 64x96), got {text!r}") from exc
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def parse_options(items: list[str]) -> dict[str, Any]:
    """``--option KEY=VALUE`` flags as a dict, each value read as YAML (``world=2``, ``blocks=[3,4]``)."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {item!r}: expected KEY=VALUE (e.g. world=2 or blocks=[3,4])")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InputError(f"--option {item!r}: the value is not valid YAML ({exc})") from exc
    return options
