"""What `freeaction play`'s fast settings cost in quality, and what they cost in CPU time.

    python benchmarks/play_quality.py                       # pusher-64, 16 fresh test episodes
    python benchmarks/play_quality.py --model arm-64 --clips 8
    python benchmarks/play_quality.py --fast dpm++ 6 --fast ddim 10 --precisions fp32 --out q

Each setting (sampler, steps, precision) is evaluated on the same simulator test clips (1 + 15
actions from the start of each episode, one seed) with the unguided and FreeAction methods, through
``freeaction.eval.evaluate``. Every setting is then compared with the reference (the model card's
sampler in fp32) and bf16 with fp32 at the same sampler, clip by clip: the mean paired difference
and its 95% bootstrap interval. bf16 "leaves quality unchanged" when both intervals of its
comparison with fp32 contain 0 (or the difference is smaller than the interval's half-width).
With ``--out``, a setting whose results are already in that folder is read, not run again.

The cost of each fast setting is the generating thread's CPU time per chunk of one play panel
(:class:`freeaction.play.stream.PanelStream`, one torch thread, the page's precision, the median
of ``--cost-chunks`` chunks): ``chunk / cpu_s`` is the frames/s one otherwise idle core sustains
for that panel, and one chunk's CPU time is the floor of the key-press latency (a chunk's frames
come out together), which bounds the latency goal from below. The machine may be shared: CPU time
depends far less on the load than wall-clock time, though it still rises with it (shared caches
and cores), so on a loaded machine it is an upper estimate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from freeaction.commands.demo import simulate_test_clips
from freeaction.commands.play import default_precision, simulator_of
from freeaction.eval import EvalConfig, evaluate
from freeaction.eval.config import validate
from freeaction.eval.results_folder import read_rows
from freeaction.eval.statistics import compare
from freeaction.pipeline import WorldModel
from freeaction.play.controls import PlaySettings, model_action, raw_action
from freeaction.play.scene import open_scene
from freeaction.play.stream import PanelStream
from freeaction.shipped import recommended_sampler, shipped_model_path

METHODS = ("unguided", "freeaction")
METRICS = ("psnr", "ee_error")


def run_setting(model: str, data: Path, clips: list[int], sampler: str, steps: int, precision: str,
                out: Path) -> list[dict]:
    """Rows of one (sampler, steps, precision) evaluation, methods renamed to ``method@setting``."""
    tag = f"{sampler}{steps}-{precision}"
    results = out / tag / "results.jsonl"
    if not results.is_file():
        run_evaluation(model, data, clips, sampler, steps, precision, out / tag)
    rows = read_rows(results)
    for r in rows:
        if "method" in r:
            r["method"] = f"{r['method']}@{tag}"
    return rows


def run_evaluation(model: str, data: Path, clips: list[int], sampler: str, steps: int, precision: str,
                   out: Path) -> None:
    """``freeaction.eval.evaluate`` of the unguided and FreeAction methods into ``out``."""
    cfg = EvalConfig(
        checkpoint=str(shipped_model_path(model)), dataset=str(data), split="test", clip_frames=16,
        clips=clips, out=str(out), seeds=1, sampler=sampler, steps=steps, precision=precision,
        device="cpu", batch_size=len(clips), protocols=["short"], methods=list(METHODS), save_videos=0,
        bootstrap={"resamples": 2000, "confidence": 0.95, "seed": 0}, source="benchmarks/play_quality.py",
    )
    evaluate(validate(cfg), progress=False, report=False)


def chunk_cpu_seconds(wm: WorldModel, first: np.ndarray, method: str, sampler: str, steps: int,
                      chunks: int) -> float:
    """Median CPU time (s) of the calling thread per generated chunk of one play panel, the held key
    pushing right at the page's default speed (as play generates it: one chunk after another)."""
    settings = PlaySettings()
    stream = PanelStream(wm, settings.method(method), first, sampler=sampler, steps=steps, seed=0)
    raw = raw_action(np.eye(4 if wm.config.action_dim == 7 else 2)[0], settings.speed, wm.config.action_dim)
    actions = model_action(np.repeat(raw[None], stream.chunk, axis=0))
    state, times = stream.start, []
    for _ in range(chunks):
        cpu0 = time.thread_time()
        state = stream.generate(state, actions).after
        times.append(time.thread_time() - cpu0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="pusher-64")
    p.add_argument("--clips", type=int, default=16, help="test episodes (one clip each)")
    p.add_argument("--fast", nargs=2, action="append", metavar=("SAMPLER", "STEPS"),
                   help="a fast setting to measure (repeatable; default: dpm++ 4 and dpm++ 8)")
    p.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"],
                   help="precisions of each fast setting (the reference is always fp32)")
    p.add_argument("--cost-chunks", type=int, default=5, help="chunks timed per fast setting and method (0: no timing)")
    p.add_argument("--out", default=None, help="keep the results here (default: a temporary folder)")
    args = p.parse_args()
    ref_sampler, ref_steps = recommended_sampler(shipped_model_path(args.model)) or ("ddpm", 50)
    fast = [(s, int(n)) for s, n in (args.fast or [("dpm++", "4"), ("dpm++", "8")])]
    if args.cost_chunks:
        print_costs(args.model, fast, args.cost_chunks)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        clips = simulate_test_clips(args.model, out / "episodes", args.clips, progress=False)
        rows = run_setting(args.model, out / "episodes", clips, ref_sampler, ref_steps, "fp32", out)
        for sampler, steps in fast:
            for precision in args.precisions:
                rows += run_setting(args.model, out / "episodes", clips, sampler, steps, precision, out)
        pairs = [(f"{s}{n}-{prec}", f"{ref_sampler}{ref_steps}-fp32") for s, n in fast for prec in args.precisions]
        if {"fp32", "bf16"} <= set(args.precisions):
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


def print_costs(model: str, fast: list[tuple[str, int]], chunks: int) -> None:
    """CPU time per chunk of one play panel for each fast setting and method, on one torch thread
    (the evaluation afterwards runs with the thread count it had before)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        precision = default_precision()
        wm = WorldModel.load(model, precision=precision)
        first = open_scene(simulator_of(model), 0, wm.frame_size).first_frame()
        print(f"{model}: CPU time per chunk of {wm.config.num_frames - 1} frames, one panel, one torch thread, "
              f"{precision} (median of {chunks})")
        print("| setting | method | CPU s per chunk | frames/s from CPU time |")
        print("|---|---|---|---|")
        for sampler, steps in fast:
            for method in METHODS:
                cpu = chunk_cpu_seconds(wm, first, method, sampler, steps, chunks)
                print(f"| {sampler} {steps} | {method} | {cpu:.3f} | {(wm.config.num_frames - 1) / cpu:.1f} |",
                      flush=True)
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
