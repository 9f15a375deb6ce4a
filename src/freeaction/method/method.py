"""A sampling method: a name, a guidance and a truncation, with one parser.

The CLI's flags, the evaluation config files, the sweep and ``run.json`` all describe a method
with the same mapping, whose keys are the field names of the classes it builds::

    name: freeaction_late
    guidance:   {type: freeaction, scale: 1.0, window: [0.0, 0.5], magnitude: l2,
                 magnitude_dims: null, negate_dims: null, negative: negated}
    truncation: {type: action_scaled, mu_act: null, tau_min: 0.5, tau_max: 1.5,
                 magnitude: l2, magnitude_dims: null}

``guidance.type`` is one of :data:`~freeaction.method.guidance.GUIDANCES` (none, freeaction,
null, negated) and ``truncation.type`` one of :data:`~freeaction.method.truncation.TRUNCATIONS`
(none, fixed, action_scaled); left-out options take the class's defaults, unknown ones are
refused by name. ``{name: freeaction}`` alone names a standard method (:data:`STANDARD_METHODS`).
``mu_act`` may be left out: :func:`freeaction.method.mu_act.resolve_mu_act` chooses it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import freeaction.method.options as options
from freeaction.errors import MethodError
from freeaction.method.guidance import GUIDANCES, FreeActionGuidance, Guidance, NoGuidance
from freeaction.method.truncation import TRUNCATIONS, ActionScaledTruncation, GaussianNoise, NoiseSampler

GUIDANCE_KINDS = tuple(GUIDANCES)
TRUNCATION_KINDS = tuple(TRUNCATIONS)
HINTS = {  # keys people type that are not options, and what to write instead
    "lambda": "write 'scale' (lambda for type freeaction, the constant w otherwise)",
    "lam": "write 'scale' (lambda for type freeaction, the constant w otherwise)",
    "cutoff": "write 'window: [c, 1.0]' (guidance only while t > c*T)",
}


def _options(kind: str, cls: type, d: Any) -> Any:
    """Build ``cls`` from the option mapping ``d`` (its ``type`` already read)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - {"type", *fields})
    if unknown:
        hints = "".join(f"; {k}: {HINTS[k]}" for k in unknown if k in HINTS)
        raise MethodError(f"unknown {kind} option(s) {unknown} for type {cls.type!r}; known: {fields}{hints}")
    return cls(**{k: v for k, v in d.items() if k != "type"})  # each class checks and converts its values


def _parse(kind: str, d: Any, classes: dict[str, type]) -> Any:
    if d is None:
        d = {"type": "none"}
    if not isinstance(d, dict):
        raise MethodError(f"{kind} must be a mapping with a 'type' ({list(classes)}), got {d!r}")
    t = d.get("type", "none")
    if t not in classes:
        raise MethodError(f"unknown {kind} type {t!r}; choose one of {list(classes)}")
    if kind == "guidance" and t != "freeaction" and "negative" in d:
        raise MethodError(
            f"guidance option 'negative' applies to type 'freeaction' only (type {t!r} fixes its negative branch)"
        )
    return _options(kind, classes[t], d)


def _plain(obj: Any) -> dict[str, Any]:
    """``{"type": ..., field: value}`` with tuples as lists (JSON/YAML-ready)."""
    out: dict[str, Any] = {"type": obj.type}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


