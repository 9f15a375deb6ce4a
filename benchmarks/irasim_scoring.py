"""How much each of IRASim's scoring differences moves the numbers, on simulator clips.

    freeaction data make pusher data/pusher --episodes 20
    python benchmarks/irasim_scoring.py data/pusher --clips 24 --episodes 4   # shipped pusher-64

Samples short clips (1 + 15 actions) and whole episodes with the shipped ``pusher-64`` (its
card's sampler: DDPM, 50 steps), then scores the same samples under ``freeaction`` scoring, under
each IRASim difference alone (MP4 round trip, truncation, OpenCV grayscale; long: the k+1 vs k
alignment) and under ``irasim`` scoring, and a "perfect model" (the true episode itself) in the
long protocol. Prints JSON: means over clips, and each difference to ``freeaction``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from skimage.metrics import structural_similarity

from freeaction.data import open_dataset
from freeaction.eval.metrics import frame_psnr, to_gray
from freeaction.eval.scoring import gray_opencv, mp4_round_trip, scoring_mode
from freeaction.pipeline import WorldModel


def short_scores(gen: np.ndarray, truth: np.ndarray, round_trip: bool, gray) -> tuple[float, float]:
    """(gray PSNR, SSIM) over frames 1.. with the MP4 round trip or not and the given grayscale."""
    if round_trip:
        gen, truth = mp4_round_trip(gen), mp4_round_trip(truth)
    g, t = gray(gen[1:]), gray(truth[1:])
    psnr = np.mean([frame_psnr(b, a) for a, b in zip(g, t, strict=True)])
    ssim = np.mean([structural_similarity(a, b, data_range=255) for a, b in zip(g, t, strict=True)])
    return float(psnr), float(ssim)


def latents_of(wm: WorldModel, clip) -> torch.Tensor:
    return torch.as_tensor(clip.latents).float() if clip.latents is not None else wm.encode(clip.frames).cpu()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset")
    p.add_argument("--split", default="train")
    p.add_argument("--clips", type=int, default=24)
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--checkpoint", default="pusher-64")
    args = p.parse_args()

    wm = WorldModel.load(args.checkpoint, device="cpu")
    ds = open_dataset(args.dataset, args.split, num_frames=16, frames=True)
    clips = [ds[int(i)] for i in np.linspace(0, len(ds) - 1, args.clips).round().astype(int)]
    true_latents = [latents_of(wm, c) for c in clips]
    actions = torch.stack([torch.as_tensor(np.asarray(c.actions)) for c in clips])
    generated = wm.generate_batch(
        torch.stack([t[0] for t in true_latents]), actions, sampler="ddpm", steps=50, seeds=list(range(len(clips)))
    ).cpu()

    variants = {
        "freeaction": ("round", False, to_gray),
        "round_trip_only": ("round", True, to_gray),
        "truncation_only": ("truncate", False, to_gray),
        "opencv_gray_only": ("round", False, gray_opencv),
        "irasim": ("truncate", True, gray_opencv),
    }
    scores: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    for clip, lat in zip(clips, generated, strict=True):
        frames = {q: wm.decode(lat, quantize=q) for q in ("round", "truncate")}
        for name, (quantize, round_trip, gray) in variants.items():
            scores[name].append(short_scores(frames[quantize], clip.frames, round_trip, gray))
    base = np.array(scores["freeaction"])
    out: dict[str, object] = {"checkpoint": args.checkpoint, "clips": len(clips)}
    for name, values in scores.items():
        v = np.array(values)
        d = v - base
        out[name] = {
            "psnr": round(float(v[:, 0].mean()), 3),
            "ssim": round(float(v[:, 1].mean()), 4),
            "psnr_difference": round(float(d[:, 0].mean()), 3),
            "ssim_difference": round(float(d[:, 1].mean()), 4),
            "ssim_difference_range": [round(float(d[:, 1].min()), 4), round(float(d[:, 1].max()), 4)],
        }

    freeaction, irasim = scoring_mode("freeaction"), scoring_mode("irasim")
    long: dict[str, list[float]] = {
        k: []
        for k in (
            "freeaction",
            "alignment_only",
            "irasim",
            "perfect_freeaction",
            "perfect_alignment_only",
            "perfect_irasim",
        )
    }
    for e in np.linspace(0, ds.num_episodes - 1, args.episodes).round().astype(int):
        ep = ds.episode(int(e))
        truth = ep.frames[: len(ep.actions) + 1]
        lat = latents_of(wm, ep)[: len(ep.actions) + 1]
        gen_lat = wm.generate(lat[0], torch.as_tensor(np.asarray(ep.actions)), sampler="ddpm", steps=50, seed=int(e))
        gen_lat = gen_lat.cpu()
        rounded, truncated = wm.decode(gen_lat, quantize="round"), wm.decode(gen_lat, quantize="truncate")
        shifted = range(1, len(truth) - 1)
        long["freeaction"].append(freeaction.long(gen_lat, lat, rounded, truth)["psnr_color"])
        long["alignment_only"].append(float(np.mean([frame_psnr(truth[k], rounded[k + 1]) for k in shifted])))
        long["irasim"].append(irasim.long(gen_lat, lat, truncated, truth)["psnr_color"])
        long["perfect_freeaction"].append(freeaction.long(lat, lat, truth, truth)["psnr_color"])
        long["perfect_alignment_only"].append(float(np.mean([frame_psnr(truth[k], truth[k + 1]) for k in shifted])))
        long["perfect_irasim"].append(irasim.long(lat, lat, truth, truth)["psnr_color"])
    out["long_episodes"] = args.episodes
    out["long_psnr_color"] = {k: round(float(np.mean(v)), 3) for k, v in long.items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
