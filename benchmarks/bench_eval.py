"""Evaluation throughput: clips per minute per method, and each method's cost relative to unguided.

    python benchmarks/bench_eval.py                           # shipped pusher-64 on fresh simulator episodes
    python benchmarks/bench_eval.py --checkpoint arm-64       # another shipped model
    python benchmarks/bench_eval.py --checkpoint CKPT --vae VAE --dataset DATA --split test --steps 50
    python benchmarks/bench_eval.py --tiny                    # tiny random model + synthetic data (~3 min)

For each method the whole per-clip path is timed (sampling every seed, decoding, PSNR/SSIM,
Latent L2, diversity, writing the rows), on the same clips, with a warm-up pass first. The
figures are machine- and load-dependent: read the ratios, not the absolutes. A shipped model
without ``--dataset`` runs on ``--clips`` episodes freshly made by its simulator (as the demo
does), one 1 + 15-action clip from the start of each, with the model card's sampler and steps.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

METHODS = [
    "unguided",
    "freeaction_cfg",
    "freeaction_trunc",
    "freeaction",
    {"name": "null_cfg_w1", "guidance": {"type": "null", "scale": 1.0}},
    {"name": "negated_full_range", "guidance": {"type": "negated", "scale": 1.0}},
]


def tiny_setup(folder: Path) -> tuple[Path, Path]:
    """A tiny random model (+ VAE) and a synthetic 64x64 dataset with latents, written under ``folder``."""
    from diffusers import AutoencoderKL

    from freeaction import VideoDiT, preset, save_model
    from freeaction.data.synthetic import make_synthetic_dataset

    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, action_embedder="linear", latent_size=(8, 8)))
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.05)
    ckpt = save_model(model, folder / "ckpt")
    AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        latent_channels=4, norm_num_groups=4,
    ).save_pretrained(ckpt / "vae")
    data = make_synthetic_dataset(folder / "data", episodes=8, length=34, size=(64, 64), splits=(0.5, 0.0, 0.5),
                                  latents=True)
    return ckpt, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="pusher-64", help="checkpoint folder or shipped model (default pusher-64)")
    ap.add_argument("--tiny", action="store_true", help="a tiny random model on synthetic data instead")
    ap.add_argument("--vae", help="VAE folder (default: <checkpoint>/vae)")
    ap.add_argument("--dataset", help="dataset root (default: a shipped model's simulator; must match the model)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--sampler", default="ddim")
    ap.add_argument("--steps", type=int, default=None, help="sampler steps (default: the card's, or 10 for --tiny)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=2, help="timed passes per method (the fastest is kept)")
    ap.add_argument("--mu-act", type=float, default=None, help="mu_act when the data has no train split")
    args = ap.parse_args()

    from freeaction.commands.demo import CLIP_FRAMES, simulate_test_clips
    from freeaction.eval.config import config_from_dict, validate
    from freeaction.eval.runner import Evaluator
    from freeaction.shipped import SHIPPED_MODELS, shipped_info, shipped_model_path

    tmp = Path(tempfile.mkdtemp(prefix="bench_eval_"))
    clips: int | list[int] = args.clips
    steps = args.steps
    if args.tiny:
        ckpt, data = tiny_setup(tmp)
        steps = steps or 10
    elif args.dataset:
        ckpt, data = Path(args.checkpoint), Path(args.dataset)
        steps = steps or 20
    elif args.checkpoint in SHIPPED_MODELS:  # fresh episodes of its simulator, as the demo makes them
        ckpt, data = shipped_model_path(args.checkpoint), tmp / "episodes"
        clips = simulate_test_clips(args.checkpoint, data, args.clips, seed=12345, progress=False)
        steps = steps or shipped_info(args.checkpoint).get("steps", 20)
    else:
        ap.error("--dataset is needed with a checkpoint folder (or name a shipped model, or pass --tiny)")
    cfg = validate(config_from_dict({
        "checkpoint": str(ckpt), "vae": args.vae, "dataset": str(data), "split": args.split, "out": str(tmp / "out"),
        "clips": clips, "clip_frames": CLIP_FRAMES, "seeds": args.seeds, "sampler": args.sampler, "steps": steps,
        "device": args.device, "methods": METHODS, "save_videos": 0, "batch_size": args.clips * args.seeds,
        "mu_act": args.mu_act,
    }))
    ev = Evaluator(cfg, progress=False)
    items = ev.items("short")
    loaded = [ev._load(it) for it in items]
    ev._bar = type("NoBar", (), {"update": lambda self, n: None})()
    results = {}
    for method in ev.methods:
        ev._run_method(method, loaded[:1])  # warm-up (also fills any caches)
        seconds = float("inf")
        for _ in range(args.repeats):  # the fastest pass: the least disturbed by other load
            ev.writer.done.clear()
            t0 = time.perf_counter()
            ev._run_method(method, loaded)
            seconds = min(seconds, time.perf_counter() - t0)
        ev.writer.done.clear()
        results[method.name] = {"seconds": seconds, "clips_per_minute": 60 * len(loaded) / seconds}
    base = results["unguided"]["seconds"]
    print(f"{ckpt.name}: {len(loaded)} clips of 1 + {CLIP_FRAMES - 1} actions x {args.seeds} seeds, "
          f"{args.sampler} {steps} steps, device {ev.device}, {torch.get_num_threads()} threads")
    print(f"{'method':<22} {'clips/min':>10} {'cost vs unguided':>17}")
    for name, r in results.items():
        r["relative_cost"] = r["seconds"] / base
        print(f"{name:<22} {r['clips_per_minute']:>10.1f} {r['relative_cost']:>16.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
