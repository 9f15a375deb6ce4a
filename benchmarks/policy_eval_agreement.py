"""Do two policy-eval runs of the same scenes agree? The check behind a cheaper setting (bf16,
fewer sampler steps): run the same config twice, changing only that setting, and compare.

    python benchmarks/policy_eval_agreement.py RUN_A RUN_B

Per method, over the world-model episodes both runs hold (same policy, scene and noise seeds):
how often the two runs' success agrees; each policy's success rate in A and B with 95% bootstrap
intervals; the paired difference of the overall rate and of the mean effector / target-object
drift (bootstrap over episodes); and each run's Pearson r and MMRV against the simulator.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from freeaction.eval.policy_eval import summarize
from freeaction.eval.policy_stats import rate
from freeaction.eval.results_folder import read_rows
from freeaction.eval.statistics import bootstrap_mean_ci

BOOT = {"resamples": 2000, "confidence": 0.95, "seed": 0}


def world_model_rows(out: str) -> dict[tuple[str, str], dict]:
    """(method, episode key) -> the world-model row of a results folder."""
    return {(r["method"], r["clip"]): r for r in read_rows(Path(out) / "results.jsonl") if r["protocol"] == "wm"}


def interval(x: np.ndarray) -> str:
    lo, hi = bootstrap_mean_ci(x, BOOT["resamples"], BOOT["confidence"], BOOT["seed"])
    return f"{x.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]"


def fmt(r: dict) -> str:
    return f"{r['rate']:.2f} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    args = ap.parse_args()
    a, b = world_model_rows(args.run_a), world_model_rows(args.run_b)
    sum_a, sum_b = summarize(args.run_a), summarize(args.run_b)
    for method in sorted({m for m, _ in a} & {m for m, _ in b}):
        keys = sorted(k for k in a if k[0] == method and k in b)
        ra, rb = [a[k] for k in keys], [b[k] for k in keys]
        sa = np.array([float(r["success"]) for r in ra])
        sb = np.array([float(r["success"]) for r in rb])
        print(f"\n{method}: {len(keys)} episodes in both; success agrees in {np.mean(sa == sb):.1%} of them")
        print(f"  success rate A {sa.mean():.3f}, B {sb.mean():.3f}, B - A {interval(sb - sa)}")
        for metric in ("ee_error", "object_error"):
            da = np.array([np.mean(r[metric]) for r in ra])
            db = np.array([np.mean(r[metric]) for r in rb])
            print(f"  {metric} (px, mean over steps) A {da.mean():.2f}, B {db.mean():.2f}, B - A {interval(db - da)}")
        print("  | policy | A | B |\n  |---|---|---|")
        for policy in dict.fromkeys(r["policy"] for r in ra):
            pa = rate([x for x, r in zip(sa, ra, strict=True) if r["policy"] == policy], BOOT)
            pb = rate([x for x, r in zip(sb, rb, strict=True) if r["policy"] == policy], BOOT)
            print(f"  | {policy} | {fmt(pa)} | {fmt(pb)} |")
        for name, s in (("A", sum_a), ("B", sum_b)):
            m = s["methods"].get(method, {})
            print(f"  {name}: Pearson r {m.get('pearson')}, MMRV {m.get('mmrv')} (vs the simulator, same scenes)")


if __name__ == "__main__":
    main()
