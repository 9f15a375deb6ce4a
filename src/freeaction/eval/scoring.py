"""The two ways ``freeaction evaluate`` can score a generated video: ``freeaction`` and ``irasim``.

``freeaction`` (the default) is the protocol of :mod:`freeaction.eval.metrics`: in-memory 8-bit
frames, rounded quantisation, generated frame k against true frame k.

``irasim`` reproduces what IRASim's evaluation scripts compute, so that its published numbers
can be compared with like for like. It differs in four ways:

1. **MP4 round trip.** The scripts write each clip with ``imageio.get_writer(path, fps=4)``
   and read it back with OpenCV before scoring. imageio's ffmpeg writer passes no quality, so
   libx264 runs at its defaults: CRF 23, preset medium, yuv420p, the RGB -> YUV conversion done
   by the ffmpeg command line's scaler (bicubic chroma filter). :func:`mp4_round_trip` does the
   same with PyAV (one encoder thread and no AVX-512 code, :func:`freeaction.media.encoder_options`,
   so the bytes do not depend on the machine's core count or change from call to call);
   decoded, its frames equal imageio-ffmpeg's on the clips tested. Short protocol: the
   generated and the true clip both go through it. Long protocol: only the generated episode
   does (the true episode is the dataset's own video, which the dataset reader has decoded).
   Frame sizes must be multiples of 16 (imageio would rescale others).
2. **Truncation.** Generated frames are made 8-bit by ``((x / 2 + 0.5).clamp(0, 1) * 255)`` cast
   to uint8 (the fraction dropped) instead of rounded: :attr:`Scoring.quantize` tells the
   decoder which (:func:`freeaction.vae.decode`).
3. **Long-trajectory alignment.** The generated episode file holds frames 1..n (no context
   frame), the true file frames 0..n, and the script skips the first frame of both, so it
   compares generated frame k + 1 with true frame k (k = 1..n-1). Colour PSNR only.
4. **FVD clips.** FVD (StyleGAN-V's ``fvd_15f`` with ``--mirror 1``) sees frames 1..15 of each
   clip: the generated frames as made (PNG, no MP4 round trip), the true frames after the round
   trip, and the real set doubled by each clip's horizontal mirror image.

Per frame, both modes use scikit-image's PSNR (``data_range=255``) and SSIM (7x7 window). The
short protocol converts to grayscale with OpenCV's ``COLOR_BGR2GRAY`` under ``irasim``
(fixed-point ITU-R 601, :func:`gray_opencv`) and PIL's ``"L"`` under ``freeaction``; the two
differ by at most one level. Latent L2 is the same in both: the MSE of the scaled latents over
frames 1..n. A frame identical to its truth scores :data:`~freeaction.eval.metrics.PSNR_CAP`
in both modes (IRASim's script would average an infinity).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skimage.metrics import structural_similarity

from freeaction.data.video import read_frames
from freeaction.eval.metrics import frame_psnr, latent_l2, long_metrics, psnr_per_frame, short_metrics, ssim_per_frame
from freeaction.media import VideoWriter

SCORING_MODES = ("freeaction", "irasim")
"""The scoring modes ``scoring:`` accepts; the first is the default."""

IRASIM_FPS = 4
IRASIM_FVD_FRAMES = 15
"""FVD clip length of IRASim's evaluation (frames 1..15)."""
IRASIM_MP4 = {"crf": 23, "pix_fmt": "yuv420p", "options": {"preset": "medium", "threads": "1"}}
"""libx264 settings of ``imageio.get_writer(path, fps=4)`` (threads pinned: see the module doc)."""
MACRO_BLOCK = 16


