"""``freeaction train-vae``: train a small AutoencoderKL on a dataset's frames.

Thin: turns flags into a :class:`freeaction.vae.train.VAETrainConfig` and calls
:func:`freeaction.vae.train.train_vae`.
"""

from __future__ import annotations

import argparse
from typing import Any

from freeaction.commands.args import size_arg


def cmd_train_vae(args: argparse.Namespace) -> int:
    from freeaction.vae.train import VAETrainConfig, train_vae

    given = {k: getattr(args, k) for k in ("preset", "steps", "batch_size", "lr", "kl_weight", "l1_weight",
                                            "mse_weight", "edge_weight", "size", "crop", "max_frames", "val_frames",
                                            "save_every", "seed", "device", "split", "val_split", "warmup_steps",
                                            "init_from")}
    cfg = VAETrainConfig(dataset=args.dataset, out=args.out, progress=not args.no_progress,
                         **{k: v for k, v in given.items() if v is not None})
    cfg.eval_every = cfg.save_every
    r = train_vae(cfg, resume=not args.no_resume)
    print(f"VAE {r['preset']} at step {r['step']}: latents {'x'.join(map(str, r['latent_shape']))}, "
          f"scaling factor {r['scaling_factor']:.5f}")
    print(f"held-out PSNR {r['psnr']:.2f} dB over all pixels, {r['psnr_objects']:.2f} dB over object pixels "
          f"({100 * r['object_fraction']:.1f}% of pixels), worst frame {r['psnr_frame_min']:.2f} dB "
          f"({r['frames']} frames)")
    print(f"wrote {r['vae']} (diffusers AutoencoderKL) and {r['grid']}")
    return 0


def add_parser(sub: Any) -> None:
    """Register ``train-vae``."""
    p = sub.add_parser(
        "train-vae",
        help="train a small AutoencoderKL on a dataset's frames",
        description="Train a small diffusers AutoencoderKL on the frames of an IRASim-layout dataset. Writes OUT/vae "
        "(diffusers folder, scaling factor = 1/std of the latents), OUT/recon.png, OUT/metrics.json; resumes "
        "from OUT/train_state.",
    )
    p.add_argument("dataset", help="IRASim-layout dataset (videos are read)")
    p.add_argument("--out", "-o", required=True, help="run folder")
    p.add_argument("--preset", default=None, help="tiny, f4-small, f4 (default; 64x64 -> 4x16x16), f8, f8-wide")
    p.add_argument("--init-from", default=None,
                   help="fine-tune this AutoencoderKL folder (an earlier run's vae/, the SDXL VAE); "
                   "--preset is then ignored")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default 3000)")
    p.add_argument("--batch-size", type=int, default=None, help="frames per step (default 16)")
    p.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate (default 1e-3, cosine decay)")
    p.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up steps (default 100)")
    p.add_argument("--kl-weight", type=float, default=None, help="weight of the mean KL term (default 1e-6)")
    p.add_argument("--l1-weight", type=float, default=None, help="weight of the L1 term (default 1)")
    p.add_argument("--mse-weight", type=float, default=None, help="weight of the MSE term (default 1)")
    p.add_argument("--edge-weight", type=float, default=None, help="extra weight on edges (default 0; e.g. 2)")
    p.add_argument("--size", type=size_arg, default=None, help="resize frames to HxW")
    p.add_argument("--crop", type=int, default=None, help="train on random crops of this size (e.g. 32)")
    p.add_argument("--max-frames", type=int, default=None, help="training frames held in memory (default 20000)")
    p.add_argument("--val-frames", type=int, default=None, help="held-out frames for the metrics (default 256)")
    p.add_argument("--save-every", type=int, default=None, help="checkpoint + evaluation interval (default 500)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--split", default=None, help="training split (default train)")
    p.add_argument("--val-split", default=None, help="held-out split (default val)")
    p.add_argument("--device", default=None, help="auto, cpu or cuda")
    p.add_argument("--no-resume", action="store_true", help="refuse to continue an existing run")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train_vae)
