"""Named sampling methods: a guidance plus an initial-noise rule, built from plain options.

The CLI's flags, the evaluation config files and the Python API all describe a method with the
same keys, so tables compare like with like (SPEC 3.3)::

    guidance:   none | freeaction | null | negated     (+ scale, cutoff, window, magnitude,
                                                          magnitude_dims, negate_dims,
                                                          negative: negated | null for freeaction)
    truncation: none | fixed | action_scaled           (+ tau, tau_min, tau_max, mu_act)

``mu_act`` may be left out: it is then taken from the checkpoint's (or dataset's) action
statistics when the method is built for a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from freeaction.guidance import Guidance, negated_cfg, no_guidance, null_cfg
from freeaction.noise import ActionScaledTruncation, FixedTruncation, GaussianNoise, NoiseSampler

GUIDANCE_KINDS = ("none", "freeaction", "null", "negated")
TRUNCATION_KINDS = ("none", "fixed", "action_scaled")


@dataclass(frozen=True)
class Method:
    name: str
    guidance: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    truncation: dict[str, Any] = field(default_factory=lambda: {"type": "none"})

    def build_guidance(self) -> Guidance:
        return build_guidance(self.guidance)

    def build_noise(self, mu_act: float | None = None) -> NoiseSampler:
        return build_noise(self.truncation, mu_act)


def _window(opts: dict[str, Any], default: tuple[float, float]) -> tuple[float, float]:
    if "window" in opts and opts["window"] is not None:
        lo, hi = opts["window"]
        return float(lo), float(hi)
    if "cutoff" in opts and opts["cutoff"] is not None:
        return float(opts["cutoff"]), 1.0
    return default


def _dims(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)


def build_guidance(opts: dict[str, Any]) -> Guidance:
    kind = opts.get("type", "none")
    unknown = set(opts) - {
        "type",
        "scale",
        "lambda",
        "cutoff",
        "window",
        "magnitude",
        "magnitude_dims",
        "negate_dims",
        "action_scaled",
        "negative",
    }
    if kind != "freeaction" and "negative" in opts:
        raise ValueError("guidance option 'negative' applies to type 'freeaction' only (type 'null' is constant-w CFG)")
    if unknown:
        raise ValueError(f"unknown guidance option(s) {sorted(unknown)}")
    scale = float(opts.get("scale", opts.get("lambda", 1.0)))
    if kind == "none":
        return no_guidance()
    if kind == "freeaction":  # w = lambda * m(a) in the window; negative branch -a (or the null condition)
        negative = opts.get("negative", "negated")
        if negative not in ("negated", "null"):
            raise ValueError(f"guidance option 'negative' must be 'negated' or 'null', got {negative!r}")
        return Guidance(
            negative,
            scale,
            bool(opts.get("action_scaled", True)),
            _window(opts, (0.5, 1.0)),
            opts.get("magnitude", "l2"),
            _dims(opts.get("magnitude_dims")),
            _dims(opts.get("negate_dims")) if negative == "negated" else None,
        )
    if kind == "null":
        return null_cfg(scale, _window(opts, (0.0, 1.0)))
    if kind == "negated":
        return negated_cfg(scale, _window(opts, (0.0, 1.0)), _dims(opts.get("negate_dims")))
    raise ValueError(f"unknown guidance type {kind!r}; choose one of {GUIDANCE_KINDS}")


def build_noise(opts: dict[str, Any], mu_act: float | None = None) -> NoiseSampler:
    kind = opts.get("type", "none")
    unknown = set(opts) - {"type", "tau", "tau_min", "tau_max", "mu_act", "magnitude", "magnitude_dims"}
    if unknown:
        raise ValueError(f"unknown truncation option(s) {sorted(unknown)}")
    if kind == "none":
        return GaussianNoise()
    if kind == "fixed":
        return FixedTruncation(float(opts.get("tau", 1.0)))
    if kind == "action_scaled":
        mu = opts.get("mu_act", mu_act)
        if mu is None:
            raise ValueError(
                "action-scaled truncation needs mu_act (the mean action magnitude of the training clips): "
                "pass --mu-act, or use a checkpoint/dataset with action statistics (freeaction data stats)"
            )
        return ActionScaledTruncation(
            float(mu),
            float(opts.get("tau_min", 0.5)),
            float(opts.get("tau_max", 1.5)),
            opts.get("magnitude", "l2"),
            _dims(opts.get("magnitude_dims")),
        )
    raise ValueError(f"unknown truncation type {kind!r}; choose one of {TRUNCATION_KINDS}")


# The methods of the paper's table, by name.
STANDARD_METHODS: dict[str, Method] = {
    "unguided": Method("unguided"),
    "freeaction_cfg": Method("freeaction_cfg", guidance={"type": "freeaction"}),
    "freeaction_trunc": Method("freeaction_trunc", truncation={"type": "action_scaled"}),
    "freeaction": Method("freeaction", guidance={"type": "freeaction"}, truncation={"type": "action_scaled"}),
}


def method_from_dict(d: dict[str, Any]) -> Method:
    """``{"name": ..., "guidance": {...}, "truncation": {...}}`` or ``{"name": "<standard>"}``."""
    if set(d) == {"name"} and d["name"] in STANDARD_METHODS:
        return STANDARD_METHODS[d["name"]]
    unknown = set(d) - {"name", "guidance", "truncation"}
    if unknown or "name" not in d:
        raise ValueError(f"a method needs 'name' and optional 'guidance'/'truncation'; got keys {sorted(d)}")
    m = Method(
        str(d["name"]), dict(d.get("guidance") or {"type": "none"}), dict(d.get("truncation") or {"type": "none"})
    )
    m.build_guidance()  # validate now, not in the middle of a run
    if m.truncation.get("type") != "action_scaled":
        m.build_noise()
    return m
