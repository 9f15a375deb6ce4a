"""``freeaction sweep``: the paper's ablations and the open questions as methods for the same runner.

Each axis changes one thing of the base FreeAction method (guidance ``freeaction``, lambda 1,
cutoff T/2; truncation ``action_scaled`` with (tau_min, tau_max) = (0.5, 1.5)) and names the
variant ``<axis>=<value>``. A variant identical to the base is not run twice: the base method
(named ``freeaction``) stands for it on that axis. The config's own ``methods`` (at least the
baseline) are kept. Axes:

=================== ==========================================================================
``cutoff``           guidance only while t > c*T, c in T/4, T/2, 3T/4, and 0 (the full range)
``truncation_bounds`` (tau_min, tau_max) in (0.3, 1.0), (0.5, 1.5), (0.8, 2.0)
``lambda``           0.1, 0.25, 0.5, 1, 2, 4
``magnitude``        m(a) = ``l2`` (whole chunk) or ``mean_step`` (mean per-step norm), for both
                     the guidance weight and tau (mu_act is taken for the same definition)
``negative_branch``  ``negated`` (-a) or ``null`` (the learned null condition), same w(a, t)
``gripper_negation`` 7-DoF only: negate all dims, or only the deltas 0..5 (keep the gripper)
``guidance_window``  ``early`` (0.5, 1] (the paper's) vs ``late`` (0, 0.5]
``tau_mode``         ``action_scaled`` tau(a) vs ``fixed`` tau = (tau_min + tau_max) / 2
=================== ==========================================================================

Config (under ``sweep:`` in the evaluation config)::

    sweep:
      axes: [cutoff, lambda, negative_branch]   # default: all
      lambdas: [0.1, 0.5, 1.0]                  # optional overrides of an axis's values
      cutoffs: [0.25, 0.5]
      truncation_bounds: [[0.3, 1.0], [0.8, 2.0]]
      base: {guidance: {...}, truncation: {...}}  # optional: another base method
"""

from __future__ import annotations

import dataclasses
from typing import Any

from freeaction.errors import InputError
from freeaction.method import STANDARD_METHODS, ActionScaledTruncation, FixedTruncation, Method

BASE_NAME = "freeaction"
AXES = (
    "cutoff",
    "truncation_bounds",
    "lambda",
    "magnitude",
    "negative_branch",
    "gripper_negation",
    "guidance_window",
    "tau_mode",
)
DEFAULT_VALUES: dict[str, list[Any]] = {
    "cutoffs": [0.25, 0.5, 0.75, 0.0],
    "truncation_bounds": [[0.3, 1.0], [0.5, 1.5], [0.8, 2.0]],
    "lambdas": [0.1, 0.25, 0.5, 1.0, 2.0, 4.0],
}
SWEEP_KEYS = {"axes", "base", *DEFAULT_VALUES}


def _variant(base: Method, axis: str, value: Any) -> Method:
    """The base method with ``axis`` set to ``value`` (options checked as any method's are)."""
    g, t, replace = base.guidance, base.truncation, dataclasses.replace
    if axis == "cutoff":
        g = replace(g, window=(float(value), 1.0))
    elif axis == "truncation_bounds":
        t = replace(t, tau_min=float(value[0]), tau_max=float(value[1]))
    elif axis == "lambda":
        g = replace(g, scale=float(value))
    elif axis == "magnitude":
        g = replace(g, magnitude=value)
        if isinstance(t, ActionScaledTruncation):
            t = replace(t, magnitude=value)
    elif axis == "negative_branch":
        g = replace(g, negative=value, negate_dims=None) if value == "null" else replace(g, negative=value)
    elif axis == "gripper_negation":
        g = replace(g, negate_dims=(0, 1, 2, 3, 4, 5) if value == "deltas" else None)
    elif axis == "guidance_window":
        g = replace(g, window=(0.5, 1.0) if value == "early" else (0.0, 0.5))
    elif axis == "tau_mode" and value == "fixed":
        lo, hi = getattr(t, "tau_min", 0.5), getattr(t, "tau_max", 1.5)
        t = FixedTruncation(tau=(lo + hi) / 2)
    return replace(base, guidance=g, truncation=t)


def axis_values(axis: str, sweep: dict[str, Any]) -> list[Any]:
    if axis == "cutoff":
        return list(sweep.get("cutoffs", DEFAULT_VALUES["cutoffs"]))
    if axis == "truncation_bounds":
        return [list(v) for v in sweep.get("truncation_bounds", DEFAULT_VALUES["truncation_bounds"])]
    if axis == "lambda":
        return list(sweep.get("lambdas", DEFAULT_VALUES["lambdas"]))
    return {
        "magnitude": ["l2", "mean_step"],
        "negative_branch": ["negated", "null"],
        "gripper_negation": ["all", "deltas"],
        "guidance_window": ["early", "late"],
        "tau_mode": ["action_scaled", "fixed"],
    }[axis]


def _label(axis: str, value: Any) -> str:
    if axis == "truncation_bounds":
        return f"{value[0]:g}-{value[1]:g}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def expand_sweep(
    sweep: dict[str, Any], methods: list[Any], action_dim: int, source: str = "sweep"
) -> tuple[list[Any], dict[str, Any], list[str]]:
    """(methods to run, axis -> [{"value", "label", "method"}], notes on skipped axes)."""
    unknown = sorted(set(sweep) - SWEEP_KEYS)
    if unknown:
        raise InputError(f"{source}: unknown sweep option(s) {unknown}; known: {sorted(SWEEP_KEYS)}")
    axes = list(sweep.get("axes") or AXES)
    bad = [a for a in axes if a not in AXES]
    if bad:
        raise InputError(f"{source}: unknown sweep axis/axes {bad}; choose from {list(AXES)}")
    base = STANDARD_METHODS[BASE_NAME]
    if sweep.get("base"):
        extra = sorted(set(sweep["base"]) - {"guidance", "truncation"})
        if extra:
            raise InputError(f"{source}: sweep 'base' takes guidance/truncation only, got {extra}")
        try:
            base = Method.from_dict({**base.to_dict(), **sweep["base"]})
        except InputError as exc:
            raise InputError(f"{source}: sweep 'base': {exc}") from exc
    out = [m for m in methods if (m if isinstance(m, str) else m.get("name")) != BASE_NAME]
    out.append(base.to_dict())
    seen = {(base.guidance, base.truncation): BASE_NAME}
    plan: dict[str, list[dict[str, Any]]] = {}
    notes = []
    for axis in axes:
        if axis == "gripper_negation" and action_dim != 7:
            notes.append(f"gripper_negation skipped: it applies to 7-DoF actions, this model takes {action_dim}-D")
            continue
        plan[axis] = []
        for value in axis_values(axis, sweep):
            label = _label(axis, value)
            try:
                v = _variant(base, axis, value)
            except (TypeError, ValueError) as exc:  # TypeError: the base's guidance has no such option
                raise InputError(
                    f"{source}: sweep axis {axis!r} = {label} does not apply to the base method: {exc}"
                ) from exc
            key = (v.guidance, v.truncation)
            if key not in seen:
                seen[key] = f"{axis}={label}"
                out.append({**v.to_dict(), "name": seen[key], "axis": axis, "value": value})
            plan[axis].append({"value": value, "label": label, "method": seen[key]})
    return out, plan, notes
