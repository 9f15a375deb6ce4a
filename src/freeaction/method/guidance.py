"""What combines the model's predictions at each sampling step (docs/method.md §3.1), one class per variant.

Every variant has the same form, per sample::

    eps_hat = eps(x_t, a) + w(a, t) * (eps(x_t, a) - eps(x_t, neg))

and differs in ``neg`` (the negated trajectory -a or the learned null condition) and in
``w`` (action-scaled or constant, zero outside a timestep window). In diffusers' convention,
``guidance_scale = 1 + w``. The sampler (:func:`freeaction.diffusion.sampler.guided_epsilon`)
asks a guidance for ``weight(actions, t)`` and ``negative_branch(actions)`` and runs the
negative branch, in the same batched forward pass, only for samples whose weight is non-zero.

Timesteps count down from T = 1000 (999 = pure noise). A window (lo, hi) means
``lo*T < t <= hi*T`` (lo = 0: no lower bound), so FreeAction's ``1[t > T/2]`` is (0.5, 1.0).
Each class checks and converts its options when built (:mod:`freeaction.method.options`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

import torch

import freeaction.method.options as options
from freeaction.method.actions import MAGNITUDE_KINDS, MagnitudeKind, magnitude, negate

NUM_TRAIN_TIMESTEPS = 1000  # T
NEGATIVES = ("negated", "null")


class Guidance(Protocol):
    """The sampler's view of a guidance variant."""

    type: ClassVar[str]

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor: ...

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def in_window(t: float, window: tuple[float, float]) -> bool:
    """1[lo*T < t <= hi*T] (no lower bound when lo = 0)."""
    lo, hi = window
    return (lo <= 0 or t > lo * NUM_TRAIN_TIMESTEPS) and t <= hi * NUM_TRAIN_TIMESTEPS


