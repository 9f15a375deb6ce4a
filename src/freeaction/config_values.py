"""Check and convert one option value read from a config file or a flag.

Each function returns the converted value (so the caller stores a real ``int``/``float``/``bool``,
never the raw text) or raises :class:`~freeaction.errors.InputError` naming the option. YAML 1.1
reads ``1e-4`` and ``1e3`` as strings, so numeric text is accepted and converted; NaN and Inf
are refused (they pass every ``<``/``>`` comparison unnoticed).
"""

from __future__ import annotations

import math
from typing import Any

from freeaction.errors import InputError


def whole(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int in [lo, hi]: an int, an integral float (``1e3``) or such text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    try:
        number = int(value) if isinstance(value, int) else float(value)
    except ValueError:
        raise InputError(f"{name} must be a whole number, got {value!r}") from None
    if isinstance(number, float):
        if not number.is_integer():
            raise InputError(f"{name} must be a whole number, got {value!r}")
        number = int(number)
    _check_range(name, number, lo, hi, value)
    return number


def real(
    name: str, value: Any, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False
) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {value!r}")
    if lo_open and lo is not None and number <= lo:
        raise InputError(f"{name} must be > {lo:g}, got {value!r}")
    _check_range(name, number, lo, hi, value)
    return number


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool: only true/false (YAML's yes/no arrive as bools already)."""
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, got {value!r}")
    return value


def text(name: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` as a string (None passes when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {value!r}")
    return value


def _check_range(name: str, number: float, lo: float | None, hi: float | None, raw: Any) -> None:
    if lo is not None and number < lo:
        raise InputError(f"{name} must be >= {lo:g}, got {raw!r}")
    if hi is not None and number > hi:
        raise InputError(f"{name} must be <= {hi:g}, got {raw!r}")
