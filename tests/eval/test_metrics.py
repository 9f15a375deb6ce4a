"""PSNR / SSIM / Latent L2 against scikit-image itself; frame 0 excluded; long-protocol alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from freeaction.eval.metrics import (
    PSNR_CAP,
    latent_l2,
    long_metrics,
    psnr_per_frame,
    short_metrics,
    ssim_per_frame,
    to_gray,
)


@pytest.fixture
def videos():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (6, 24, 20, 3), dtype=np.uint8)
    noise = rng.integers(-30, 31, truth.shape)
    gen = np.clip(truth.astype(int) + noise, 0, 255).astype(np.uint8)
    gen[0] = 255 - truth[0]  # a terrible frame 0 that must not count
    return gen, truth


def test_gray_is_itu601_luma_as_pil_does_it(videos):
    gen, _ = videos
    g = to_gray(gen)
    assert g.dtype == np.uint8 and g.shape == gen.shape[:-1]
    assert np.array_equal(g[2], np.asarray(Image.fromarray(gen[2]).convert("L")))
    luma = gen[..., 0] * 0.299 + gen[..., 1] * 0.587 + gen[..., 2] * 0.114
    assert np.abs(g - luma).max() <= 1.0


def test_psnr_and_ssim_match_scikit_image_on_frames_1_to_n(videos):
    gen, truth = videos
    gg, tg = to_gray(gen), to_gray(truth)
    want_psnr = [peak_signal_noise_ratio(tg[k], gg[k], data_range=255) for k in range(1, 6)]
    want_ssim = [structural_similarity(tg[k], gg[k], data_range=255, win_size=7) for k in range(1, 6)]
    np.testing.assert_allclose(psnr_per_frame(gen, truth), want_psnr, rtol=1e-12)
    np.testing.assert_allclose(ssim_per_frame(gen, truth), want_ssim, rtol=1e-12)
    m = short_metrics(torch.zeros(6, 4, 2, 2), torch.zeros(6, 4, 2, 2), gen, truth)
    assert m["psnr"] == pytest.approx(np.mean(want_psnr)) and m["ssim"] == pytest.approx(np.mean(want_ssim))
    # frame 0 is excluded: changing it changes nothing
    gen2 = gen.copy()
    gen2[0] = truth[0]
    assert short_metrics(torch.zeros(6, 4, 2, 2), torch.zeros(6, 4, 2, 2), gen2, truth)["psnr"] == m["psnr"]


def test_identical_frames_are_capped_not_infinite(videos):
    _, truth = videos
    assert np.all(psnr_per_frame(truth, truth) == PSNR_CAP)
    assert np.allclose(ssim_per_frame(truth, truth), 1.0)


def test_latent_l2_is_mse_over_frames_1_to_n():
    t = torch.zeros(4, 2, 3, 3)
    g = t.clone()
    g[0] = 100.0  # context frame: excluded
    g[2] = 2.0  # one of three generated frames off by 2 -> MSE = 4 / 3
    assert latent_l2(g, t) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="shape"):
        latent_l2(g[:3], t)


def test_long_metrics_align_generated_frame_k_with_true_frame_k():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 256, (9, 16, 16, 3), dtype=np.uint8)
    lat = torch.randn(9, 4, 2, 2)
    right = long_metrics(lat, lat, truth.copy(), truth)
    assert right["latent_l2"] == 0 and right["psnr_color"] == PSNR_CAP
    assert len(right["psnr_color_per_frame"]) == 8
    # IRASim's off-by-one (generated k+1 vs true k) would score a perfect video like this shifted one
    shifted = np.concatenate([truth[:1], truth[:-1]])
    wrong = long_metrics(lat, lat, shifted, truth)
    assert wrong["psnr_color"] < 15
    rgb = [peak_signal_noise_ratio(truth[k], shifted[k], data_range=255) for k in range(1, 9)]
    assert wrong["psnr_color"] == pytest.approx(np.mean(rgb))
