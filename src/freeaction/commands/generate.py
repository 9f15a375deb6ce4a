"""``freeaction generate``: first frame + actions + checkpoint -> mp4 (and optional PNG frames)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from freeaction.actions import action_scaler
from freeaction.diffusion.rollout import num_chunks, pad_chunk
from freeaction.diffusion.sampler import num_sampling_steps
from freeaction.diffusion.schedulers import DEFAULT_STEPS, SCHEDULERS
from freeaction.errors import InputError
from freeaction.files import atomic_path
from freeaction.media import VideoWriter, read_actions, read_image
from freeaction.method import GUIDANCE_KINDS, MAGNITUDE_KINDS, TRUNCATION_KINDS, Method, magnitude
from freeaction.method.guidance import NUM_TRAIN_TIMESTEPS
from freeaction.pipeline import PRECISIONS, WorldModel
from freeaction.shipped import IRASIM_SAMPLER, resolve_sampler


def add_method_arguments(p: argparse.ArgumentParser) -> None:
    """The guidance / truncation flags, shared by every command that samples."""
    g = p.add_argument_group("FreeAction guidance (eps_hat = eps(a) + w * (eps(a) - eps(neg)))")
    g.add_argument(
        "--guidance",
        choices=GUIDANCE_KINDS,
        default="none",
        help="none: IRASim's unguided sampling; freeaction: w = lambda * m(a), negative = -a, only while "
        "t > cutoff*T; null: constant w against the learned null condition; negated: constant w "
        "against -a",
    )
    g.add_argument(
        "--guidance-scale",
        "--lambda",
        dest="guidance_scale",
        type=float,
        default=1.0,
        help="lambda for --guidance freeaction, the constant w otherwise (w = diffusers guidance_scale - 1)",
    )
    g.add_argument(
        "--cutoff",
        type=float,
        default=None,
        help="guide only while t > cutoff*T (freeaction default 0.5; null/negated default: always)",
    )
    g.add_argument(
        "--window",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="guide only while LO*T < t <= HI*T (overrides --cutoff)",
    )
    g.add_argument(
        "--magnitude",
        choices=MAGNITUDE_KINDS,
        default="l2",
        help="m(a): L2 norm of the flattened chunk, or mean of per-step L2 norms",
    )
    g.add_argument(
        "--magnitude-dims", type=int, nargs="+", default=None, help="dimensions that count toward m(a) (default: all)"
    )
    g.add_argument(
        "--negate-dims",
        type=int,
        nargs="+",
        default=None,
        help="dimensions that -a negates (default: all; e.g. 0 1 2 3 4 5 keeps a 7-D gripper state)",
    )
    t = p.add_argument_group("initial-noise truncation (tau = tau_min + (tau_max - tau_min) * sigmoid(m(a) - mu_act))")
    t.add_argument(
        "--truncation",
        choices=TRUNCATION_KINDS,
        default="none",
        help="none: Gaussian noise; fixed: truncated at --tau; action_scaled: FreeAction's tau(a)",
    )
    t.add_argument("--tau", type=float, default=1.0, help="threshold for --truncation fixed")
    t.add_argument("--tau-min", type=float, default=0.5)
    t.add_argument("--tau-max", type=float, default=1.5)
    t.add_argument(
        "--mu-act",
        type=float,
        default=None,
        help="mean m(a) of the training clips (default: --stats, else the checkpoint's action statistics)",
    )
    t.add_argument(
        "--stats",
        default=None,
        metavar="DATASET",
        help="take mu_act from a dataset's freeaction_stats.json (made by `freeaction data stats DATASET`)",
    )


def method_dict_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as the mapping :meth:`Method.from_dict` reads: only the options of the chosen types."""
    window = args.window if args.window is not None else None if args.cutoff is None else [args.cutoff, 1.0]
    guidance: dict[str, Any] = {"type": args.guidance}
    if args.guidance != "none":
        guidance["scale"] = args.guidance_scale
        if window is not None:
            guidance["window"] = window
    if args.guidance == "freeaction":
        guidance.update(magnitude=args.magnitude, magnitude_dims=args.magnitude_dims, negate_dims=args.negate_dims)
    elif args.guidance == "negated":
        guidance["negate_dims"] = args.negate_dims
    truncation: dict[str, Any] = {"type": args.truncation}
    if args.truncation == "fixed":
        truncation["tau"] = args.tau
    elif args.truncation == "action_scaled":
        truncation.update(
            mu_act=args.mu_act,
            tau_min=args.tau_min,
            tau_max=args.tau_max,
            magnitude=args.magnitude,
            magnitude_dims=args.magnitude_dims,
        )
    parts = [k for k in (args.guidance, args.truncation) if k != "none"]
    return {"name": "+".join(parts) or "unguided", "guidance": guidance, "truncation": truncation}


