"""Simulator dataset throughput: frames per second end to end (simulate, render, encode, write).

    python benchmarks/bench_sim.py                  # pusher, 64x64, 1 and 2 processes
    python benchmarks/bench_sim.py --episodes 400 --size 64 64 --workers 1 2 4

For each kind it prints the in-process simulate+render rate (no video) and the
``make_dataset`` rate into a fresh temporary folder for each worker count (pool start-up
included). The ``arm`` kind is measured when ``freeaction.sim.arm`` imports (it needs
``pip install freeaction[arm]``); otherwise the reason is printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from freeaction.sim import MissingDependencyError, load_kind, make_dataset


def render_rate(kind: str, episodes: int, size: tuple[int, int]) -> float:
    """Frames per second of ``generate_episode`` alone, in this process."""
    module = load_kind(kind)
    start, frames = time.perf_counter(), 0
    for i in range(episodes):
        frames += len(module.generate_episode(i, 0, size)[0])
    return frames / (time.perf_counter() - start)


def dataset_rate(kind: str, episodes: int, size: tuple[int, int], workers: int) -> dict:
    """The summary of ``make_dataset`` into a fresh temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        return make_dataset(kind, out, episodes, seed=0, workers=workers, size=size, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200, help="pusher episodes per run (default 200)")
    parser.add_argument("--arm-episodes", type=int, default=10, help="arm episodes per run (default 10)")
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--workers", type=int, nargs="+", default=(1, 2))
    parser.add_argument("--kinds", nargs="+", default=("pusher", "arm"))
    args = parser.parse_args()
    size = (args.size[0], args.size[1])
    for kind in args.kinds:
        try:
            load_kind(kind)
        except MissingDependencyError as exc:  # hook: the arm is measured once it imports
            print(f"{kind}: skipped ({exc})")
            continue
        n = args.arm_episodes if kind == "arm" else args.episodes
        print(f"{kind} {size[0]}x{size[1]}: simulate+render only, 1 process: "
              f"{render_rate(kind, max(1, n // 4), size):,.0f} frames/s")
        for workers in args.workers:
            s = dataset_rate(kind, n, size, workers)
            print(f"{kind} {size[0]}x{size[1]}: make_dataset, {workers} process(es): "
                  f"{s['frames_per_second']:,.0f} frames/s ({s['frames']} frames, {n} episodes, "
                  f"{s['seconds']:.1f} s incl. start-up)")


if __name__ == "__main__":
    main()
