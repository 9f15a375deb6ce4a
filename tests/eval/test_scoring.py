"""The ``irasim`` scoring mode against an independent re-derivation of IRASim's evaluation scripts.

The reference below is written the way IRASim's scripts work: clips written with
``imageio.get_writer(path, fps=4)`` (imageio-ffmpeg), read back with ``cv2.VideoCapture``,
the first frame of both files skipped, OpenCV grayscale, scikit-image PSNR / SSIM. One setting
is added: ``-threads 1``, so that the encoder's output does not depend on this machine's core
count (freeaction's writer pins it too). It needs imageio-ffmpeg (the dev extra) and OpenCV
(installed with the arm extra).

On a CPU with AVX-512 the imageio writer is also kept to x264's code up to AVX2, as freeaction's
writer is (:func:`freeaction.media.encoder_options`: PyAV's libx264 is not repeatable with its
AVX-512 code; x264's float rate control gives different bytes on different instruction sets).

Tolerances: freeaction's encode is repeatable and equals imageio's on this machine's CPU, but the
two bundle different libx264 builds, which may choose different code on another CPU; so scores
are compared to :data:`PSNR_TOL` dB and :data:`SSIM_TOL`, far below the size of each IRASim
difference tested.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from freeaction.data.video import read_frames
from freeaction.eval.metrics import PSNR_CAP
from freeaction.eval.scoring import (
    IRASimScoring,
    Scoring,
    clip_features,
    gray_opencv,
    mp4_round_trip,
    scoring_mode,
)
from freeaction.media import encoder_options
from freeaction.vae.autoencoder import quantize_round, quantize_truncate

PSNR_TOL = 0.1
SSIM_TOL = 0.005


def _clip(seed: int, frames: int = 16, size: tuple[int, int] = (64, 64), speed: float = 2.0) -> np.ndarray:
    """A textured background with a dark disc moving right, plus sensor noise: RGB uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 3) % 256, (yy * 2) % 256, ((xx + yy) * 2) % 256], -1).astype(np.float32)
    out = []
    for t in range(frames):
        f = base + 20 * np.sin(t / 3)
        f[(xx - 12 - speed * t) ** 2 + (yy - h / 2) ** 2 < 50] = (20, 30, 40)
        out.append(np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def _perturbed(truth: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(truth.astype(int) + rng.integers(-12, 13, truth.shape), 0, 255).astype(np.uint8)


# -- IRASim's scoring, re-derived ----------------------------------------------------------------
def _imageio_mp4(path: Path, frames: np.ndarray) -> None:
    imageio = pytest.importorskip("imageio")
    pytest.importorskip("imageio_ffmpeg", reason="IRASim's writer is imageio's ffmpeg plugin (dev extra)")
    # the same x264 code freeaction's writer uses (on a CPU with AVX-512, up to AVX2: see freeaction.media)
    cpus = ["-x264-params", encoder_options()["x264-params"]] if "x264-params" in encoder_options() else []
    writer = imageio.get_writer(path, fps=4, output_params=["-threads", "1", *cpus])
    for frame in frames:
        writer.append_data(frame)
    writer.close()


def _opencv_frames(path: Path) -> list[np.ndarray]:
    cv2 = pytest.importorskip("cv2", reason="IRASim reads its videos with OpenCV (arm extra)")
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def irasim_short_reference(pred: np.ndarray, true: np.ndarray, tmp: Path) -> dict[str, float]:
    """Gray PSNR / SSIM of one short clip as IRASim's scripts compute them (frames 1.. of both files)."""
    cv2 = pytest.importorskip("cv2")
    _imageio_mp4(tmp / "pred.mp4", pred)
    _imageio_mp4(tmp / "true.mp4", true)
    psnr, ssim = [], []
    for idx, (f1, f2) in enumerate(
        zip(_opencv_frames(tmp / "pred.mp4"), _opencv_frames(tmp / "true.mp4"), strict=False)
    ):
        if idx == 0:
            continue
        g1, g2 = cv2.cvtColor(f1, cv2.COLOR_BGR2GRAY), cv2.cvtColor(f2, cv2.COLOR_BGR2GRAY)
        psnr.append(peak_signal_noise_ratio(g1, g2, data_range=255))
        ssim.append(structural_similarity(g1, g2))
    return {"psnr": sum(psnr) / len(psnr), "ssim": sum(ssim) / len(ssim)}


def irasim_long_reference(pred: np.ndarray, true_video: Path, tmp: Path) -> float:
    """Colour PSNR of one episode as IRASim's scripts compute it: the generated file holds
    frames 1..n, the true file is the dataset's own video, the first frame of both is skipped."""
    _imageio_mp4(tmp / "pred_episode.mp4", pred[1:])
    psnr = []
    for idx, (f1, f2) in enumerate(
        zip(_opencv_frames(tmp / "pred_episode.mp4"), _opencv_frames(true_video), strict=False)
    ):
        if idx == 0:
            continue
        psnr.append(peak_signal_noise_ratio(f1, f2, data_range=255))
    return sum(psnr) / len(psnr)


# -- the module against it -----------------------------------------------------------------------
@pytest.mark.parametrize("seed, size", [(0, (64, 64)), (1, (48, 80)), (2, (32, 32))])
def test_short_clip_matches_irasim_scripts(tmp_path: Path, seed: int, size: tuple[int, int]) -> None:
    truth = _clip(seed, size=size)
    gen = _perturbed(_clip(seed + 10, size=size, speed=2.5), seed)
    want = irasim_short_reference(gen, truth, tmp_path)
    lat = torch.zeros(16, 4, 2, 2)
    got = scoring_mode("irasim").short(lat, lat, gen, truth)
    assert got["psnr"] == pytest.approx(want["psnr"], abs=PSNR_TOL)
    assert got["ssim"] == pytest.approx(want["ssim"], abs=SSIM_TOL)
    # the round trip is what moves the numbers: freeaction's in-memory scores differ
    plain = scoring_mode("freeaction").short(lat, lat, gen, truth)
    assert plain["psnr"] != got["psnr"] and plain["ssim"] != got["ssim"]


def test_mp4_round_trip_decodes_like_imageio_and_opencv(tmp_path: Path) -> None:
    clip = _clip(3, size=(48, 80))
    _imageio_mp4(tmp_path / "ref.mp4", clip)
    ref = np.stack([f[..., ::-1] for f in _opencv_frames(tmp_path / "ref.mp4")])
    loss = np.abs(ref.astype(int) - clip).mean()
    assert loss > 1  # lossy: the round trip is not the identity
    diff = np.abs(mp4_round_trip(clip).astype(int) - ref).mean()
    assert diff < loss / 2
    assert np.array_equal(mp4_round_trip(clip), mp4_round_trip(clip))  # repeatable


def test_gray_is_opencvs() -> None:
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the reference for the grayscale conversion")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    np.testing.assert_array_equal(gray_opencv(rgb), cv2.cvtColor(rgb[..., ::-1].copy(), cv2.COLOR_BGR2GRAY))


def test_long_episode_matches_irasim_scripts_and_its_off_by_one(tmp_path: Path) -> None:
    _imageio_mp4(tmp_path / "dataset_episode.mp4", _clip(4, frames=23))
    truth = read_frames(tmp_path / "dataset_episode.mp4")  # what the dataset reader hands the evaluation
    lat = torch.zeros(len(truth), 4, 2, 2)
    irasim, freeaction = scoring_mode("irasim"), scoring_mode("freeaction")

    gen = _perturbed(truth, 5)
    got = irasim.long(lat, lat, gen, truth)
    want = irasim_long_reference(gen, tmp_path / "dataset_episode.mp4", tmp_path)
    assert got["psnr_color"] == pytest.approx(want, abs=PSNR_TOL)
    assert len(got["psnr_color_per_frame"]) == len(truth) - 2  # generated 2..n against true 1..n-1

    # a perfect model: identical under freeaction's alignment, one frame of motion off under IRASim's
    perfect = truth.copy()
    assert freeaction.long(lat, lat, perfect, truth)["psnr_color"] == PSNR_CAP
    scored = irasim.long(lat, lat, perfect, truth)["psnr_color"]
    want = irasim_long_reference(perfect, tmp_path / "dataset_episode.mp4", tmp_path)
    assert scored == pytest.approx(want, abs=PSNR_TOL)
    assert 10 < scored < 40


def test_truncation_drops_the_fraction() -> None:
    x = torch.linspace(-1, 1, 100_001)
    trunc, rounded = quantize_truncate(x), quantize_round(x)
    diff = rounded.int() - trunc.int()
    assert set(diff.unique().tolist()) == {0, 1}  # never above the rounded level, at most one below
    assert diff.float().mean().item() == pytest.approx(0.5, abs=0.02)
    assert trunc[-1] == 255 and trunc[0] == 0
    assert quantize_truncate(torch.tensor([2 * 3.7 / 255 - 1])).item() == 3  # 3.7 levels -> 3
    assert quantize_round(torch.tensor([2 * 3.7 / 255 - 1])).item() == 4
    assert IRASimScoring.quantize == "truncate" and Scoring.quantize == "round"


def _stand_in(clip: np.ndarray) -> np.ndarray:
    """A stand-in FVD network: (1, 3) features = clip length, mean level, left-minus-right mean."""
    half = clip.shape[2] // 2
    c = clip.astype(np.float64)
    return np.array([[len(clip), c.mean(), c[:, :, :half].mean() - c[:, :, half:].mean()]])


def test_fvd_clip_selection_and_mirroring() -> None:
    real = _clip(6)
    assert real[:, :, :32].mean() != pytest.approx(real[:, :, 32:].mean(), abs=1)  # asymmetric
    irasim, freeaction = scoring_mode("irasim"), scoring_mode("freeaction")

    gen = clip_features(irasim, _stand_in, "fvd", real, real=False)
    np.testing.assert_allclose(gen, _stand_in(real[1:16]))  # frames 1..15, no round trip

    feats = clip_features(irasim, _stand_in, "fvd", real, real=True)
    assert feats.shape == (2, 3) and (feats[:, 0] == 15).all()  # the real set doubled
    # the true frames after the round trip (another encode of them: equal up to the encoder's jitter)
    np.testing.assert_allclose(feats[0], _stand_in(mp4_round_trip(real)[1:16])[0], atol=0.5)
    assert abs(feats[0, 1] - _stand_in(real[1:16])[0, 1]) > 1e-3  # not the frames as they are
    np.testing.assert_allclose(feats[1, :2], feats[0, :2])  # the mirror image: same length, same level,
    assert feats[1, 2] == pytest.approx(-feats[0, 2])  # left and right swapped

    np.testing.assert_allclose(clip_features(freeaction, _stand_in, "fvd", real, real=True), _stand_in(real))
    # FID takes the frames as they are under both modes
    np.testing.assert_allclose(clip_features(irasim, _stand_in, "fid", real, real=True), _stand_in(real))


def test_scoring_mode_names() -> None:
    assert scoring_mode("freeaction").name == "freeaction" and scoring_mode("irasim").name == "irasim"
    with pytest.raises(ValueError, match="freeaction, irasim"):
        scoring_mode("IRASim")
    with pytest.raises(ValueError, match="multiples of 16"):
        mp4_round_trip(np.zeros((2, 20, 32, 3), np.uint8))


def test_evaluate_records_and_shows_the_scoring(eval_workspace, tmp_path: Path) -> None:
    import json

    from eval_helpers import write_config

    from freeaction.errors import InputError
    from freeaction.eval import evaluate, load_eval_config, load_results
    from freeaction.report import build_report

    means = {}
    for mode in ("freeaction", "irasim"):
        cfg = write_config(
            eval_workspace / f"scoring_{mode}.yaml", out=str(tmp_path / mode), clips=2, seeds=1, save_videos=0,
            methods=["unguided"], protocols=["short", "long"], episodes=1, long_max_actions=18, scoring=mode,
        )
        evaluate(load_eval_config(cfg), progress=False, report=build_report)
        run = json.loads((tmp_path / mode / "run.json").read_text())
        assert run["settings"]["scoring"] == mode
        assert f"Scoring: `{mode}`" in (tmp_path / mode / "table.md").read_text()
        assert f"scoring <b>{mode}</b>" in (tmp_path / mode / "index.html").read_text()
        rows = load_results(tmp_path / mode)
        samples = [r for r in rows if r["kind"] == "sample"]
        means[mode] = {
            "psnr": np.mean([r["psnr"] for r in samples if r["protocol"] == "short"]),
            "frames": [len(r["psnr_color_per_frame"]) for r in samples if r["protocol"] == "long"],
            "latent_l2": [r["latent_l2"] for r in samples],
        }
        ref = [r for r in rows if r["kind"] == "reference" and r["protocol"] == "short"]
        assert all(np.isfinite(r["vae_psnr"]) and np.isfinite(r["vae_ssim"]) for r in ref)
    assert means["irasim"]["psnr"] != means["freeaction"]["psnr"]
    assert means["irasim"]["latent_l2"] == means["freeaction"]["latent_l2"]  # same samples, same latent metric
    assert means["irasim"]["frames"] == [f - 1 for f in means["freeaction"]["frames"]]  # k+1 vs k drops one
    resumed = write_config(
        eval_workspace / "scoring_switch.yaml", out=str(tmp_path / "freeaction"), clips=2, seeds=1, save_videos=0,
        methods=["unguided"], protocols=["short", "long"], episodes=1, long_max_actions=18, scoring="irasim",
    )
    with pytest.raises(InputError, match="scoring"):
        evaluate(load_eval_config(resumed), progress=False)
