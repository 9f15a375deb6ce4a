"""Initial-latent samplers (SPEC 3.2): Gaussian, fixed-tau and action-scaled truncation.

Each is called as ``noise(shape, actions, generator)`` and returns the initial x_T of shape
(B, F, C, h, w); the sampler then writes the clean context frame over frame 0. The truncation
threshold of FreeAction is::

    tau(a) = tau_min + (tau_max - tau_min) * sigmoid(m(a) - mu_act)
"""

from freeaction.noise.initial import (
    ActionScaledTruncation,
    FixedTruncation,
    GaussianNoise,
    NoiseSampler,
    truncated_normal,
)

__all__ = ["ActionScaledTruncation", "FixedTruncation", "GaussianNoise", "NoiseSampler", "truncated_normal"]
