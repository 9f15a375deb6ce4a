"""Checks for a method's options: each value is validated once, when the object is built, and
the converted value is what is stored (a YAML ``scale: 1e-3``, which YAML 1.1 reads as a string,
becomes the float 0.001; a list of dims becomes a tuple)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from freeaction.config_values import real
from freeaction.errors import InputError, MethodError

MAX_SCALE = 100.0  # guidance weights far beyond any published setting (diffusers' CFG ~ 1-20)


def number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] with ``lo_open``), else MethodError:
    :func:`freeaction.config_values.real`, which also accepts numpy and torch scalars here."""
    if not isinstance(value, (bool, int, float, str)) and hasattr(value, "__float__"):
        value = float(value)
    try:
        return real(name, value, lo=lo, hi=hi, lo_open=lo_open)
    except InputError as exc:
        raise MethodError(str(exc)) from None


def window(name: str, value: Any) -> tuple[float, float]:
    """A (lo, hi) pair of fractions of T with 0 <= lo < hi <= 1."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise MethodError(f"{name} must be a pair [lo, hi] of fractions of T, got {value!r}")
    lo, hi = (number(f"{name}[{i}]", v, lo=0.0, hi=1.0) for i, v in enumerate(value))
    if not hi > lo:
        raise MethodError(f"{name} {value!r}: hi must be above lo")
    return lo, hi


def dims(name: str, value: Any) -> tuple[int, ...] | None:
    """None (every dimension) or distinct non-negative action dimensions, as a tuple."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise MethodError(f"{name} must be null (all dimensions) or a non-empty list of dimensions, got {value!r}")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0]
    if bad:
        raise MethodError(f"{name} must hold action dimensions (integers >= 0), got {list(value)!r}")
    if len(set(value)) != len(value):
        raise MethodError(f"{name} must not repeat a dimension, got {list(value)!r}")
    return tuple(int(v) for v in value)


def choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise MethodError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return str(value)


def within(name: str, value: tuple[int, ...] | None, action_dim: int) -> None:
    """Refuse dimensions that a ``action_dim``-D action does not have."""
    bad = [d for d in value or () if d >= action_dim]
    if bad:
        raise MethodError(f"{name} {list(value or ())}: dimension(s) {bad} out of range for {action_dim}-D actions")