@dataclass(frozen=True)
class Method:
    """One way to sample: ``guidance`` combines the predictions at each step, ``truncation``
    draws the initial noise. Equal methods sample identically whatever their names."""

    name: str
    guidance: Guidance = field(default_factory=NoGuidance)
    truncation: NoiseSampler = field(default_factory=GaussianNoise)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise MethodError(f"a method needs a non-empty name, got {self.name!r}")
        if type(self.guidance) not in GUIDANCES.values():
            raise MethodError(f"method {self.name!r}: guidance must be one of {list(GUIDANCES.values())}")
        if type(self.truncation) not in TRUNCATIONS.values():
            raise MethodError(f"method {self.name!r}: truncation must be one of {list(TRUNCATIONS.values())}")

    # -- the one parser ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any], *, action_dim: int | None = None) -> Method:
        """A method from ``{"name", "guidance", "truncation"}``, or ``{"name": <standard>}``.

        Unknown keys at any level, unknown types and out-of-range values raise MethodError
        naming them; ``action_dim`` (when known) also checks the dimensions named.
        """
        if not isinstance(d, dict):
            raise MethodError(f"a method is a mapping {{name, guidance, truncation}}, got {d!r}")
        unknown = sorted(set(d) - {"name", "guidance", "truncation"})
        if unknown:
            raise MethodError(f"unknown method key(s) {unknown}; known: ['name', 'guidance', 'truncation']")
        if "name" not in d:
            raise MethodError(f"a method needs a 'name'; got keys {sorted(d)}")
        if set(d) == {"name"} and d["name"] in STANDARD_METHODS:
            method = STANDARD_METHODS[d["name"]]
        else:
            guidance = _parse("guidance", d.get("guidance"), GUIDANCES)
            method = cls(d["name"], guidance, _parse("truncation", d.get("truncation"), TRUNCATIONS))
        if action_dim is not None:
            method.check_action_dim(action_dim)
        return method

    def to_dict(self) -> dict[str, Any]:
        """The mapping :meth:`from_dict` reads back to an equal method, every option written out."""
        return {"name": self.name, "guidance": _plain(self.guidance), "truncation": _plain(self.truncation)}

    # -- what the sampler needs to know ---------------------------------------------------------
    @property
    def needs_mu_act(self) -> bool:
        """Does the truncation still lack its ``mu_act``?"""
        return isinstance(self.truncation, ActionScaledTruncation) and self.truncation.mu_act is None

    def with_mu_act(self, mu_act: float) -> Method:
        """This method with ``mu_act`` filled in (a method that already has one, or needs none, is kept)."""
        if not self.needs_mu_act:
            return self
        return dataclasses.replace(self, truncation=dataclasses.replace(self.truncation, mu_act=mu_act))

    def check_action_dim(self, action_dim: int) -> None:
        """Refuse dimensions (magnitude_dims, negate_dims) that ``action_dim``-D actions lack."""
        for part, obj in (("guidance", self.guidance), ("truncation", self.truncation)):
            for name in ("magnitude_dims", "negate_dims"):
                try:
                    options.within(f"{part} {name}", getattr(obj, name, None), action_dim)
                except MethodError as exc:
                    raise MethodError(f"method {self.name!r}: {exc}") from None

    def describe(self) -> str:
        """One line: the guidance weight and the truncation as used."""
        return f"{self.name}: {self.guidance.describe()}; {self.truncation.describe()}"


STANDARD_METHODS: dict[str, Method] = {  # the methods of the paper's table, by name
    "unguided": Method("unguided"),
    "freeaction_cfg": Method("freeaction_cfg", guidance=FreeActionGuidance()),
    "freeaction_trunc": Method("freeaction_trunc", truncation=ActionScaledTruncation()),
    "freeaction": Method("freeaction", guidance=FreeActionGuidance(), truncation=ActionScaledTruncation()),
}


def migrate_legacy(d: dict[str, Any]) -> dict[str, Any]:
    """A method mapping written by earlier versions (``run.json``, configs) in today's keys.

    Earlier mappings left options out (defaults per type), spelled lambda ``lambda``, gave
    ``cutoff`` for ``window: [cutoff, 1]``, marked constant weights with ``action_scaled:
    false`` and kept options their type ignored (``negate_dims`` under ``negative: null``,
    ``magnitude`` under a constant weight, ``tau`` under action-scaled truncation...). The
    result, read by :meth:`Method.from_dict`, samples as the old mapping did; a mapping already
    in today's keys comes back unchanged. Unknown keys are kept, so from_dict still refuses them.
    """
    out = dict(d)
    g = dict(d.get("guidance") or {"type": "none"})
    t = dict(d.get("truncation") or {"type": "none"})
    kind = g.get("type", "none")
    if "lambda" in g:
        g.setdefault("scale", g.pop("lambda"))
    if "cutoff" in g:
        cutoff = g.pop("cutoff")
        if g.get("window") is None and cutoff is not None:
            g["window"] = [cutoff, 1.0]
    if g.get("window", "") is None:
        g.pop("window")
    if kind == "freeaction" and g.pop("action_scaled", True) is False:
        kind = g["type"] = "null" if g.get("negative") == "null" else "negated"
        g.pop("negative", None)
        g.setdefault("window", [0.5, 1.0])  # the old freeaction default window
    ignored = {
        "none": {"scale", "window", "magnitude", "magnitude_dims", "negate_dims", "action_scaled"},
        "null": {"magnitude", "magnitude_dims", "negate_dims", "action_scaled"},
        "negated": {"magnitude", "magnitude_dims", "action_scaled"},
        "freeaction": set(),
    }.get(kind, set())
    if kind == "freeaction" and g.get("negative") == "null":
        ignored = {"negate_dims"}
    g = {k: v for k, v in g.items() if k not in ignored}
    t_ignored = {
        "none": {"tau", "tau_min", "tau_max", "mu_act", "magnitude", "magnitude_dims"},
        "fixed": {"tau_min", "tau_max", "mu_act", "magnitude", "magnitude_dims"},
        "action_scaled": {"tau"},
    }.get(t.get("type", "none"), set())
    t = {k: v for k, v in t.items() if k not in t_ignored}
    out["guidance"], out["truncation"] = g, t
    return out
