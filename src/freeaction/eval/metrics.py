"""Per-clip video metrics of the evaluation protocol (docs/method.md §4), IRASim's with its defects fixed.

Short protocol (1 context frame + 15 generated frames):

- **PSNR / SSIM**: per frame on 8-bit grayscale frames, with scikit-image's definitions
  (``peak_signal_noise_ratio(data_range=255)``, ``structural_similarity(data_range=255)``:
  7x7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance), averaged over frames 1..n
  (frame 0, the given context frame, is always excluded). Grayscale is PIL's ``"L"`` mode,
  ITU-R 601 luma ``L = (299 R + 587 G + 114 B) / 1000`` rounded to uint8. A frame identical to
  the truth has infinite PSNR; it is capped at :data:`PSNR_CAP` dB so that means stay finite.
- **Latent L2**: mean squared error between the generated and the true *scaled* VAE latents
  over frames 1..n (every element weighs the same).

Long protocol (a whole episode, generated autoregressively): Latent L2 and *colour* PSNR
(RGB, ``data_range=255``, per frame then averaged) over all generated frames 1..n. Frames are
aligned correctly: generated frame k is compared with true frame k. IRASim's evaluation script
compared generated frame k + 1 with true frame k (an off-by-one that penalises every model by
one frame of motion); this module does not.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

PSNR_CAP = 100.0
"""PSNR (dB) reported for a frame identical to the truth (the exact value is +inf)."""


def to_gray(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., H, W, 3) -> 8-bit grayscale (..., H, W) with PIL's ITU-R 601 ``"L"`` conversion."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be RGB uint8 (..., H, W, 3), got {frames.dtype} {frames.shape}")
    flat = frames.reshape(-1, *frames.shape[-3:])
    gray = np.stack([np.asarray(Image.fromarray(f).convert("L")) for f in flat])
    return gray.reshape(*frames.shape[:-1])


def _check_pair(generated: np.ndarray, truth: np.ndarray) -> None:
    if generated.shape != truth.shape:
        raise ValueError(f"generated frames {generated.shape} and true frames {truth.shape} differ in shape")
    if len(generated) < 2:
        raise ValueError("need at least 2 frames (frame 0 is the context and is excluded)")


def frame_psnr(truth: np.ndarray, generated: np.ndarray) -> float:
    """PSNR (dB, ``data_range=255``) of one frame, :data:`PSNR_CAP` where the frames are identical."""
    if np.array_equal(truth, generated):
        return PSNR_CAP
    return min(float(peak_signal_noise_ratio(truth, generated, data_range=255)), PSNR_CAP)


def psnr_per_frame(generated: np.ndarray, truth: np.ndarray, gray: bool = True) -> np.ndarray:
    """PSNR (dB) of frames 1..n: (n,). ``gray=False`` compares the RGB frames (colour PSNR)."""
    _check_pair(generated, truth)
    if gray:
        generated, truth = to_gray(generated), to_gray(truth)
    return np.array([frame_psnr(t, g) for g, t in zip(generated[1:], truth[1:], strict=True)])


def ssim_per_frame(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """SSIM of frames 1..n on 8-bit grayscale (scikit-image defaults, ``data_range=255``): (n,)."""
    _check_pair(generated, truth)
    g, t = to_gray(generated), to_gray(truth)
    return np.array([structural_similarity(b, a, data_range=255) for a, b in zip(g[1:], t[1:], strict=True)])


def latent_l2(generated: torch.Tensor | np.ndarray, truth: torch.Tensor | np.ndarray) -> float:
    """MSE between generated and true scaled latents (n + 1, C, h, w) over frames 1..n."""
    g = torch.as_tensor(generated, dtype=torch.float32).cpu()
    t = torch.as_tensor(truth, dtype=torch.float32).cpu()
    if g.shape != t.shape:
        raise ValueError(f"generated latents {tuple(g.shape)} and true latents {tuple(t.shape)} differ in shape")
    if len(g) < 2:
        raise ValueError("need at least 2 latent frames (frame 0 is the context and is excluded)")
    return float(((g[1:] - t[1:]) ** 2).mean())


def short_metrics(
    generated_latents: torch.Tensor,
    true_latents: torch.Tensor,
    generated_frames: np.ndarray | None,
    true_frames: np.ndarray | None,
) -> dict[str, float]:
    """The short-protocol metrics of one generated clip: ``latent_l2`` and, with frames, ``psnr``, ``ssim``."""
    out = {"latent_l2": latent_l2(generated_latents, true_latents)}
    if generated_frames is not None and true_frames is not None:
        out["psnr"] = float(psnr_per_frame(generated_frames, true_frames).mean())
        out["ssim"] = float(ssim_per_frame(generated_frames, true_frames).mean())
    return out


def long_metrics(
    generated_latents: torch.Tensor,
    true_latents: torch.Tensor,
    generated_frames: np.ndarray | None,
    true_frames: np.ndarray | None,
) -> dict[str, float | list[float]]:
    """The long-protocol metrics of one episode, generated frame k against true frame k (k >= 1).

    ``latent_l2`` and, with frames, ``psnr_color`` (mean over frames) and ``psnr_color_per_frame``.
    """
    out: dict[str, float | list[float]] = {"latent_l2": latent_l2(generated_latents, true_latents)}
    if generated_frames is not None and true_frames is not None:
        per_frame = psnr_per_frame(generated_frames, true_frames, gray=False)
        out["psnr_color"] = float(per_frame.mean())
        out["psnr_color_per_frame"] = [round(float(v), 4) for v in per_frame]
    return out


# Which way is better, for every metric the evaluation reports (used by statistics and the report);
# None: no better direction (diversity is what truncation trades away on purpose).
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "psnr": True,
    "ssim": True,
    "psnr_color": True,
    "latent_l2": False,
    "idm_error": False,
    "ee_error": False,
    "ee_missing": False,
    "block_error_px": False,
    "blocks_kept": True,
    "robot_iou": True,
    "robot_iou_final": True,
    "robot_iou_moving": True,
    "robot_iou_moving_final": True,
    "gripper_agreement": True,
    "diversity_pixel_std": None,
    "diversity_latent_l2": None,
}
