"""Read a configuration file (YAML, JSON or TOML) into a plain mapping, with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from freeaction.errors import InputError


def read_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML (``.yaml``/``.yml``/``.json``) or TOML (``.toml``) file; {} if empty."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot parse ({exc})") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of option: value, got {type(data).__name__}")
    return data
