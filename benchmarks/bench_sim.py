"""Simulator dataset throughput: frames per second end to end (simulate, render, encode, write).

    python benchmarks/bench_sim.py                  # pusher, 64x64, 1 and 2 processes
    python benchmarks/bench_sim.py --episodes 400 --size 64 64 --workers 1 2 4

For each kind it prints the in-process simulate+render rate (no video) and the
``make_dataset`` rate into a fresh temporary folder for each worker count (pool start-up
included). The ``arm`` kind is measured when ``freeaction.sim.arm`` imports (it needs
``pip install freeaction[arm]``); otherwise the reason is printed. For the arm it also prints
where one process spends its time per frame (physics + controller, rendering, policy), in wall
and CPU milliseconds: on a shared machine the CPU figures say what a free core would do.
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


def arm_profile(size: tuple[int, int], frames: int = 60) -> str:
    """Per-frame wall/CPU milliseconds of the arm's physics step, render and policy (one process)."""
    import numpy as np

    from freeaction.sim import arm
    from freeaction.sim.arm_policy import ScriptedPolicy

    sim = arm.get_sim()
    arm.generate_episode(0, 0, size, frames=3)  # build the renderer
    rng = np.random.default_rng(0)
    sim.reset(rng, arm.draw_camera(rng, 1.0))
    policy, obs = ScriptedPolicy(rng), sim.observe()
    wall = dict.fromkeys(("physics", "render", "policy"), 0.0)
    cpu = dict(wall)
    for t in range(frames):
        w, c = time.perf_counter(), time.process_time()
        command = policy.act(obs, t)
        w1, c1 = time.perf_counter(), time.process_time()
        sim.step(command)
        obs = sim.observe()
        w2, c2 = time.perf_counter(), time.process_time()
        sim.render(size, arm.DEFAULT_OPTIONS["supersample"])
        w3, c3 = time.perf_counter(), time.process_time()
        for key, (a, b, ca, cb) in {"policy": (w, w1, c, c1), "physics": (w1, w2, c1, c2),
                                    "render": (w2, w3, c2, c3)}.items():
            wall[key] += b - a
            cpu[key] += cb - ca
    parts = ", ".join(f"{k} {wall[k] / frames * 1e3:.1f}/{cpu[k] / frames * 1e3:.1f}" for k in wall)
    total_cpu = sum(cpu.values()) / frames
    return (f"arm {size[0]}x{size[1]}: ms per frame wall/CPU: {parts}; "
            f"{1 / total_cpu:,.0f} frames per CPU-second")


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
        if kind == "arm":
            print(arm_profile(size))
        print(f"{kind} {size[0]}x{size[1]}: simulate+render only, 1 process: "
              f"{render_rate(kind, max(1, n // 4), size):,.0f} frames/s")
        for workers in args.workers:
            s = dataset_rate(kind, n, size, workers)
            print(f"{kind} {size[0]}x{size[1]}: make_dataset, {workers} process(es): "
                  f"{s['frames_per_second']:,.0f} frames/s ({s['frames']} frames, {n} episodes, "
                  f"{s['seconds']:.1f} s incl. start-up)")


if __name__ == "__main__":
    main()
