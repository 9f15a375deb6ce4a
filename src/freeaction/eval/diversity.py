"""Diversity across seeds of the same clip: how much the sampler's randomness changes the video.

Noise truncation trades diversity for fidelity on purpose (small motions become nearly
deterministic), so the evaluation reports how much diversity each method keeps:

- ``diversity_pixel_std``: the per-pixel standard deviation across seeds (RGB, 0..255 scale,
  population std), averaged over the pixels and channels of the generated frames 1..n.
- ``diversity_latent_l2``: the mean over all pairs of seeds of the MSE between their generated
  scaled latents (frames 1..n), the same unit as ``latent_l2``.

Both are None for fewer than two seeds.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import torch


def pixel_std(frames: list[np.ndarray]) -> float | None:
    """Mean per-pixel std across seeds of RGB uint8 videos (each (n + 1, H, W, 3)), frames 1..n."""
    if len(frames) < 2:
        return None
    stack = np.stack([np.asarray(f, dtype=np.float32)[1:] for f in frames])
    return float(stack.std(axis=0).mean())


def pairwise_latent_l2(latents: list[torch.Tensor]) -> float | None:
    """Mean over seed pairs of the MSE between generated latents (n + 1, C, h, w), frames 1..n."""
    if len(latents) < 2:
        return None
    lat = [torch.as_tensor(x, dtype=torch.float32).cpu()[1:] for x in latents]
    return float(np.mean([((a - b) ** 2).mean().item() for a, b in combinations(lat, 2)]))


def diversity(latents: list[torch.Tensor], frames: list[np.ndarray] | None) -> dict[str, float | None]:
    """Both diversity measures of one clip's seeds (``frames`` may be None: no VAE)."""
    return {
        "diversity_latent_l2": pairwise_latent_l2(latents),
        "diversity_pixel_std": pixel_std(frames) if frames is not None else None,
    }
