"""Everything play needs from :mod:`freeaction.methods`, in one place: the panels' methods built
from the page's controls, the matching ``freeaction generate`` flags, the guidance and noise a
panel samples with, and the per-chunk figures the page shows (m(a), w, tau)."""

from __future__ import annotations

import torch

from freeaction.actions import magnitude
from freeaction.diffusion.schedulers import NUM_TRAIN_TIMESTEPS
from freeaction.guidance import Guidance
from freeaction.methods import STANDARD_METHODS, Method
from freeaction.noise import ActionScaledTruncation, FixedTruncation, NoiseSampler
from freeaction.pipeline import WorldModel


def play_method(name: str, lam: float, cutoff: float, tau_min: float, tau_max: float) -> Method:
    """The standard method ``name`` with the page's lambda (or constant w), cutoff and tau bounds."""
    base = STANDARD_METHODS[name]
    guidance, truncation = dict(base.guidance), dict(base.truncation)
    if guidance.get("type", "none") != "none":
        guidance["scale"] = lam
    if guidance.get("type") == "freeaction":
        guidance["cutoff"] = cutoff
    if truncation.get("type") == "action_scaled":
        truncation.update(tau_min=tau_min, tau_max=tau_max)
    return Method(name, guidance, truncation)


def generate_flags(method: Method) -> list[str]:
    """The ``freeaction generate`` flags that build the same method as :func:`play_method`."""
    g, t = method.guidance, method.truncation
    flags = ["--guidance", g.get("type", "none")]
    if g.get("type", "none") != "none":
        flags += ["--lambda", repr(float(g.get("scale", 1.0)))]
        if g.get("cutoff") is not None:
            flags += ["--cutoff", repr(float(g["cutoff"]))]
    flags += ["--truncation", t.get("type", "none")]
    if t.get("type") == "action_scaled":
        flags += ["--tau-min", repr(float(t["tau_min"])), "--tau-max", repr(float(t["tau_max"]))]
    return flags


def sampling_parts(wm: WorldModel, method: Method) -> tuple[Guidance, NoiseSampler]:
    """The guidance and initial-noise sampler ``wm.generate`` would use for ``method``
    (``mu_act`` from the method, else the model's action statistics)."""
    return method.build_guidance(), method.build_noise(wm.mu_act_for(method))


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
