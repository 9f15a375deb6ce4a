"""Initial noise x_T (docs/method.md §3.2), one class per variant: Gaussian, fixed-tau and FreeAction's
action-scaled truncation.

Each is called as ``noise(shape, actions, generator)`` and returns the initial x_T of shape
(B, F, C, h, w); the sampler then writes the clean context frame over frame 0. A truncated
draw is an exact standard normal truncated element-wise to [-tau, tau] (inverse CDF, float64).
Each class checks and converts its options when built (:mod:`freeaction.method.options`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch

import freeaction.method.options as options
from freeaction.method.actions import MAGNITUDE_KINDS, MagnitudeKind, magnitude

Generators = torch.Generator | Sequence[torch.Generator] | None


class NoiseSampler(Protocol):
    """The sampler's view of a truncation variant."""

    type: ClassVar[str]

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor: ...


def _per_sample(draw: Callable, shape: Sequence[int], generator: Generators) -> torch.Tensor:
    """Draw each sample with its own generator when a list is given (so a sample's noise does
    not depend on what else is in the batch), else the whole batch from one generator."""
    if isinstance(generator, Sequence):
        if len(generator) != shape[0]:
            raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
        return torch.cat([draw((1, *shape[1:]), g) for g in generator])
    return draw(tuple(shape), generator)


def truncated_normal(shape: Sequence[int], tau: torch.Tensor | float, generator: Generators = None) -> torch.Tensor:
    """Exact standard normal truncated to [-tau, tau], per sample tau (B,), by inverse CDF.

    u ~ U(Phi(-tau), Phi(tau)) and x = Phi^-1(u), computed in float64 so the tails are exact.
    """
    tau = torch.as_tensor(tau, dtype=torch.float64).reshape(-1)
    if (tau <= 0).any() or not torch.isfinite(tau).all():
        raise ValueError(f"truncation thresholds must be positive and finite, got {tau.tolist()}")
    tau = tau.expand(shape[0]).reshape(-1, *([1] * (len(shape) - 1)))
    u = _per_sample(lambda s, g: torch.rand(s, generator=g, dtype=torch.float64), shape, generator)
    lo = torch.special.ndtr(-tau)
    x = torch.special.ndtri(lo + u * (1 - 2 * lo))
    return x.clamp_(-tau, tau).float()


@dataclass(frozen=True)
class GaussianNoise:
    """x_T ~ N(0, I): IRASim's initial noise (same draws as diffusers' ``randn_tensor`` on CPU)."""

    type: ClassVar[str] = "none"

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return _per_sample(lambda s, g: torch.randn(s, generator=g), shape, generator)

    def describe(self) -> str:
        return "Gaussian noise"


@dataclass(frozen=True)
class FixedTruncation:
    """x_T ~ N(0, I) truncated to [-tau, tau], the same tau for every sample (a baseline).

    tau: the threshold, > 0 (default 1.0).
    """

    type: ClassVar[str] = "fixed"
    tau: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau", options.number("truncation tau", self.tau, lo=0.0, lo_open=True))

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return truncated_normal(shape, self.tau, generator)

    def describe(self) -> str:
        return f"tau = {self.tau:g}"


@dataclass(frozen=True)
class ActionScaledTruncation:
    """FreeAction's truncation: x_T ~ N(0, I) truncated to [-tau(a), tau(a)] with::

        tau(a) = tau_min + (tau_max - tau_min) * sigmoid(m(a) - mu_act)

    Small motions get strong truncation, large motions keep their diversity.

    mu_act: the mean of m(a) over the training clips (``freeaction data stats``; recorded with
        the checkpoint). None until :func:`freeaction.method.mu_act.resolve_mu_act` fills it in.
    tau_min, tau_max: the bounds of tau(a), 0 < tau_min <= tau_max (default 0.5, 1.5).
    magnitude, magnitude_dims: the definition of m(a), as for the guidance.
    """

    type: ClassVar[str] = "action_scaled"
    mu_act: float | None = None
    tau_min: float = 0.5
    tau_max: float = 1.5
    magnitude: MagnitudeKind = "l2"
    magnitude_dims: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.mu_act is not None:
            set_(self, "mu_act", options.number("truncation mu_act", self.mu_act))
        set_(self, "tau_min", options.number("truncation tau_min", self.tau_min, lo=0.0, lo_open=True))
        set_(self, "tau_max", options.number("truncation tau_max", self.tau_max, lo=0.0, lo_open=True))
        if not self.tau_min <= self.tau_max:
            raise options.MethodError(
                f"need 0 < tau_min <= tau_max, got tau_min={self.tau_min}, tau_max={self.tau_max}"
            )
        set_(self, "magnitude", options.choice("truncation magnitude", self.magnitude, MAGNITUDE_KINDS))
        set_(self, "magnitude_dims", options.dims("truncation magnitude_dims", self.magnitude_dims))

    def tau(self, actions: torch.Tensor) -> torch.Tensor:
        """tau(a) per sample: (B,) for actions (B, n, A)."""
        if self.mu_act is None:
            raise ValueError(
                "action-scaled truncation needs mu_act (the mean action magnitude of the training clips): "
                "pass --mu-act, or use a checkpoint/dataset with action statistics (freeaction data stats)"
            )
        m = magnitude(actions, self.magnitude, self.magnitude_dims)
        return self.tau_min + (self.tau_max - self.tau_min) * torch.sigmoid(m - self.mu_act)

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return truncated_normal(shape, self.tau(actions), generator)

    def describe(self) -> str:
        mu = "?" if self.mu_act is None else f"{self.mu_act:.4g}"
        return f"tau = {self.tau_min:g} + {self.tau_max - self.tau_min:g} * sigmoid(m(a) - {mu})"


TRUNCATIONS: dict[str, type] = {t.type: t for t in (GaussianNoise, FixedTruncation, ActionScaledTruncation)}
