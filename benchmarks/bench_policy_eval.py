"""Policy-evaluation throughput: episodes per minute in the simulator and in the world model per
method, the wall time of the documented configuration, and peak memory.

    python benchmarks/bench_policy_eval.py                            # pusher-64, the documented config's settings
    python benchmarks/bench_policy_eval.py --episodes 8 --batch 8     # more episodes per measurement
    python benchmarks/bench_policy_eval.py --precision bf16           # bf16 autocast on CPU
    python benchmarks/bench_policy_eval.py --results runs/policy-eval/pusher-64   # figures of a finished run

Without ``--results`` it plays ``--episodes`` episodes of the ``expert`` policy per environment
(one world-model batch of ``--batch`` episodes per method) with the settings of
``configs/policy_eval/pusher-64.yaml`` and extrapolates the documented run (8 policies x 30
episodes, simulator + every method) from the measured rates. With ``--results`` it reads the
measured seconds per episode of a real run instead. Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

from freeaction.envs import PusherEnv, WorldModelVectorEnv
from freeaction.eval.policy_eval import PolicyEvalConfig, play_sim, policy_seed
from freeaction.eval.results_folder import read_rows
from freeaction.pipeline import WorldModel
from freeaction.policies import BUILTIN

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "policy_eval" / "pusher-64.yaml"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_sim(cfg: PolicyEvalConfig, chunk: int, episodes: int) -> float:
    """Seconds per simulator episode."""
    env = PusherEnv(world=cfg.world, chunk=chunk, horizon=cfg.horizon)
    t0 = time.perf_counter()
    for e in range(episodes):
        play_sim(env, BUILTIN["expert"](chunk), cfg.seed + e, policy_seed("expert", e))
    return (time.perf_counter() - t0) / episodes


def time_world_model(wm: WorldModel, cfg: PolicyEvalConfig, method: str, batch: int) -> float:
    """Seconds per world-model episode, ``batch`` episodes generated together."""
    chunk = wm.config.num_frames - 1
    venv = WorldModelVectorEnv(wm, batch, method, cfg.sampler or "ddpm", cfg.steps, world=cfg.world,
                               horizon=cfg.horizon)
    t0 = time.perf_counter()
    obs, info = venv.reset(seed=[cfg.seed + e for e in range(batch)])
    policies = [BUILTIN["expert"](chunk) for _ in range(batch)]
    for e, (p, task) in enumerate(zip(policies, info["task"], strict=True)):
        p.reset(task, policy_seed("expert", e))
    for _ in range(cfg.horizon):
        obs, *_ = venv.step(np.stack([p.act(o) for p, o in zip(policies, obs, strict=True)]))
    return (time.perf_counter() - t0) / batch


def report(per_episode: dict[str, float], n_policies: int, n_episodes: int) -> None:
    total = 0.0
    for env, seconds in per_episode.items():
        print(f"{env:>24s}: {60.0 / seconds:8.2f} episodes/min ({seconds:.2f} s/episode)")
        total += seconds * n_policies * n_episodes
    print(f"documented config ({n_policies} policies x {n_episodes} episodes, simulator + {len(per_episode) - 1} "
          f"method(s)): {total / 60:.1f} min")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--episodes", type=int, default=4, help="simulator episodes timed")
    ap.add_argument("--batch", type=int, default=4, help="world-model episodes per batch (one batch per method)")
    ap.add_argument("--precision", default=None, help="override the config's precision (fp32 | bf16)")
    ap.add_argument("--results", help="a finished policy-eval folder: report its measured rates instead")
    args = ap.parse_args()
    cfg = PolicyEvalConfig.from_file(args.config)
    methods = [m if isinstance(m, str) else m["name"] for m in cfg.methods]
    if args.results:
        rows = read_rows(Path(args.results) / "results.jsonl")
        per = {"simulator": float(np.mean([r["seconds"] for r in rows if r["protocol"] == "sim"]))}
        for m in methods:
            secs = [r["seconds"] for r in rows if r["protocol"] == "wm" and r["method"] == m]
            if secs:
                per[f"world model, {m}"] = float(np.mean(secs))
        report(per, len(cfg.policies), cfg.episodes)
        peaks = [r["peak_rss_mib"] for r in rows if "peak_rss_mib" in r]
        if peaks:
            print(f"peak memory of the run (RSS): {max(peaks):.0f} MiB")
        return
    torch.set_grad_enabled(False)
    wm = WorldModel.load(cfg.checkpoint, precision=args.precision or cfg.precision)
    chunk = wm.config.num_frames - 1
    print(f"{cfg.checkpoint}: {cfg.sampler} {cfg.steps} steps, horizon {cfg.horizon} x {chunk} actions, "
          f"precision {args.precision or cfg.precision}, torch threads {torch.get_num_threads()}")
    per = {"simulator": time_sim(cfg, chunk, args.episodes)}
    for m in methods:
        per[f"world model, {m}"] = time_world_model(wm, cfg, m, args.batch)
    report(per, len(cfg.policies), cfg.episodes)
    print(f"peak memory (RSS): {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
