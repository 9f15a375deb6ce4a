"""What `freeaction play`'s fast settings cost in quality: paired PSNR / effector-error differences.

    python benchmarks/play_quality.py                       # pusher-64, 16 fresh test episodes
    python benchmarks/play_quality.py --model arm-64 --clips 8

Each setting (sampler, steps, precision) is evaluated on the same simulator test clips (1 + 15
actions from the start of each episode, one seed) with the unguided and FreeAction methods, through
``freeaction.eval.evaluate``. Every setting is then compared with the reference (the model card's
sampler in fp32) and bf16 with fp32 at the same sampler, clip by clip: the mean paired difference
and its 95% bootstrap interval. bf16 "leaves quality unchanged" when both intervals of its
comparison with fp32 contain 0 (or the difference is smaller than the interval's half-width).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from freeaction.commands.demo import simulate_test_clips
from freeaction.eval import EvalConfig, evaluate
from freeaction.eval.config import validate
from freeaction.eval.results_folder import read_rows
from freeaction.eval.statistics import compare
from freeaction.shipped import recommended_sampler, shipped_model_path

METHODS = ("unguided", "freeaction")
METRICS = ("psnr", "ee_error")


def run_setting(model: str, data: Path, clips: list[int], sampler: str, steps: int, precision: str,
                out: Path) -> list[dict]:
    """Rows of one (sampler, steps, precision) evaluation, methods renamed to ``method@setting``."""
    tag = f"{sampler}{steps}-{precision}"
    cfg = EvalConfig(
        checkpoint=str(shipped_model_path(model)), dataset=str(data), split="test", clip_frames=16,
        clips=clips, out=str(out / tag), seeds=1, sampler=sampler, steps=steps, precision=precision,
        device="cpu", batch_size=len(clips), protocols=["short"], methods=list(METHODS), save_videos=0,
        bootstrap={"resamples": 2000, "confidence": 0.95, "seed": 0}, source="benchmarks/play_quality.py",
    )
    evaluate(validate(cfg), progress=False, report=False)
    rows = read_rows(out / tag / "results.jsonl")
    for r in rows:
        if "method" in r:
            r["method"] = f"{r['method']}@{tag}"
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="pusher-64")
    p.add_argument("--clips", type=int, default=16, help="test episodes (one clip each)")
    p.add_argument("--fast", nargs=2, action="append", metavar=("SAMPLER", "STEPS"),
                   help="a fast setting to measure (repeatable; default: dpm++ 4 and dpm++ 8)")
    p.add_argument("--out", default=None, help="keep the results here (default: a temporary folder)")
    args = p.parse_args()
    ref_sampler, ref_steps = recommended_sampler(shipped_model_path(args.model)) or ("ddpm", 50)
    fast = [(s, int(n)) for s, n in (args.fast or [("dpm++", "4"), ("dpm++", "8")])]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        clips = simulate_test_clips(args.model, out / "episodes", args.clips, progress=False)
        rows = run_setting(args.model, out / "episodes", clips, ref_sampler, ref_steps, "fp32", out)
        for sampler, steps in fast:
            for precision in ("fp32", "bf16"):
                rows += run_setting(args.model, out / "episodes", clips, sampler, steps, precision, out)
        pairs = [(f"{s}{n}-fp32", f"{ref_sampler}{ref_steps}-fp32") for s, n in fast]
        pairs += [(f"{s}{n}-bf16", f"{s}{n}-fp32") for s, n in fast]
        print(f"{args.model}, {len(clips)} test clips x 1 seed, 1 + 15 actions; paired differences "
              "(setting - baseline), 95% bootstrap intervals")
        print("| setting | baseline | method | metric | setting mean | baseline mean | diff [95% CI] |")
        print("|---|---|---|---|---|---|---|")
        figures = []
        for setting, base in pairs:
            for method in METHODS:
                for metric in METRICS:
                    c = compare(rows, "short", f"{method}@{setting}", f"{method}@{base}", metric, resamples=2000)
                    if c is None:
                        continue
                    figures.append({"setting": setting, "baseline": base, "method": method, **c.to_dict(False)})
                    print(f"| {setting} | {base} | {method} | {metric} | {c.mean:.3f} | {c.baseline_mean:.3f} | "
                          f"{c.diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] |")
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
