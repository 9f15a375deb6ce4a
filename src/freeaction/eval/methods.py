"""Methods as the evaluation names them: :func:`freeaction.methods.method_from_dict` plus two things.

1. ``mu_act`` is filled into action-scaled truncation before sampling, so the results record
   the exact value every method used (see :mod:`freeaction.eval.config` for its sources).
2. One option the open questions need and the core does not offer yet: ``guidance.negative:
   "null"`` with ``type: freeaction`` keeps FreeAction's action-scaled weight
   ``w = lambda * m(a)`` but takes the learned null condition as the negative branch instead of
   ``-a``. (The core's ``null`` type uses a constant weight.)

Keys ``axis`` and ``value`` of a method mapping are annotations made by the sweep (which ablation
axis, which setting) and do not change sampling.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from freeaction.guidance import Guidance
from freeaction.methods import Method, build_guidance, method_from_dict

ANNOTATION_KEYS = ("axis", "value")


@dataclasses.dataclass(frozen=True)
class NullBranchMethod(Method):
    """FreeAction's action-scaled guidance with the learned null condition as the negative branch."""

    def build_guidance(self) -> Guidance:
        opts = {k: v for k, v in self.guidance.items() if k != "negative"}
        return dataclasses.replace(build_guidance(opts), negative="null", negate_dims=None)


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
    negative = guidance.pop("negative", "negated")
    if negative not in ("negated", "null"):
        raise ValueError(f"guidance option 'negative' must be 'negated' or 'null', got {negative!r}")
    if negative == "null" and guidance.get("type") != "freeaction":
        raise ValueError("guidance option 'negative' applies to type 'freeaction' only (type 'null' is constant-w CFG)")
    base = method_from_dict({"name": d["name"], "guidance": guidance, "truncation": truncation})
    if negative == "null":
        return NullBranchMethod(base.name, {**base.guidance, "negative": "null"}, base.truncation)
    return base


def method_spec(method: Method) -> dict[str, Any]:
    """The plain mapping that recreates ``method`` through :func:`resolve_method`."""
    return {"name": method.name, "guidance": dict(method.guidance), "truncation": dict(method.truncation)}
