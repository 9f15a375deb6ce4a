"""The paper's objects: m(a) and -a, one guidance class per variant, the truncation, the
:class:`Method` that names a pair of them (one frozen object, one parser) and the ``mu_act`` rule.

FreeAction, per sample and sampling step (:class:`FreeActionGuidance`, :class:`ActionScaledTruncation`)::

    eps_hat = eps_c + w * (eps_c - eps_neg),   w   = lam * m(a) * 1[t > T/2],   eps_neg = eps(x_t, -a)
    x_T ~ N(0, I) truncated to [-tau, tau],    tau = tau_min + (tau_max - tau_min) * sigmoid(m(a) - mu_act)
"""

from freeaction.method.actions import MAGNITUDE_KINDS, magnitude, negate
from freeaction.method.guidance import (
    GUIDANCES,
    FreeActionGuidance,
    Guidance,
    NegatedCFG,
    NoGuidance,
    NullCFG,
    combine,
    in_window,
)
from freeaction.method.method import (
    GUIDANCE_KINDS,
    STANDARD_METHODS,
    TRUNCATION_KINDS,
    Method,
    migrate_legacy,
)
from freeaction.method.mu_act import MuAct, resolve_method_mu_act, resolve_mu_act, stats_mismatch
from freeaction.method.truncation import (
    TRUNCATIONS,
    ActionScaledTruncation,
    FixedTruncation,
    GaussianNoise,
    NoiseSampler,
    truncated_normal,
)

__all__ = [
    "GUIDANCES",
    "GUIDANCE_KINDS",
    "MAGNITUDE_KINDS",
    "STANDARD_METHODS",
    "TRUNCATIONS",
    "TRUNCATION_KINDS",
    "ActionScaledTruncation",
    "FixedTruncation",
    "FreeActionGuidance",
    "GaussianNoise",
    "Guidance",
    "Method",
    "MuAct",
    "NegatedCFG",
    "NoGuidance",
    "NoiseSampler",
    "NullCFG",
    "combine",
    "in_window",
    "magnitude",
    "migrate_legacy",
    "negate",
    "resolve_method_mu_act",
    "resolve_mu_act",
    "stats_mismatch",
    "truncated_normal",
]
