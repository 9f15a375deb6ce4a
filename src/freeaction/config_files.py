"""Read a configuration file (YAML, JSON or TOML) into a plain mapping, with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from freeaction.errors import InputError

MAX_CONFIG_VALUES = 100_000
"""The most values (mappings, lists and scalars, every alias expanded) a config may hold. YAML
aliases share one object, so a 1 kB "billion laughs" file loads instantly but expands to ~10^9
values in whatever walks it next; real configs hold a few hundred."""


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
    if expanded_size(data, MAX_CONFIG_VALUES) > MAX_CONFIG_VALUES:
        raise InputError(
            f"{path}: expands to more than {MAX_CONFIG_VALUES} values (YAML aliases repeat what they "
            "point to); write the config out without nested aliases"
        )
    return data


def expanded_size(data: Any, limit: int) -> int:
    """How many values ``data`` holds with every shared (aliased) object counted each time it
    appears; stops counting past ``limit`` (so a self-referencing structure ends too)."""
    count, stack = 0, [data]
    while stack and count <= limit:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return count
