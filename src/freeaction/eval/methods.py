"""Methods as the evaluation names them: :func:`freeaction.methods.method_from_dict`, with
``mu_act`` filled into action-scaled truncation before sampling, so the results record the exact
value every method used (see :mod:`freeaction.eval.config` for its sources).

Keys ``axis`` and ``value`` of a method mapping are annotations made by the sweep (which ablation
axis, which setting) and do not change sampling.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from freeaction.methods import Method, method_from_dict

ANNOTATION_KEYS = ("axis", "value")


def needs_mu_act(spec: dict[str, Any]) -> bool:
    """Does this method's truncation need ``mu_act`` that it does not give itself?"""
    trunc = spec.get("truncation") or {}
    return trunc.get("type") == "action_scaled" and trunc.get("mu_act") is None


def magnitude_definition(spec: dict[str, Any]) -> tuple[str, tuple[int, ...] | None]:
    """The m(a) definition of a method's truncation: (kind, dims)."""
    trunc = spec.get("truncation") or {}
    dims = trunc.get("magnitude_dims")
    return str(trunc.get("magnitude", "l2")), (None if dims is None else tuple(int(d) for d in dims))


def resolve_method(spec: dict[str, Any], mu_act: float | None = None) -> Method:
    """A :class:`Method` from an evaluation method mapping, with ``mu_act`` filled in where needed.

    Raises ``ValueError`` for unknown options (naming them), like :func:`method_from_dict`.
    """
    d = {k: v for k, v in spec.items() if k not in ANNOTATION_KEYS}
    if set(d) == {"name"}:
        d = dataclasses.asdict(method_from_dict(d))
    guidance = dict(d.get("guidance") or {"type": "none"})
    truncation = dict(d.get("truncation") or {"type": "none"})
    if truncation.get("type") == "action_scaled" and truncation.get("mu_act") is None and mu_act is not None:
        truncation["mu_act"] = float(mu_act)
    return method_from_dict({"name": d["name"], "guidance": guidance, "truncation": truncation})


def method_spec(method: Method) -> dict[str, Any]:
    """The plain mapping that recreates ``method`` through :func:`resolve_method`."""
    return {"name": method.name, "guidance": dict(method.guidance), "truncation": dict(method.truncation)}