def combine(eps_cond: torch.Tensor, eps_neg: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """eps_hat = eps_c + w * (eps_c - eps_neg), w (B,) broadcast per sample."""
    w = w.reshape(-1, *([1] * (eps_cond.ndim - 1))).to(eps_cond.dtype)
    return eps_cond + w * (eps_cond - eps_neg)


def _negative_branch(
    negative: str, actions: torch.Tensor, negate_dims: tuple[int, ...] | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(actions, null_condition) of the negative prediction: -a, or a with the null condition."""
    if negative == "null":
        return actions, torch.ones(actions.shape[0], dtype=torch.bool, device=actions.device)
    return negate(actions, negate_dims), None


def _constant_weight(actions: torch.Tensor, w: float, window: tuple[float, float], t: float) -> torch.Tensor:
    """w * 1[window] for every sample: (B,) for actions (B, n, A)."""
    if not in_window(t, window):
        return actions.new_zeros(actions.shape[0])
    return actions.new_full((actions.shape[0],), float(w))


@dataclass(frozen=True)
class NoGuidance:
    """IRASim's default: one conditional prediction per step, ``eps_hat = eps(x_t, a)`` (w = 0)."""

    type: ClassVar[str] = "none"

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor:
        return actions.new_zeros(actions.shape[0])

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise RuntimeError("unguided sampling has no negative branch")  # weight() is always 0

    def describe(self) -> str:
        return "no guidance"


@dataclass(frozen=True)
class FreeActionGuidance:
    """FreeAction's action-scaled classifier-free guidance against the negated trajectory::

        eps_hat = eps(x_t, a) + w * (eps(x_t, a) - eps(x_t, -a))
        w       = lambda * m(a) * 1[t > T/2]

    scale: lambda, >= 0 (default 1.0; the sweep tries 0.1-4).
    window: (lo, hi) fractions of T where w is non-zero (default (0.5, 1.0) = ``1[t > T/2]``).
    magnitude, magnitude_dims: the definition of m(a) (``l2`` of the flattened chunk or
        ``mean_step``; over all dimensions or only these), see :func:`~freeaction.method.actions.magnitude`.
    negate_dims: the dimensions -a negates (default None = all, as the paper writes; ``0..5``
        keeps a 7-D arm's absolute gripper state).
    negative: ``"negated"`` (-a, the paper's) or ``"null"`` (the learned null condition with the
        same action-scaled weight, an ablation).
    """

    type: ClassVar[str] = "freeaction"
    scale: float = 1.0
    window: tuple[float, float] = (0.5, 1.0)
    magnitude: MagnitudeKind = "l2"
    magnitude_dims: tuple[int, ...] | None = None
    negate_dims: tuple[int, ...] | None = None
    negative: Literal["negated", "null"] = "negated"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "scale", options.number("guidance scale (lambda)", self.scale, lo=0.0, hi=options.MAX_SCALE))
        set_(self, "window", options.window("guidance window", self.window))
        set_(self, "magnitude", options.choice("guidance magnitude", self.magnitude, MAGNITUDE_KINDS))
        set_(self, "magnitude_dims", options.dims("guidance magnitude_dims", self.magnitude_dims))
        set_(self, "negate_dims", options.dims("guidance negate_dims", self.negate_dims))
        set_(self, "negative", options.choice("guidance negative", self.negative, NEGATIVES))
        if self.negative == "null" and self.negate_dims is not None:
            raise options.MethodError("guidance negate_dims applies to negative 'negated' only (null negates nothing)")

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor:
        """w(a, t) per sample: (B,) for actions (B, n, A)."""
        lam, m = self.scale, magnitude(actions, self.magnitude, self.magnitude_dims)
        return lam * m * float(in_window(t, self.window))

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _negative_branch(self.negative, actions, self.negate_dims)

    def describe(self) -> str:
        neg = "-a" if self.negative == "negated" else "null"
        return f"w = {self.scale:g} * m(a) for {self.window[0]:g}T < t <= {self.window[1]:g}T, neg {neg}"


@dataclass(frozen=True)
class NullCFG:
    """Plain classifier-free guidance against the learned null condition, constant weight::

        eps_hat = eps(x_t, a) + w * (eps(x_t, a) - eps(x_t, null)),   w = scale * 1[window]

    scale: the constant w >= 0 (diffusers' ``guidance_scale - 1``; default 1.0).
    window: (lo, hi) fractions of T where w is non-zero (default (0.0, 1.0) = every step).
    """

    type: ClassVar[str] = "null"
    scale: float = 1.0
    window: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", options.number("guidance scale", self.scale, lo=0.0, hi=options.MAX_SCALE))
        object.__setattr__(self, "window", options.window("guidance window", self.window))

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor:
        return _constant_weight(actions, self.scale, self.window, t)

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _negative_branch("null", actions, None)

    def describe(self) -> str:
        return f"w = {self.scale:g} for {self.window[0]:g}T < t <= {self.window[1]:g}T, neg null"


@dataclass(frozen=True)
class NegatedCFG:
    """Guidance against the negated trajectory with a constant weight (a baseline)::

        eps_hat = eps(x_t, a) + w * (eps(x_t, a) - eps(x_t, -a)),   w = scale * 1[window]

    scale: the constant w >= 0 (default 1.0).
    window: (lo, hi) fractions of T where w is non-zero (default (0.0, 1.0) = every step).
    negate_dims: the dimensions -a negates (default None = all).
    """

    type: ClassVar[str] = "negated"
    scale: float = 1.0
    window: tuple[float, float] = (0.0, 1.0)
    negate_dims: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", options.number("guidance scale", self.scale, lo=0.0, hi=options.MAX_SCALE))
        object.__setattr__(self, "window", options.window("guidance window", self.window))
        object.__setattr__(self, "negate_dims", options.dims("guidance negate_dims", self.negate_dims))

    def weight(self, actions: torch.Tensor, t: float) -> torch.Tensor:
        return _constant_weight(actions, self.scale, self.window, t)

    def negative_branch(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return _negative_branch("negated", actions, self.negate_dims)

    def describe(self) -> str:
        return f"w = {self.scale:g} for {self.window[0]:g}T < t <= {self.window[1]:g}T, neg -a"


GUIDANCES: dict[str, type] = {g.type: g for g in (NoGuidance, FreeActionGuidance, NullCFG, NegatedCFG)}
