"""Initial noise: plain Gaussian, or a standard normal truncated to [-tau, tau] per sample."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from freeaction.actions import MagnitudeKind, magnitude

Generators = torch.Generator | Sequence[torch.Generator] | None


class NoiseSampler(Protocol):
    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor: ...


def _per_sample(draw, shape: Sequence[int], generator: Generators) -> torch.Tensor:
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

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return _per_sample(lambda s, g: torch.randn(s, generator=g), shape, generator)


@dataclass(frozen=True)
class FixedTruncation:
    """x_T ~ N(0, I) truncated at the same tau for every sample (a baseline of SPEC 3.3)."""

    tau: float = 1.0

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return truncated_normal(shape, self.tau, generator)


@dataclass(frozen=True)
class ActionScaledTruncation:
    """FreeAction's truncation: tau(a) = tau_min + (tau_max - tau_min) * sigmoid(m(a) - mu_act).

    ``mu_act`` is the mean of m(a) over the training clips (``freeaction data stats``; stored
    with the checkpoint). Small motions get strong truncation, large motions keep diversity.
    """

    mu_act: float
    tau_min: float = 0.5
    tau_max: float = 1.5
    magnitude: MagnitudeKind = "l2"
    magnitude_dims: Sequence[int] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.tau_min <= self.tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got tau_min={self.tau_min}, tau_max={self.tau_max}")

    def tau(self, actions: torch.Tensor) -> torch.Tensor:
        m = magnitude(actions, self.magnitude, self.magnitude_dims)
        return self.tau_min + (self.tau_max - self.tau_min) * torch.sigmoid(m - self.mu_act)

    def __call__(self, shape: Sequence[int], actions: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        return truncated_normal(shape, self.tau(actions), generator)
