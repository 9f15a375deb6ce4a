"""Training throughput (samples/s) of the world model on this CPU: the issue's figures.

    python benchmarks/bench_train.py                 # tiny + small, latents 8x8 and 16x16, fp32 and bf16
    python benchmarks/bench_train.py --quick         # fewer timed steps
    python benchmarks/bench_train.py --frames 16     # IRASim's window length (default 8)
    python benchmarks/bench_train.py --presets small --latents 16 --batch 16 --hidden 128 256 --recipe
                                                     # the default models' DiT at two widths
    python benchmarks/bench_train.py --presets small --latents 16 --batch 16 --hidden 256 --recipe \
        --context-attention                          # what the context_attention branch costs

``--hidden`` times the presets at other widths (heads = hidden / 32); ``--recipe`` uses the shipped
default models' options (trajectory condition, final-layer Frame-Ada, linear action embedder,
Min-SNR-5 and moving-cell loss weights). ``--compile`` adds bf16 with ``torch.compile`` (the
training option ``compile``): its samples/s, the ratio to eager bf16, the time of its first
step (the compilation) and how far its first loss is from eager's on the same weights and batch.

One sample is one clip of ``--frames`` latent frames (4 channels; 8x8 = the f8 VAE on 64x64
pusher frames, 16x16 = the f4 VAE). A step is exactly what ``freeaction train`` does per batch:
noise + clean frame 0, forward, epsilon MSE on frames 1.., backward, gradient clipping,
AdamW, EMA update. Data loading is not included (latents are cached in memory in training).
"""

from __future__ import annotations

import argparse
import time

import torch

from freeaction.diffusion.loss import diffusion_loss, draw_step
from freeaction.model import VideoDiT, preset
from freeaction.train.ema import EMA
from freeaction.train.windows import step_generator

RECIPE_MODEL = {"condition": "trajectory", "final_frame_ada": True}
RECIPE_LOSS = {"min_snr_gamma": 5.0, "moving_weight": 5.0}


def bench(name: str, latent: int, frames: int, batch: int, bf16: bool, steps: int, hidden: int | None = None,
          recipe: bool = False, compiled: bool = False, context: bool = False) -> tuple[float, int, float, float]:
    """(samples/s, parameters, first step's seconds, first step's loss)."""
    torch.manual_seed(0)
    width = {"hidden_size": hidden, "num_heads": max(1, hidden // 32)} if hidden else {}
    extra = {"context_attention": True} if context else {}
    model = VideoDiT(preset(name, action_dim=2, action_embedder="linear", latent_size=(latent, latent),
                            num_frames=frames, **width, **(RECIPE_MODEL if recipe else {}), **extra)).train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    ema = EMA(model, 0.9999)
    x0 = torch.randn(batch, frames, 4, latent, latent)
    actions = torch.randn(batch, frames - 1, 2)
    forward = torch.compile(model) if compiled else model

    def step(k: int) -> float:
        t, noise, null = draw_step(step_generator(0, k, 0), tuple(x0.shape), 0.1)
        loss = diffusion_loss(forward, x0, actions, t, noise, null, autocast_dtype=torch.bfloat16 if bf16 else None,
                              **(RECIPE_LOSS if recipe else {}))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema.update(model)
        return float(loss.detach())

    t0 = time.perf_counter()
    first_loss = step(0)
    first_s = time.perf_counter() - t0
    step(1)
    t0 = time.perf_counter()
    for k in range(steps):
        step(k + 2)
    return steps * batch / (time.perf_counter() - t0), params, first_s, first_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--presets", nargs="+", default=["tiny", "small"])
    ap.add_argument("--latents", nargs="+", type=int, default=[8, 16])
    ap.add_argument("--hidden", nargs="+", type=int, default=[0], help="hidden sizes (default: the preset's)")
    ap.add_argument("--recipe", action="store_true", help="the shipped default models' model and loss options")
    ap.add_argument("--compile", action="store_true", help="also bf16 with torch.compile")
    ap.add_argument("--context-attention", action="store_true",
                    help="also bf16 with the model option context_attention, and its ratio to bf16 without")
    args = ap.parse_args()
    steps = 3 if args.quick else 10
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch} clips of "
          f"{args.frames} frames, 4-channel latents; {steps} timed steps after 2 warm-up")
    head = ("preset", "hidden", "params", "latent", "fp32 samples/s", "bf16 samples/s", "bf16/fp32")
    if args.compile:
        head += ("compiled samples/s", "compiled/bf16", "compile s", "first loss diff")
    if args.context_attention:
        head += ("+context samples/s", "+context/bf16")
    columns = "{:8s} {:>6s} {:>8s} {:>7s} {:>15s} {:>15s} {:>9s}".format(*head[:7])
    print(columns + "".join(f" {h:>18s}" for h in head[7:]))
    for name in args.presets:
        for hidden in args.hidden:
            for latent in args.latents:
                options = dict(hidden=hidden or None, recipe=args.recipe)
                fp32, params, _, _ = bench(name, latent, args.frames, args.batch, False, steps, **options)
                bf16, _, _, loss = bench(name, latent, args.frames, args.batch, True, steps, **options)
                width = hidden or preset(name).hidden_size
                row = (f"{name:8s} {width:6d} {params / 1e6:7.2f}M {latent:>3d}x{latent:<3d} {fp32:15.1f} {bf16:15.1f} "
                       f"{bf16 / fp32:9.2f}")
                if args.compile:
                    fast, _, first_s, fast_loss = bench(name, latent, args.frames, args.batch, True, steps,
                                                        compiled=True, **options)
                    row += f" {fast:18.1f} {fast / bf16:18.2f} {first_s:18.0f} {abs(fast_loss - loss):18.2e}"
                if args.context_attention:
                    ctx, _, _, _ = bench(name, latent, args.frames, args.batch, True, steps, context=True, **options)
                    row += f" {ctx:18.1f} {ctx / bf16:18.2f}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
