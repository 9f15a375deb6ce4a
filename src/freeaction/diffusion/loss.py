"""The training loss of the world model: epsilon prediction with a clean first frame (docs/method.md §2).

    t, noise, null = draw_step(generator, tuple(x0.shape), null_prob)
    loss = diffusion_loss(model, x0, actions, t, noise, null, min_snr_gamma=5.0, moving_weight=3.0)

One step of IRASim's recipe: t uniform in [0, 1000); x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps for
every frame, then frame 0 is put back clean (IRASim's ``mask_frame_num=1``); the model predicts
eps from (x_t, t, actions), with the learned null condition in place of the actions for a
``null_prob`` fraction of samples; the loss is the MSE on frames 1..F-1. Two options reweight it:
Min-SNR-gamma per sample (Hang et al. 2023, https://arxiv.org/abs/2303.09556: weight
min(SNR(t), gamma) / SNR(t) for epsilon prediction) and an extra weight on the latent cells that
move between frames, where the actions show.

The noise schedule is the samplers' (:mod:`freeaction.diffusion.schedulers`): 1000 steps of
linear betas, computed here in float64 as IRASim does.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from freeaction.diffusion.schedulers import BETA_END, BETA_START, NUM_TRAIN_TIMESTEPS


def noise_schedule() -> tuple[torch.Tensor, torch.Tensor]:
    """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) for t = 0..999, computed in float64 as IRASim does."""
    betas = np.linspace(BETA_START, BETA_END, NUM_TRAIN_TIMESTEPS, dtype=np.float64)
    alpha_bar = np.cumprod(1.0 - betas)
    return torch.from_numpy(np.sqrt(alpha_bar)), torch.from_numpy(np.sqrt(1.0 - alpha_bar))


_SQRT_AB, _SQRT_1MAB = noise_schedule()


def draw_step(
    g: torch.Generator, shape: tuple[int, ...], null_prob: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, noise, null) for one local batch of latents of ``shape``: t (B,) uniform in [0, 1000),
    noise like the latents, null (B,) True for the samples trained on the null condition."""
    b = shape[0]
    t = torch.randint(0, NUM_TRAIN_TIMESTEPS, (b,), generator=g)
    noise = torch.randn(shape, generator=g)
    null = torch.rand(b, generator=g) < null_prob
    return t, noise, null


def diffusion_loss(
    model: torch.nn.Module,
    x0: torch.Tensor,
    actions: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    null: torch.Tensor | None = None,
    *,
    min_snr_gamma: float | None = None,
    moving_weight: float = 1.0,
    moving_threshold: float = 0.1,
    autocast_dtype: torch.dtype | None = None,
    reduce: bool = True,
) -> torch.Tensor:
    """The epsilon-prediction loss on frames 1..F-1 with a clean frame 0 (IRASim's ``mask_frame_num=1``).

    x0: (B, F, C, h, w) scaled latents; actions: (B, F-1, A); t: (B,) integer timesteps;
    noise: like x0; null: (B,) bool, samples whose condition is replaced by the null embedding.
    Returns the mean loss, or the per-sample losses (B,) with ``reduce=False``.
    """
    err = epsilon_errors(model, x0, actions, t, noise, null, autocast_dtype=autocast_dtype)
    if moving_weight != 1.0:
        err = err * (1.0 + (moving_weight - 1.0) * moving_cells(x0, moving_threshold).float())
    per_sample = err.mean(dim=(1, 2, 3, 4))
    if min_snr_gamma is not None:
        snr = (_SQRT_AB[t.cpu()].float().to(x0.device) / _SQRT_1MAB[t.cpu()].float().to(x0.device)).pow(2)
        per_sample = per_sample * snr.clamp(max=min_snr_gamma) / snr
    return per_sample.mean() if reduce else per_sample


def epsilon_errors(
    model: torch.nn.Module,
    x0: torch.Tensor,
    actions: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    null: torch.Tensor | None = None,
    *,
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Squared epsilon errors (B, F-1, C, h, w) of frames 1..F-1, noised to ``t`` with a clean frame 0."""
    sa = _SQRT_AB[t.cpu()].float().to(x0.device).view(-1, 1, 1, 1, 1)
    s1 = _SQRT_1MAB[t.cpu()].float().to(x0.device).view(-1, 1, 1, 1, 1)
    x_t = sa * x0 + s1 * noise
    x_t = torch.cat([x0[:, :1], x_t[:, 1:]], dim=1)
    ctx = torch.autocast(x0.device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
    with ctx:
        eps = model(x_t, t, actions, null_condition=null)
    return (eps.float()[:, 1:, : x0.shape[2]] - noise[:, 1:]).pow(2)


def moving_cells(x0: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """(B, F-1, 1, h, w) bool: latent cells of frames 1..F-1 that changed from the previous frame
    (mean absolute change over channels above ``threshold``)."""
    return (x0[:, 1:] - x0[:, :-1]).abs().mean(dim=2, keepdim=True) > threshold
