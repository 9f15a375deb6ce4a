"""ArmEnv throughput: episodes per minute of the robosuite arm as a gymnasium env.

    python benchmarks/bench_arm_env.py                       # lift, world 1, arm-expert, 6 episodes
    python benchmarks/bench_arm_env.py --world 2 --task reach --horizon 3 --episodes 10

Plays ``--episodes`` seeded episodes (seeds 0, 1, ...) of one built-in arm policy and prints the
build time of the simulator, seconds per episode (reset included) and episodes per minute, and the
success rate from pixels and from state. Needs ``pip install 'freeaction[arm]'``; figures depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from freeaction.envs import ArmEnv
from freeaction.eval.policy_eval import play_sim
from freeaction.policies import load_factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=int, default=1)
    parser.add_argument("--task", default="lift")
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--policy", default="arm-expert")
    parser.add_argument("--episodes", type=int, default=6)
    args = parser.parse_args()
    t0 = time.perf_counter()
    env = ArmEnv(world=args.world, task=args.task, horizon=args.horizon)
    built = time.perf_counter() - t0
    seconds, pixels, state = [], [], []
    for seed in range(args.episodes):
        t0 = time.perf_counter()
        ep = play_sim(env, load_factory(args.policy)(env.chunk), seed, seed)
        seconds.append(time.perf_counter() - t0)
        pixels.append(ep["success"])
        state.append(ep["success_state"])
    per = float(np.mean(seconds))
    print(f"ArmEnv world {args.world}, {args.task}, horizon {args.horizon} x {env.chunk} steps, {args.policy}")
    print(f"  simulator build {built:.1f} s; {per:.2f} s per episode ({60.0 / per:.1f} episodes/min) "
          f"over {args.episodes} episodes")
    print(f"  success from pixels {np.mean(pixels):.2f}, from state {np.mean(state):.2f}")


if __name__ == "__main__":
    main()
