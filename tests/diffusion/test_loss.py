"""The training loss: epsilon MSE on frames 1..F-1, Min-SNR-gamma and moving-cell weights."""

from __future__ import annotations

import pytest
import torch

from freeaction.diffusion.loss import _SQRT_1MAB, _SQRT_AB, diffusion_loss
from freeaction.model import VideoDiT, preset


@torch.no_grad()
def test_min_snr_and_moving_weights():
    """Min-SNR-gamma scales each sample by min(SNR, g)/SNR; moving cells get the extra weight."""
    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, latent_size=(4, 4), num_frames=3, hidden_size=32, num_heads=2,
                            depth=2))
    x0 = torch.zeros(2, 3, 4, 4, 4)
    x0[:, 2, :, 0, 0] = 1.0  # one cell moves between frames 1 and 2
    a, noise = torch.zeros(2, 2, 2), torch.randn(2, 3, 4, 4, 4)
    t = torch.tensor([10, 900])
    plain = diffusion_loss(model, x0, a, t, noise, reduce=False)
    snr = diffusion_loss(model, x0, a, t, noise, min_snr_gamma=5.0, reduce=False)
    s = (_SQRT_AB[t] / _SQRT_1MAB[t]).pow(2).float()
    torch.testing.assert_close(snr, plain * s.clamp(max=5) / s)
    assert snr[0] < plain[0] and snr[1] == pytest.approx(plain[1].item())  # t=10: high SNR, down-weighted
    moved = diffusion_loss(model, x0, a, t, noise, moving_weight=5.0, reduce=False)
    eps = torch.zeros_like(noise)  # zero-initialised final layer: the model predicts 0
    err = (eps - noise)[:, 1:].pow(2)
    w = torch.ones_like(err)
    w[:, 1, :, 0, 0] = 5.0
    torch.testing.assert_close(moved, (err * w).mean(dim=(1, 2, 3, 4)))