class Scoring:
    """One scoring mode: per-clip metrics from generated and true frames and latents.

    ``quantize`` names how the generated frames are to be made 8-bit (``"round"`` or
    ``"truncate"``); the frames handed to :meth:`short` / :meth:`long` are assumed made so.
    """

    name = "freeaction"
    quantize = "round"

    def frame_metrics(self, protocol: str, generated: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
        """Frame metrics of one clip: short ``psnr``, ``ssim``; long ``psnr_color`` (+ per frame)."""
        if protocol == "short":
            return {
                "psnr": float(psnr_per_frame(generated, truth).mean()),
                "ssim": float(ssim_per_frame(generated, truth).mean()),
            }
        per_frame = psnr_per_frame(generated, truth, gray=False)
        return {"psnr_color": float(per_frame.mean()), "psnr_color_per_frame": [round(float(v), 4) for v in per_frame]}

    def short(
        self,
        generated_latents: torch.Tensor,
        true_latents: torch.Tensor,
        generated_frames: np.ndarray | None,
        true_frames: np.ndarray | None,
    ) -> dict[str, Any]:
        """Short-protocol metrics of one clip: ``latent_l2`` and, with frames, ``psnr``, ``ssim``."""
        return short_metrics(generated_latents, true_latents, generated_frames, true_frames)

    def long(
        self,
        generated_latents: torch.Tensor,
        true_latents: torch.Tensor,
        generated_frames: np.ndarray | None,
        true_frames: np.ndarray | None,
    ) -> dict[str, Any]:
        """Long-protocol metrics of one episode: ``latent_l2`` and, with frames, ``psnr_color`` (+ per frame)."""
        return long_metrics(generated_latents, true_latents, generated_frames, true_frames)

    def fvd_clips(self, frames: np.ndarray, real: bool) -> list[np.ndarray]:
        """The clips (T, H, W, 3) the FVD network sees for one video: the whole video."""
        return [frames]


class IRASimScoring(Scoring):
    """IRASim's evaluation scripts reproduced (see the module doc for each difference)."""

    name = "irasim"
    quantize = "truncate"

    def frame_metrics(self, protocol: str, generated: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
        if protocol == "short":
            g, t = mp4_round_trip(generated), mp4_round_trip(truth)
            pairs = list(zip(gray_opencv(g[1:]), gray_opencv(t[1:]), strict=True))
            return {
                "psnr": float(np.mean([frame_psnr(b, a) for a, b in pairs])),
                "ssim": float(np.mean([structural_similarity(a, b, data_range=255) for a, b in pairs])),
            }
        g = mp4_round_trip(generated[1:])  # the episode file holds generated frames 1..n
        n = min(len(g), len(truth))  # the script stops at the shorter video
        per_frame = np.array([frame_psnr(truth[k], g[k]) for k in range(1, n)])  # file frame k: generated k + 1
        return {"psnr_color": float(per_frame.mean()), "psnr_color_per_frame": [round(float(v), 4) for v in per_frame]}

    def short(self, generated_latents, true_latents, generated_frames, true_frames):  # noqa: D102
        out: dict[str, Any] = {"latent_l2": latent_l2(generated_latents, true_latents)}
        if generated_frames is not None and true_frames is not None:
            _check_clips(generated_frames, true_frames, 2)
            out.update(self.frame_metrics("short", generated_frames, true_frames))
        return out

    def long(self, generated_latents, true_latents, generated_frames, true_frames):  # noqa: D102
        out: dict[str, Any] = {"latent_l2": latent_l2(generated_latents, true_latents)}
        if generated_frames is not None and true_frames is not None:
            _check_clips(generated_frames, true_frames, 3)
            out.update(self.frame_metrics("long", generated_frames, true_frames))
        return out

    def fvd_clips(self, frames: np.ndarray, real: bool) -> list[np.ndarray]:
        """Frames 1..15; a real clip after the MP4 round trip, with its horizontal mirror image."""
        if not real:
            return [frames[1 : 1 + IRASIM_FVD_FRAMES]]
        clip = mp4_round_trip(frames)[1 : 1 + IRASIM_FVD_FRAMES]
        return [clip, np.ascontiguousarray(clip[:, :, ::-1])]


SCORINGS: dict[str, Scoring] = {"freeaction": Scoring(), "irasim": IRASimScoring()}


def scoring_mode(name: str) -> Scoring:
    """The :class:`Scoring` called ``name`` (one of :data:`SCORING_MODES`)."""
    if name not in SCORINGS:
        raise ValueError(f"scoring must be one of {', '.join(SCORING_MODES)}, got {name!r}")
    return SCORINGS[name]


def clip_features(
    scoring: Scoring, extractor: Callable[[np.ndarray], np.ndarray], kind: str, frames: np.ndarray, real: bool
) -> np.ndarray:
    """(k, F) features of one video: FVD over the scoring's clips, FID as the extractor takes frames."""
    clips = scoring.fvd_clips(frames, real) if kind == "fvd" else [frames]
    return np.concatenate([extractor(c) for c in clips])


def _check_clips(generated: np.ndarray, truth: np.ndarray, least: int) -> None:
    if generated.shape != truth.shape:
        raise ValueError(f"generated frames {generated.shape} and true frames {truth.shape} differ in shape")
    if len(generated) < least:
        raise ValueError(f"need at least {least} frames (frame 0 is the context and is excluded)")


def gray_opencv(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., H, W, 3) -> grayscale as OpenCV's ``COLOR_BGR2GRAY`` computes it for 8-bit
    images: ``(9798 R + 19235 G + 3735 B + 2^14) >> 15``."""
    f = np.asarray(frames)
    if f.dtype != np.uint8 or f.shape[-1] != 3:
        raise ValueError(f"frames must be RGB uint8 (..., H, W, 3), got {f.dtype} {f.shape}")
    c = f.astype(np.int32)
    return ((c[..., 0] * 9798 + c[..., 1] * 19235 + c[..., 2] * 3735 + (1 << 14)) >> 15).astype(np.uint8)


def mp4_round_trip(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 (T, H, W, 3) written as imageio's default H.264 MP4 (:data:`IRASIM_MP4`) and decoded back."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    h, w = frames.shape[1:3]
    if h % MACRO_BLOCK or w % MACRO_BLOCK:
        raise ValueError(
            f"irasim scoring needs frame sizes that are multiples of {MACRO_BLOCK} (imageio rescales others), "
            f"got {w}x{h} (WxH)"
        )
    with tempfile.TemporaryDirectory(prefix="freeaction-irasim-") as tmp:
        path = Path(tmp) / "clip.mp4"
        with VideoWriter(path, fps=IRASIM_FPS, rgb_to_yuv="BICUBIC", **IRASIM_MP4) as writer:
            writer.write(frames)
        return read_frames(path)
