"""Clip throughput of every dataset reader on the same episodes.

Makes (or takes, with --dataset) a small IRASim-layout dataset, converts it to LeRobot v2.1,
LeRobot v3.0 and RLDS TFRecords, then reads random training clips (frames decoded, no
latents) from each and prints clips per second. Also times the statistics pass (JSON only).

    python benchmarks/bench_readers.py                      # pusher simulator if installed
    python benchmarks/bench_readers.py --dataset data/pusher --clips 200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def make_source(out: Path, episodes: int, size: tuple[int, int], seed: int) -> tuple[Path, str]:
    try:
        from freeaction.sim import make_dataset

        make_dataset("pusher", out, episodes=episodes, seed=seed, workers=1, size=size, progress=False)
        return out, "pusher simulator"
    except ImportError:
        from freeaction.data.synthetic import make_synthetic_dataset

        make_synthetic_dataset(out, episodes, kind="2d", length=48, size=size, seed=seed)
        return out, "synthetic moving squares"


def bench(ds, clips: int, seed: int) -> tuple[float, int]:
    order = np.random.default_rng(seed).permutation(len(ds))[:clips]
    ds[int(order[0])]  # warm-up (imports, first file open)
    t0 = time.perf_counter()
    for k in order:
        clip = ds[int(k)]
        assert clip.frames is not None and len(clip.frames) == ds.num_frames
    return len(order) / (time.perf_counter() - t0), len(order)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None, help="IRASim-layout dataset (default: make one)")
    ap.add_argument("--episodes", type=int, default=12, help="episodes to make when --dataset is not given")
    ap.add_argument("--size", default="64x64", help="frame size HxW of a made dataset")
    ap.add_argument("--clips", type=int, default=100, help="random training clips read per reader")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from freeaction.data.convert import convert
    from freeaction.data.open import open_dataset
    from freeaction.data.stats import compute_stats

    with tempfile.TemporaryDirectory(prefix="bench_readers_") as tmp:
        tmp = Path(tmp)
        if args.dataset is None:
            h, w = (int(x) for x in args.size.split("x"))
            t0 = time.perf_counter()
            src, what = make_source(tmp / "irasim", args.episodes, (h, w), args.seed)
            print(f"made {args.episodes} episodes ({what}, {h}x{w}) in {time.perf_counter() - t0:.1f} s")
        else:
            src, what = args.dataset, "given"
        targets = {"irasim": src}
        for name, to, kw in [
            ("lerobot-v2.1", "lerobot", {"version": "v2.1"}),
            ("lerobot-v3.0", "lerobot", {"version": "v3.0"}),
            ("rlds", "rlds", {}),
        ]:
            t0 = time.perf_counter()
            convert(src, to, tmp / name, **kw)
            targets[name] = tmp / name
            print(f"converted to {name} in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        stats = compute_stats(open_dataset(src, "train", frames=False, latents=False))
        print(f"stats: {stats['num_clips']} clips, mu_act {stats['mu_act']:.3f}, {time.perf_counter() - t0:.2f} s")
        print(f"\n{'reader':14s} {'episodes':>8s} {'clips':>7s} {'frame':>9s} {'clips/s':>9s}")
        for name, path in targets.items():
            ds = open_dataset(path, "train", frames=True, latents=False)
            rate, n = bench(ds, args.clips, args.seed)
            h, w = ds[0].frames.shape[1:3]
            print(f"{name:14s} {ds.num_episodes:8d} {len(ds):7d} {f'{h}x{w}':>9s} {rate:9.1f}  ({n} random clips)")


if __name__ == "__main__":
    main()
