"""Configuration: read a file (YAML, JSON or TOML) into a mapping, and the one idiom of the config dataclasses.

A config is a dataclass whose fields are made with :func:`option` (default and help stated once);
:func:`config_from_mapping` builds it from a file's mapping, refusing unknown keys by name;
:func:`parse_set` reads ``--set KEY=VALUE`` flags; :func:`option_help` gives a flag its help.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from freeaction.errors import InputError

MAX_CONFIG_VALUES = 100_000
"""The most values (mappings, lists and scalars, every alias expanded) a config may hold. YAML
aliases share one object, so a 1 kB "billion laughs" file loads instantly but expands to ~10^9
values in whatever walks it next; real configs hold a few hundred."""

C = TypeVar("C")


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


def option(default: Any = dataclasses.MISSING, *, help: str, factory: Callable[[], Any] | None = None) -> Any:
    """A field of a config dataclass with its default and its help stated once (``metadata["help"]``).

    ``factory`` makes a fresh default per instance (for lists and dicts), as ``dataclasses.field``'s
    ``default_factory``.
    """
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def option_help(config: type, name: str, default: bool = True) -> str:
    """The help of the config field ``name``, followed (``default=True``) by its default when it has
    one that is not None: the text of the flag that sets the field."""
    f = next(f for f in dataclasses.fields(config) if f.name == name)
    text = f.metadata.get("help", "")
    if default and f.default is not dataclasses.MISSING and f.default is not None:
        text = f"{text} (default {f.default})" if text else f"default {f.default}"
    return text


def config_from_mapping(
    config: type[C],
    values: Mapping[str, Any],
    *,
    origin: str,
    what: str = "option",
    internal: Collection[str] = (),
    **fixed: Any,
) -> C:
    """``config(**values, **fixed)`` for a config dataclass, refusing unknown keys by name.

    Keys may use ``-`` for ``_``; the fields named in ``internal`` are not options (a mapping may
    not set them; ``fixed`` may); a string given for a ``float`` field is read as a number (YAML 1.1
    reads ``1e-4`` without a dot as a string); a bad value raises :class:`InputError` naming
    ``origin`` (the file, or "options").
    """
    values = {str(k).replace("-", "_"): v for k, v in values.items()}
    fields = dataclasses.fields(config)
    known = {f.name for f in fields} - set(internal)
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"{origin}: unknown {what}(s) {unknown}; known: {sorted(known)}")
    for f in fields:
        value = values.get(f.name)
        if isinstance(value, str) and f.type in ("float", "float | None", float):
            try:
                values[f.name] = float(value)
            except ValueError as exc:
                raise InputError(f"{origin}: {f.name} must be a number, got {value!r}") from exc
    try:
        return config(**values, **fixed)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{origin}: {exc}") from exc


def parse_set(items: list[str] | None, nested: Collection[str] = ()) -> dict[str, Any]:
    """``--set KEY=VALUE`` flags as overrides, each value read as YAML.

    ``KEY`` may use ``-`` for ``_``; ``OUTER.INNER=VALUE`` sets one key of the mapping option
    ``OUTER`` when ``OUTER`` is in ``nested`` (e.g. ``model_options.depth=8``).
    """
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--set expects KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip().replace("-", "_")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"--set {key}: cannot parse value {text!r} ({exc})") from exc
        outer, dot, inner = key.partition(".")
        if dot and outer in nested:
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out
