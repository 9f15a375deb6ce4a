"""Issue figures for the core model and sampler, measured in one run (ratios, not absolutes).

    python benchmarks/bench_model.py            # everything (~10 min on 2 cores)
    python benchmarks/bench_model.py --quick    # fewer repetitions

Prints:
1. per model call on IRASim-S/2 (12 blocks, 384 hidden, 6 heads, patch 2, RT-1 latent 32x40,
   16 frames, batch 1): freeaction's VideoDiT vs IRASim's way of computing the same function
   (benchmarks/irasim_style.py), fp32 and bf16 autocast, both in this process (same allocator
   settings, interleaved) and IRASim's way in a fresh process with glibc's default malloc (as
   IRASim runs); and the fraction of this machine's measured matrix-product peak that
   freeaction's forward reaches;
2. FreeAction sampling (cutoff 0.5) over unguided sampling, same sampler and steps;
3. FreeAction with DPM-Solver++ 25 steps vs IRASim's unguided PNDM-50 (59 model calls);
4. peak memory (RSS) of long rollouts streamed to an mp4, for 30, 120 and 480 actions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from irasim_style import irasim_style_forward  # noqa: E402

from freeaction import VideoDiT, preset  # noqa: E402
from freeaction.diffusion.sampler import SampleStats, sample  # noqa: E402
from freeaction.method import ActionScaledTruncation, FreeActionGuidance  # noqa: E402
from freeaction.runtime import tune_cpu_allocator  # noqa: E402


def timeit(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def timeit_pair(fn_a, fn_b, reps: int) -> tuple[float, float]:
    fn_a(), fn_b()
    best_a = best_b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn_a()
        t1 = time.perf_counter()
        fn_b()
        t2 = time.perf_counter()
        best_a, best_b = min(best_a, t1 - t0), min(best_b, t2 - t1)
    return best_a, best_b


def matmul_peak(dtype: torch.dtype, reps: int) -> float:
    """GFLOP/s of a large square matrix product (the machine's practical peak)."""
    n = 2048
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / timeit(lambda: a @ b, reps) / 1e9


def model_flops(cfg, frames: int) -> float:
    """Matrix-product FLOPs of one forward (linears + attention), batch 1."""
    D, N = cfg.hidden_size, (cfg.latent_size[0] // cfg.patch_size) * (cfg.latent_size[1] // cfg.patch_size)
    T = frames * N
    per_block_linear = 2 * T * D * (3 * D + D + 2 * int(cfg.mlp_ratio * D))
    spatial_attn = 4 * frames * N * N * D
    temporal_attn = 4 * N * frames * frames * D
    return cfg.depth * per_block_linear + cfg.depth // 2 * (spatial_attn + temporal_attn)


def irasim_s2() -> VideoDiT:
    torch.manual_seed(0)
    model = VideoDiT(preset("IRASim-S/2", action_dim=7, latent_size=(32, 40))).eval()
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.02)
    return model


IRASIM_DEFAULT_ALLOCATOR_CHILD = r"""
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from bench_model import irasim_s2, timeit
from irasim_style import irasim_style_forward
model, reps = irasim_s2(), int(sys.argv[2])
x, t, a = torch.randn(1, 16, 4, 32, 40), torch.tensor([500]), torch.randn(1, 15, 7)
out = {}
with torch.no_grad():
    out["fp32"] = timeit(lambda: irasim_style_forward(model, x, t, a), reps)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out["bf16"] = timeit(lambda: irasim_style_forward(model, x, t, a), reps)
print(json.dumps(out))
"""


def irasim_with_default_allocator(reps: int) -> dict:
    """IRASim's way in a fresh process with glibc's default malloc settings, as IRASim runs."""
    out = subprocess.run(
        [sys.executable, "-c", IRASIM_DEFAULT_ALLOCATOR_CHILD, str(Path(__file__).parent), str(reps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@torch.no_grad()
def per_call(reps: int) -> dict:
    model = irasim_s2()
    x, t, a = torch.randn(1, 16, 4, 32, 40), torch.tensor([500]), torch.randn(1, 15, 7)
    err = (model(x, t, a) - irasim_style_forward(model, x, t, a)).abs().max().item()
    out = {"max_abs_diff_vs_irasim_style": err}
    flops = model_flops(model.config, 16)
    as_run = irasim_with_default_allocator(reps)
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        ctx = torch.autocast("cpu", dtype=dtype) if dtype else torch.autocast("cpu", enabled=False)
        with ctx:  # interleaved, best of reps: the two see the same machine load
            ours, theirs = timeit_pair(lambda: model(x, t, a), lambda: irasim_style_forward(model, x, t, a), reps)
        peak = matmul_peak(dtype or torch.float32, reps)
        out[name] = {
            "freeaction_s": round(ours, 3),
            "irasim_style_s": round(theirs, 3),
            "speedup_same_allocator": round(theirs / ours, 3),
            "irasim_style_default_allocator_s": round(as_run[name], 3),
            "speedup_vs_irasim_as_it_runs": round(as_run[name] / ours, 3),
            "model_gflop": round(flops / 1e9, 1),
            "achieved_gflops": round(flops / ours / 1e9, 1),
            "matmul_peak_gflops": round(peak, 1),
            "fraction_of_peak": round(flops / ours / 1e9 / peak, 3),
        }
    return out


@torch.no_grad()
def sampling_costs(reps: int) -> dict:
    model = irasim_s2()
    context, actions = torch.randn(1, 4, 32, 40), torch.randn(1, 15, 7) * 0.5
    free = dict(guidance=FreeActionGuidance(), noise=ActionScaledTruncation(mu_act=3.0))

    def run(sched, steps, **kw):
        stats = SampleStats()
        t0 = time.perf_counter()
        sample(model, context, actions, scheduler=sched, num_steps=steps, stats=stats, **kw)
        return time.perf_counter() - t0, stats

    steps = 10 if reps <= 1 else 20
    plain, s_plain = run("ddim", steps)
    guided, s_guided = run("ddim", steps, **free)
    pndm, s_pndm = run("pndm", 50)
    dpm, s_dpm = run("dpm++", 25, **free)
    return {
        "freeaction_over_unguided_same_sampler": {
            "sampler": f"ddim {steps} steps",
            "unguided_s": round(plain, 2),
            "freeaction_s": round(guided, 2),
            "ratio": round(guided / plain, 3),
            "rows_evaluated": [s_plain.rows_evaluated, s_guided.rows_evaluated],
        },
        "freeaction_dpm25_vs_irasim_pndm50": {
            "irasim_pndm50_s": round(pndm, 2),
            "irasim_model_calls": s_pndm.model_calls,
            "freeaction_dpm25_s": round(dpm, 2),
            "freeaction_rows_evaluated": s_dpm.rows_evaluated,
            "ratio": round(dpm / pndm, 3),
        },
    }


ROLLOUT_CHILD = r"""
import json, resource, sys, tempfile, numpy as np, torch
from diffusers import AutoencoderKL
from freeaction import VideoDiT, preset
from freeaction.pipeline import WorldModel
from freeaction.method import STANDARD_METHODS
from freeaction.media import VideoWriter
n = int(sys.argv[1])
torch.manual_seed(0)
model = VideoDiT(preset("small", action_dim=2, action_embedder="linear", latent_size=(8, 8)))
vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                    block_out_channels=(16, 16, 16, 16), layers_per_block=1, latent_channels=4, norm_num_groups=4)
model.checkpoint_info = {"action_stats": {"mu_act": 3.0}}
wm = WorldModel(model, vae)
first = np.zeros((64, 64, 3), np.uint8)
actions = np.random.default_rng(0).normal(0, 0.4, (n, 2)).astype(np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with tempfile.TemporaryDirectory() as d, VideoWriter(d + "/out.mp4") as w:
    wm.generate(first, actions, method=STANDARD_METHODS["freeaction"], sampler="ddim", steps=4,
                sink=lambda z: w.write(wm.decode(z)), keep=False)
    frames = w.frames_written
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"actions": n, "frames": frames, "peak_rss_mib": round(peak / 1024, 1),
                  "growth_during_rollout_mib": round((peak - before) / 1024, 1)}))
"""


def rollout_memory() -> list[dict]:
    rows = []
    for n in (30, 120, 480):
        out = subprocess.run([sys.executable, "-c", ROLLOUT_CHILD, str(n)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["call", "sampling", "memory"], default=None)
    args = ap.parse_args()
    tune_cpu_allocator()  # as the CLI and WorldModel do
    reps = 1 if args.quick else 5
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    results = {}
    if args.only in (None, "call"):
        results["per_model_call_irasim_s2"] = per_call(reps)
        print(json.dumps({"per_model_call_irasim_s2": results["per_model_call_irasim_s2"]}, indent=2), flush=True)
    if args.only in (None, "sampling"):
        results["sampling"] = sampling_costs(reps)
        print(json.dumps({"sampling": results["sampling"]}, indent=2), flush=True)
    if args.only in (None, "memory"):
        results["long_rollout_memory"] = rollout_memory()
        print(json.dumps({"long_rollout_memory": results["long_rollout_memory"]}, indent=2), flush=True)


if __name__ == "__main__":
    main()