def method_from_args(args: argparse.Namespace) -> Method:
    """The method the flags describe, through the one parser (:meth:`Method.from_dict`)."""
    return Method.from_dict(method_dict_from_args(args))


def chunk_summary(method: Method, actions: np.ndarray, window: int, most: int = 8) -> list[str]:
    """m(a), w (inside the guidance window) and tau of each chunk as the sampler will see it
    (the last partial chunk padded as the rollout pads it); the first ``most`` chunks."""
    g, trunc = method.guidance, method.truncation
    kind = getattr(g, "magnitude", getattr(trunc, "magnitude", "l2"))
    dims = getattr(g, "magnitude_dims", getattr(trunc, "magnitude_dims", None))
    a = torch.as_tensor(actions, dtype=torch.float32)
    starts = range(0, len(a), window)
    lines = []
    for i, s in enumerate(starts[:most]):
        chunk = pad_chunk(a[None, s : s + window], window)
        parts = [f"chunk {i + 1}: m(a) {float(magnitude(chunk, kind, dims)):.3f}"]
        if g.type != "none":
            parts.append(f"w {float(g.weight(chunk, g.window[1] * NUM_TRAIN_TIMESTEPS)):.3f}")
        if trunc.type == "action_scaled":
            parts.append(f"tau {float(trunc.tau(chunk)):.3f}")
        elif trunc.type == "fixed":
            parts.append(f"tau {trunc.tau:.3f}")
        lines.append(", ".join(parts))
    if len(starts) > most:
        lines.append(f"... {len(starts) - most} more chunk(s)")
    return lines


FAR_FROM_MU = 5.0
"""A chunk whose m(a) exceeds this many times the training clips' mu_act is flagged."""
UNITS = (
    "raw actions are robot units per step, multiplied by x20 (deltas) and x1 (7-D gripper state) unless "
    "--action-space model: pusher / Language-Table actions are metres per step, [dx, dy] with x along image "
    "columns (right) and y along image rows (down), about 0.02 m a step"
)


def magnitude_warning(actions: np.ndarray, stats: Mapping[str, Any] | None, window: int, source: str) -> str | None:
    """A warning when the m(a) of some chunk of model-space ``actions`` lies far outside the training
    clips' (above ``FAR_FROM_MU`` x their ``mu_act`` or above the largest m(a) recorded), else None.

    m(a) is measured as ``stats`` were (their ``magnitude`` and ``dims``) over chunks of ``window``
    actions; statistics made over another window length are not comparable and give no warning.
    """
    if not stats or stats.get("mu_act") is None or stats.get("num_frames") not in (None, window + 1):
        return None
    mu, top = float(stats["mu_act"]), stats.get("max")
    a = torch.as_tensor(actions, dtype=torch.float32)
    chunks = [pad_chunk(a[None, s : s + window], window) for s in range(0, len(a), window)]
    m = [float(magnitude(c, stats.get("magnitude", "l2"), stats.get("dims"))) for c in chunks]
    far = [i for i, v in enumerate(m) if v > FAR_FROM_MU * mu or (top is not None and v > float(top))]
    if not far:
        return None
    worst = max(far, key=m.__getitem__)
    largest = f", largest {float(top):.3g}" if top is not None else ""
    return (
        f"warning: {len(far)} of {len(m)} chunk(s) have m(a) far outside the training clips' (compared with "
        f"{source}: mu_act {mu:.3g}{largest}; flagged above {FAR_FROM_MU:g} x mu_act or the largest): chunk "
        f"{worst + 1} has m(a) {m[worst]:.3g} = {m[worst] / mu:.3g} x mu_act. The model never saw such actions: "
        f"check their units ({UNITS})."
    )


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        help="freeaction checkpoint folder/.safetensors, IRASim .pt file, or a shipped model name (pusher-64, arm-64)",
    )
    p.add_argument("--vae", default=None, help="local diffusers AutoencoderKL folder or a shipped model name "
                   "(default: CHECKPOINT/vae)")
    p.add_argument("--num-heads", type=int, default=None, help="override: attention heads (IRASim files without args)")
    p.add_argument("--latent-size", type=int, nargs=2, metavar=("H", "W"), default=None, help="override: latent size")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--precision", choices=sorted(PRECISIONS), default="fp32", help="fp32 (default), or bf16/fp16 autocast"
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU users)")


