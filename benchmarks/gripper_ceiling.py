"""The autoencoder's gripper ceiling: how many test frames the gripper reader still reads right
after they pass through an autoencoder (encoder mean, then decoder), which bounds any world
model's ``gripper_agreement`` (docs/evaluation.md §7).

    python benchmarks/gripper_ceiling.py runs/arm-64-w2/vae-2/vae --dataset runs/arm-64-w2/data
    python benchmarks/gripper_ceiling.py VAE_A VAE_B --dataset DATA --reader READER.safetensors
    python benchmarks/gripper_ceiling.py VAE --dataset DATA --by-view     # + by the camera's view of the fingers

Prints, per autoencoder, the share of frames read right (all, and by gripper state: open <= 0.05,
moving 0.05-0.2, holding 0.2-0.5, shut > 0.5 of ``continuous_gripper_state``), whole-frame PSNR
and, for painted worlds, the PSNR inside the gripper window; the first line is the true frames'
(the reader's own ceiling). ``--reader`` defaults to the dataset's cached reader
(:func:`freeaction.eval.objects.reader_for_dataset`, trained there when missing).

``--by-view`` also splits every figure by the angle between the fingers' opening axis (the grip
site's x axis, from the annotation's ``state``) and the camera's line of sight (from its
``camera``): at 90 degrees the camera sees the whole opening, towards 0 the fingers hide each other.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from freeaction.data import open_dataset
from freeaction.data.paint import gripper_window_corners, gripper_window_side, window_masks
from freeaction.data.poses import euler_to_matrix
from freeaction.eval.objects.gripper import CLOSED_ABOVE, gripper_paint, load_reader, reader_for_dataset
from freeaction.vae import decode, encode, load_vae

BUCKETS = {"open": (-np.inf, 0.05), "moving": (0.05, 0.2), "holding": (0.2, 0.5), "shut": (0.5, np.inf)}
VIEW_BINS = (0, 45, 60, 75, 90)  # degrees between the opening axis and the line of sight


def view_angles(annotation: dict) -> np.ndarray:
    """Per frame, the angle (degrees, 0..90) between the fingers' opening axis (the grip site's x axis;
    the arm's base frame is world-aligned) and the camera's line of sight."""
    axis = euler_to_matrix(np.asarray(annotation["state"], np.float64)[:, 3:6])[..., :, 0]
    camera = annotation["camera"]
    sight = np.asarray(camera["target"], np.float64) - np.asarray(camera["position"], np.float64)
    cos = np.abs(axis @ (sight / np.linalg.norm(sight)))
    return np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))


def test_frames(dataset: str, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All frames of ``split`` (the first ``limit``), their continuous gripper states and view angles."""
    ds = open_dataset(dataset, split, frames=True, latents=False)
    frames, states, views = [], [], []
    for i in range(ds.num_episodes):
        ep = ds.episode(i)
        with open(ep.meta["annotation"], encoding="utf-8") as f:
            annotation = json.load(f)
        span = slice(ep.start, ep.start + len(ep.frames))
        frames.append(ep.frames)
        states.append(np.asarray(annotation["continuous_gripper_state"], np.float32)[span])
        views.append(view_angles(annotation)[span])
        if limit is not None and sum(map(len, frames)) >= limit:
            break
    return np.concatenate(frames)[:limit], np.concatenate(states)[:limit], np.concatenate(views)[:limit]


def read_right(reader, frames: np.ndarray, state: np.ndarray, view: np.ndarray | None = None) -> dict[str, float]:  # noqa: ANN001
    """Share read right: all, by gripper state and, with ``view``, by view angle (``"view 60-75"``...)."""
    ok = reader.read(frames) == (state > CLOSED_ABOVE)
    groups = {name: (state > lo) & (state <= hi) for name, (lo, hi) in BUCKETS.items()}
    if view is not None:
        for lo, hi in zip(VIEW_BINS[:-1], VIEW_BINS[1:], strict=True):
            groups[f"view {lo}-{hi}"] = (view >= lo) & (view < hi if hi < 90 else view <= hi)
    out = {"all": float(ok.mean())}
    for name, inside in groups.items():
        out[name] = float(ok[inside].mean()) if inside.any() else float("nan")
    return out


def psnr(err: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / err.mean()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vae", nargs="+", help="autoencoder folder(s) (diffusers AutoencoderKL)")
    p.add_argument("--dataset", required=True, help="an arm dataset (IRASim layout, continuous_gripper_state)")
    p.add_argument("--split", default="test")
    p.add_argument("--reader", default=None, help="a gripper reader's .safetensors (default: the dataset's cached one)")
    p.add_argument("--frames", type=int, default=None, help="only the split's first N frames")
    p.add_argument("--by-view", action="store_true", help="also by the camera's view of the fingers (module doc)")
    args = p.parse_args()
    frames, state, view = test_frames(args.dataset, args.split, args.frames)
    view = view if args.by_view else None
    h, w = frames.shape[1:3]
    reader = load_reader(args.reader) if args.reader else reader_for_dataset(args.dataset, (h, w), progress=True)
    paint = gripper_paint(args.dataset, args.split)
    window = None
    if paint is not None:
        side = gripper_window_side(h, w)
        window = window_masks(gripper_window_corners(frames, paint, side), side, h, w)

    def line(name: str, read: dict[str, float], extra: str = "") -> None:
        buckets = " ".join(f"{k} {v:.1%}" for k, v in read.items() if k != "all")
        print(f"{name}: {read['all']:.2%} read right ({buckets}){extra}", flush=True)

    print(f"{len(frames)} {args.split} frames of {args.dataset}")
    if view is not None:
        counts = np.histogram(view, bins=VIEW_BINS)[0]
        print("frames by view angle (opening axis to line of sight, degrees): " + ", ".join(
            f"{lo}-{hi} {n}" for lo, hi, n in zip(VIEW_BINS[:-1], VIEW_BINS[1:], counts, strict=True)))
    line("true frames", read_right(reader, frames, state, view))
    for folder in args.vae:
        t0 = time.perf_counter()
        vae = load_vae(folder)
        with torch.no_grad():
            decoded = decode(vae, encode(vae, frames))
        err = (decoded.astype(np.float64) - frames) ** 2
        extra = f"; PSNR {psnr(err):.2f} dB"
        if window is not None:
            extra += f", gripper window {psnr(err[window]):.2f} dB"
        line(folder, read_right(reader, decoded, state, view), f"{extra} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
