"""The guidance object: a weight per sample and step, a negative branch, one combine rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from freeaction.actions import MagnitudeKind, magnitude, negate

NUM_TRAIN_TIMESTEPS = 1000


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance against a negative branch, active in a timestep window.

    negative: ``"negated"`` (the model's prediction for -a) or ``"null"`` (the learned null
        condition), or ``"none"`` for no guidance.
    scale: lambda when ``action_scaled`` (w = lambda * m(a)), else the constant w.
    window: (lo, hi) as fractions of T; guidance is on while lo*T < t <= hi*T (lo <= 0 means
        no lower bound). FreeAction's ``1[t > T/2]`` is ``(0.5, 1.0)``.
    magnitude / magnitude_dims: the definition of m(a) (see :func:`freeaction.actions.magnitude`).
    negate_dims: which dimensions -a negates (None = all, as the paper writes).
    """

    negative: Literal["negated", "null", "none"] = "negated"
    scale: float = 1.0
    action_scaled: bool = True
    window: tuple[float, float] = (0.5, 1.0)
    magnitude: MagnitudeKind = "l2"
    magnitude_dims: Sequence[int] | None = None
    negate_dims: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if self.negative not in ("negated", "null", "none"):
            raise ValueError(f"negative must be 'negated', 'null' or 'none', got {self.negative!r}")
        lo, hi = self.window
        if not hi > lo:
            raise ValueError(f"guidance window {self.window}: hi must be above lo")

    @property
    def enabled(self) -> bool:
        return self.negative != "none" and self.scale != 0

    def active(self, t: float) -> bool:
        """Is guidance on at timestep t (999 = pure noise)?"""
        lo, hi = self.window
        return self.enabled and (lo <= 0 or t > lo * NUM_TRAIN_TIMESTEPS) and t <= hi * NUM_TRAIN_TIMESTEPS

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor:
        """w(a, t) per sample: (B,) for actions (B, n, A)."""
        if not self.active(t):
            return actions.new_zeros(actions.shape[0])
        if self.action_scaled:
            return self.scale * magnitude(actions, self.magnitude, self.magnitude_dims)
        return actions.new_full((actions.shape[0],), float(self.scale))

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(actions, null_condition) to run for the negative prediction."""
        if self.negative == "null":
            return actions, torch.ones(actions.shape[0], dtype=torch.bool, device=actions.device)
        return negate(actions, self.negate_dims), None

    @staticmethod
    def combine(eps_cond: torch.Tensor, eps_neg: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """eps_hat = eps_c + w * (eps_c - eps_neg), w broadcast per sample."""
        w = w.reshape(-1, *([1] * (eps_cond.ndim - 1))).to(eps_cond.dtype)
        return eps_cond + w * (eps_cond - eps_neg)


def no_guidance() -> Guidance:
    """IRASim's default: one conditional prediction per step."""
    return Guidance(negative="none", scale=0.0)


def freeaction_guidance(
    lam: float = 1.0,
    cutoff: float = 0.5,
    magnitude: MagnitudeKind = "l2",
    magnitude_dims: Sequence[int] | None = None,
    negate_dims: Sequence[int] | None = None,
) -> Guidance:
    """FreeAction's action-scaled CFG: w = lambda * m(a) * 1[t > cutoff * T], negative = -a."""
    return Guidance("negated", lam, True, (cutoff, 1.0), magnitude, magnitude_dims, negate_dims)


def null_cfg(scale: float, window: tuple[float, float] = (0.0, 1.0)) -> Guidance:
    """Plain CFG against the learned null embedding with a constant weight w (= guidance_scale - 1)."""
    return Guidance("null", scale, False, window)


def negated_cfg(
    scale: float, window: tuple[float, float] = (0.0, 1.0), negate_dims: Sequence[int] | None = None
) -> Guidance:
    """A constant guidance weight against the negated trajectory."""
    return Guidance("negated", scale, False, window, negate_dims=negate_dims)