def load_world_model(args: argparse.Namespace) -> WorldModel:
    overrides = {}
    if args.num_heads is not None:
        overrides["num_heads"] = args.num_heads
    if args.latent_size is not None:
        overrides["latent_size"] = tuple(args.latent_size)
    wm = WorldModel.load(
        args.checkpoint, args.vae, device=args.device, precision=args.precision, compile=args.compile, **overrides
    )
    if getattr(args, "stats", None):
        from freeaction.data.stats import load_stats

        stats = load_stats(args.stats)
        if stats is None:
            raise InputError(f"{args.stats}: no freeaction_stats.json; run `freeaction data stats {args.stats}`")
        wm.set_action_stats(stats, source=f"--stats {args.stats}")
    return wm


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate a video from a first frame and an action trajectory",
        description="Generate the frames that follow an image under an action trajectory. Long "
        "trajectories are generated autoregressively in chunks of the model's window.",
    )
    add_model_arguments(p)
    p.add_argument("--image", required=True, help="first frame (PNG/JPEG), RGB, the model's frame size")
    p.add_argument("--resize", action="store_true", help="resize the image to the model's frame size")
    p.add_argument(
        "--actions",
        required=True,
        help="actions (.npy, .json or .csv), one row per step; pusher (2-D): [dx, dy] effector displacement in "
        "metres per step, x along image columns (right), y along image rows (down), about 0.02 m a step; "
        "arm (7-D): end-effector delta (metres, radians) + gripper state",
    )
    p.add_argument(
        "--action-space",
        choices=["raw", "model"],
        default="raw",
        help="raw: robot units, multiplied by the model-space scaler (x20 deltas, x1 gripper); model: as given. "
        "A warning names chunks whose m(a) is far outside the training statistics",
    )
    p.add_argument("--out", required=True, help="output .mp4")
    p.add_argument("--frames-dir", default=None, help="also write every frame as PNG here")
    p.add_argument("--fps", type=float, default=4)
    p.add_argument("--sampler", choices=sorted(SCHEDULERS), default=None,
                   help="default: the model's recommended sampler (a shipped model's shipped.json), else pndm "
                   "(IRASim's own sampler)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"inference steps (default: the recommended ones, else per sampler: {DEFAULT_STEPS})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it moves per sampling step)")
    add_method_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    method = method_from_args(args)  # bad options stop here, before any model is loaded
    actions = read_actions(args.actions)
    image = read_image(args.image)
    wm = load_world_model(args)
    A = wm.config.action_dim
    if actions.shape[1] != A:
        raise InputError(
            f"{args.actions}: actions have {actions.shape[1]} dimensions per step; "
            f"the model {args.checkpoint} takes {A}"
        )
    if args.action_space == "raw":
        actions = actions * action_scaler(A)
    wm._require_vae()  # a clear error before any work when no VAE was found
    H, W = wm.frame_size
    if image.shape[:2] != (H, W):
        if not args.resize:
            raise InputError(
                f"{args.image}: image is {image.shape[1]}x{image.shape[0]} (WxH); the model takes "
                f"{W}x{H}. Pass --resize to resize it."
            )
        image = np.asarray(Image.fromarray(image).resize((W, H), Image.Resampling.LANCZOS))
    method, mu_act = wm.resolve(method)
    args.sampler, steps = resolve_sampler(args.checkpoint, args.sampler, args.steps, IRASIM_SAMPLER)
    window = wm.config.num_frames - 1
    chunks = num_chunks(len(actions), window)
    print(
        f"freeaction generate: {len(actions)} actions ({chunks} chunk(s) of {window}), method {method.name}, "
        f"{args.sampler} {steps} steps, seed {args.seed}"
    )
    print(f"  {method.describe()}" + (f" (mu_act from {mu_act.source})" if mu_act is not None else ""))
    for line in chunk_summary(method, actions, window):
        print(f"  {line}")
    warning = magnitude_warning(actions, wm.action_stats, window, wm.action_stats_source)
    if warning:
        print(warning, file=sys.stderr)
    frames_dir = Path(args.frames_dir) if args.frames_dir else None
    if frames_dir:
        frames_dir.mkdir(parents=True, exist_ok=True)
    per_chunk = num_sampling_steps(args.sampler, steps)
    bar = tqdm(total=chunks * per_chunk, desc=f"sampling {chunks} chunk(s)", unit="step", disable=args.no_progress)
    t0 = time.perf_counter()
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as {out / 'video.mp4'}")
    # the old file, or the whole new one, also after a kill
    with atomic_path(out) as partial, VideoWriter(partial, fps=args.fps) as writer:

        def sink(latents: torch.Tensor) -> None:
            frames = wm.decode(latents)
            writer.write(frames)
            if frames_dir:  # numbered by position in the video: 000000 is the context frame
                base = writer.frames_written - len(frames)
                for i, frame in enumerate(frames):
                    Image.fromarray(frame).save(frames_dir / f"{base + i:06d}.png")

        wm.generate(
            image, actions, method=method, sampler=args.sampler, steps=steps, seed=args.seed, sink=sink, keep=False,
            callback=lambda i, t, x: bar.update(1),
        )
    bar.close()
    info = {
        "out": str(args.out),
        "frames": writer.frames_written,
        "seconds": round(time.perf_counter() - t0, 2),
        "method": method.name,
        "guidance": method.to_dict()["guidance"],
        "truncation": method.to_dict()["truncation"],
    }
    print(json.dumps(info))
    return 0
