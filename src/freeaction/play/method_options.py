"""Everything play needs from :mod:`freeaction.method`, in one place: the panels' methods built
from the page's controls, the matching ``freeaction generate`` flags, the guidance and noise a
panel samples with, and the per-chunk figures the page shows (m(a), w, tau)."""

from __future__ import annotations

import dataclasses

import torch

from freeaction.diffusion.schedulers import NUM_TRAIN_TIMESTEPS
from freeaction.method import (
    STANDARD_METHODS,
    ActionScaledTruncation,
    FixedTruncation,
    FreeActionGuidance,
    Guidance,
    Method,
    NoGuidance,
    NoiseSampler,
    magnitude,
)
from freeaction.pipeline import WorldModel


def play_method(name: str, lam: float, cutoff: float, tau_min: float, tau_max: float) -> Method:
    """The standard method ``name`` with the page's lambda (or constant w), cutoff and tau bounds."""
    base = STANDARD_METHODS[name]
    guidance, truncation = base.guidance, base.truncation
    if not isinstance(guidance, NoGuidance):
        guidance = dataclasses.replace(guidance, scale=lam)
    if isinstance(guidance, FreeActionGuidance):
        guidance = dataclasses.replace(guidance, window=(cutoff, 1.0))
    if isinstance(truncation, ActionScaledTruncation):
        truncation = dataclasses.replace(truncation, tau_min=tau_min, tau_max=tau_max)
    return Method(name, guidance, truncation)


def generate_flags(method: Method) -> list[str]:
    """The ``freeaction generate`` flags that build the same method as :func:`play_method`."""
    g, t = method.guidance, method.truncation
    flags = ["--guidance", g.type]
    if not isinstance(g, NoGuidance):
        flags += ["--lambda", repr(float(g.scale))]
        if isinstance(g, FreeActionGuidance):
            flags += ["--cutoff", repr(float(g.window[0]))]
    flags += ["--truncation", t.type]
    if isinstance(t, ActionScaledTruncation):
        flags += ["--tau-min", repr(float(t.tau_min)), "--tau-max", repr(float(t.tau_max))]
    return flags


def sampling_parts(wm: WorldModel, method: Method) -> tuple[Guidance, NoiseSampler]:
    """The guidance and initial-noise sampler ``wm.generate`` would use for ``method``
    (``mu_act`` by the one rule: the method's own, else the model's action statistics)."""
    method, _ = wm.resolve(method)
    return method.guidance, method.truncation


def chunk_figures(guidance: Guidance, noise: NoiseSampler, actions: torch.Tensor) -> tuple[float, float, float | None]:
    """m(a), w at t = T (the guidance weight while it is on) and tau of one (n, A) model-space
    chunk; tau is None for Gaussian noise."""
    a = actions[None]
    m = float(magnitude(a)[0])
    w = float(guidance.weight(a, NUM_TRAIN_TIMESTEPS - 1)[0])
    if isinstance(noise, ActionScaledTruncation):
        return m, w, float(noise.tau(a)[0])
    if isinstance(noise, FixedTruncation):
        return m, w, float(noise.tau)
    return m, w, None
