"""Policy-evaluation throughput: episodes per minute in the simulator and in the world model per
method, the time of the documented configuration, and peak memory.

    python benchmarks/bench_policy_eval.py                                     # configs/policy_eval/pusher-64.yaml
    python benchmarks/bench_policy_eval.py --compare precision=fp32,threads=0  # and the same with other settings
    python benchmarks/bench_policy_eval.py --episodes 3                        # 3 scenes per policy (default 1)
    python benchmarks/bench_policy_eval.py --results runs/policy-eval/pusher-64   # the figures of a finished run

Without ``--results`` it runs ``freeaction policy-eval``'s own code (:class:`PolicyEvaluation`,
every step of a real run: generating, judging, replaying, drift, saving frames) on ``--episodes``
scenes of every policy of the config, into a temporary folder, once per setting: the config as
it is, then each ``--compare`` variant (keys of the config; ``threads=0`` means torch's default).
Each setting runs in a fresh process, one after the other, so their peak memory is their own
and they meet the same machine. From the measured seconds per episode it extrapolates the
documented run (every policy x ``episodes`` in every method, x ``sim_episodes`` in the simulator).

Two clocks: wall time, and CPU time (all threads of the process). On a machine shared with
other jobs the wall figure depends on the load; the CPU figure hardly does, and with one thread
it is the wall time the run would take on one free core.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from freeaction.eval.policy_eval import SIM, PolicyEvalConfig, PolicyEvaluation
from freeaction.eval.results_folder import read_rows

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "policy_eval" / "pusher-64.yaml"


def parse_overrides(text: str) -> dict[str, Any]:
    """``"precision=fp32,threads=0"`` -> ``{"precision": "fp32", "threads": None}`` (values read as YAML)."""
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key.strip()] = yaml.safe_load(value)
    if out.get("threads") == 0:
        out["threads"] = None
    return out


def per_episode(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean wall and CPU seconds per episode of each environment (``simulator``, ``world model, <method>``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        env = "simulator" if r["protocol"] == SIM else f"world model, {r['method']}"
        groups.setdefault(env, []).append(r)
    return {env: {"wall": float(np.mean([r["seconds"] for r in rs])),
                  "cpu": float(np.mean([r["cpu_seconds"] for r in rs])) if all("cpu_seconds" in r for r in rs)
                  else float("nan"), "n": len(rs)}
            for env, rs in groups.items()}


def documented_minutes(per: dict[str, dict[str, float]], cfg: PolicyEvalConfig, clock: str) -> float:
    """Minutes of the documented run: every policy x ``episodes`` per method, x ``sim_episodes`` in the simulator."""
    n_policies = len(cfg.policies)
    sim_episodes = max(cfg.sim_episodes or 0, cfg.episodes)
    total = 0.0
    for env, t in per.items():
        total += t[clock] * n_policies * (sim_episodes if env == "simulator" else cfg.episodes)
    return total / 60.0


def report(label: str, per: dict[str, dict[str, float]], cfg: PolicyEvalConfig, peak_mib: float | None) -> None:
    print(f"\n{label}")
    for env, t in per.items():
        print(f"  {env:>26s}: {60.0 / t['wall']:7.2f} episodes/min wall ({t['wall']:.2f} s), "
              f"{60.0 / t['cpu']:7.2f} per CPU-minute ({t['cpu']:.2f} CPU s)   [{t['n']} episodes]")
    n_sim = max(cfg.sim_episodes or 0, cfg.episodes)
    print(f"  documented config ({len(cfg.policies)} policies x {cfg.episodes} episodes per method, x {n_sim} in "
          f"the simulator): {documented_minutes(per, cfg, 'wall'):.1f} min wall at this load, "
          f"{documented_minutes(per, cfg, 'cpu'):.1f} CPU-min")
    if peak_mib is not None:
        print(f"  peak memory (RSS): {peak_mib:.0f} MiB")


def measure(config: str, overrides: dict[str, Any], episodes: int) -> dict[str, Any]:
    """Run the config with ``overrides`` on ``episodes`` scenes per policy; per-episode seconds and peak RSS."""
    cfg = dataclasses.replace(PolicyEvalConfig.from_file(config), **overrides)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = dataclasses.replace(cfg, episodes=episodes, sim_episodes=episodes, out=tmp)
        PolicyEvaluation(cfg, progress=False).run()
        rows = read_rows(Path(tmp) / "results.jsonl")
    return {"per_episode": per_episode(rows), "peak_rss_mib": max(r.get("peak_rss_mib", 0.0) for r in rows),
            "settings": {k: getattr(cfg, k) for k in ("precision", "threads", "sampler", "steps", "batch_size")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(CONFIG))
    ap.add_argument("--episodes", type=int, default=1, help="scenes per policy per setting (default 1)")
    ap.add_argument("--compare", action="append", default=[], metavar="KEY=VALUE,...",
                    help="also measure the config with these settings, e.g. precision=fp32,threads=0 (repeatable)")
    ap.add_argument("--results", help="a finished policy-eval folder: report its measured rates instead")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # one setting, measured in this process, as JSON
    args = ap.parse_args()
    cfg = PolicyEvalConfig.from_file(args.config)
    if args.child is not None:
        print(json.dumps(measure(args.config, json.loads(args.child), args.episodes)))
        return
    if args.results:
        rows = read_rows(Path(args.results) / "results.jsonl")
        peaks = [r["peak_rss_mib"] for r in rows if "peak_rss_mib" in r]
        report(f"measured in {args.results}", per_episode(rows), cfg, max(peaks) if peaks else None)
        return
    print(f"{args.config}: {args.episodes} scene(s) x {len(cfg.policies)} policies per setting; "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for text in ["", *args.compare]:
        overrides = parse_overrides(text)
        child = subprocess.run([sys.executable, __file__, "--config", args.config, "--episodes", str(args.episodes),
                                "--child", json.dumps(overrides)], check=True, capture_output=True, text=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        label = "the config as it is" if not text else f"with {text}"
        shown = dataclasses.replace(cfg, **overrides)
        report(f"{label}: {json.dumps(result['settings'])}", result["per_episode"], shown, result["peak_rss_mib"])
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
