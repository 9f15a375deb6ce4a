"""``freeaction demo``: FreeAction on a shipped default model, from nothing but the package.

1. The model's simulator makes a few fresh test episodes (a seed the model never trained on).
2. The evaluation harness runs the model on each episode's first 16 frames (1 + 15 actions), unguided and
   with FreeAction, same seed for both, and measures PSNR, SSIM and Latent L2.
3. It writes ``OUT/videos/<episode>.mp4`` (ground truth | unguided | FreeAction, side by side),
   ``OUT/results/table.md`` (with paired bootstrap intervals) and ``OUT/results/index.html``.

A second run into the same folder reuses the episodes and the finished clips. The default folder,
``./freeaction-demo``, is git-ignored, so a demo run inside a checkout leaves ``git status`` clean.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

DEMO_SEED = 90_001  # the shipped models' training data used seed 0
CLIP_FRAMES = 16  # the paper's short protocol: 1 context frame + 15 actions
DEMO_OUT = "freeaction-demo"  # named in .gitignore
METHODS = ("unguided", "freeaction")


def simulate_test_clips(model: str, data: str | Path, episodes: int, seed: int = DEMO_SEED,
                        progress: bool = True) -> list[int]:
    """Make (or finish) ``episodes`` test episodes of shipped ``model``'s simulator under ``data``;
    returns the test-split indices of each episode's first :data:`CLIP_FRAMES` frames."""
    from freeaction.data import open_dataset
    from freeaction.shipped import shipped_info
    from freeaction.sim import make_dataset

    info = shipped_info(model)
    make_dataset(
        info["simulator"], data, episodes=episodes, seed=seed, workers=1, size=tuple(info["size"]),
        split_fractions=(0.0, 0.0, 1.0), progress=progress, **info.get("simulator_options", {}),
    )
    windows = open_dataset(data, "test", num_frames=CLIP_FRAMES, frames=False).windows
    return [k for k, (_, begin) in enumerate(windows) if begin == 0]


def run_demo(
    out: str | Path = DEMO_OUT,
    *,
    model: str = "pusher-64",
    episodes: int = 8,
    sampler: str | None = None,
    steps: int | None = None,
    seed: int = DEMO_SEED,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the demo; returns ``{"out", "html", "table", "videos", "summary", "seconds"}``."""
    from tqdm.auto import tqdm

    from freeaction.diffusion.rollout import num_chunks
    from freeaction.diffusion.sampler import num_sampling_steps, observe_steps
    from freeaction.errors import InputError
    from freeaction.eval import EvalConfig, evaluate
    from freeaction.eval.config import validate
    from freeaction.eval.results_folder import video_path
    from freeaction.model import load_model
    from freeaction.report import build_report
    from freeaction.report.videos import side_by_side
    from freeaction.shipped import QUICK_SAMPLER, resolve_sampler, shipped_info, shipped_model_path

    if episodes < 2:
        raise InputError(f"--episodes must be at least 2 (the statistics pair clips), got {episodes}")
    start = time.perf_counter()
    out = Path(out)
    checkpoint = shipped_model_path(model)
    info = shipped_info(model)
    sampler, steps = resolve_sampler(checkpoint, sampler, steps, fallback=QUICK_SAMPLER)
    data = out / "episodes"
    say = print if progress else (lambda *a, **k: None)
    say(f"[1/3] simulating {episodes} {info['simulator']} test episodes -> {data}")
    first = simulate_test_clips(model, data, episodes, seed, progress)
    say(f"[2/3] {model}: unguided vs FreeAction on 1 + {CLIP_FRAMES - 1} actions per episode")
    cfg = EvalConfig(
        checkpoint=str(checkpoint),
        dataset=str(data),
        split="test",
        clip_frames=CLIP_FRAMES,
        clips=first,
        out=str(out / "results"),
        seeds=1,
        sampler=sampler,
        steps=steps,
        device=device,
        batch_size=episodes,
        protocols=["short"],
        methods=list(METHODS),
        save_videos=episodes,
        bootstrap={"resamples": 2000, "confidence": 0.95, "seed": 0},
        source="freeaction demo",
    )
    # one batch of all episodes per method: the bar moves per sampling step of every chunk
    window = load_model(checkpoint).config.num_frames - 1
    total = len(METHODS) * num_chunks(CLIP_FRAMES - 1, window) * num_sampling_steps(sampler, steps)
    with tqdm(total=total, desc=f"sampling {sampler} {steps}", unit="step", disable=not progress) as bar, \
            observe_steps(lambda i, t, x: bar.update(1)):
        evaluate(validate(cfg), progress=progress, report=build_report)
    say("[3/3] side-by-side videos: ground truth | unguided | FreeAction")
    videos = []
    for clip_dir in sorted((out / "results" / "videos" / "short").iterdir()):
        panels = [video_path(cfg.out, "short", clip_dir.name, m) for m in (None, "unguided", "freeaction")]
        if all(p.is_file() for p in panels):
            videos.append(side_by_side(panels, out / "videos" / f"{clip_dir.name}.mp4"))
    table = out / "results" / "table.md"
    return {
        "out": out,
        "html": out / "results" / "index.html",
        "table": table,
        "videos": videos,
        "seconds": time.perf_counter() - start,
    }


def cmd_demo(args: argparse.Namespace) -> int:
    result = run_demo(
        args.out, model=args.model, episodes=args.episodes, sampler=args.sampler, steps=args.steps,
        seed=args.seed, device=args.device, progress=not args.no_progress,
    )
    print()
    print(result["table"].read_text(encoding="utf-8"))
    print(f"videos (ground truth | unguided | FreeAction): {result['out'] / 'videos'}/")
    print(f"report: {result['html']}")
    print(f"done in {result['seconds']:.0f} s")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="FreeAction vs unguided on a shipped default model: videos, metrics table, HTML report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=DEMO_OUT, help=f"output folder (default: ./{DEMO_OUT}, which git ignores)")
    p.add_argument("--model", default="pusher-64", help="shipped model: pusher-64 (default) or arm-64 (needs the "
                   "arm extra)")
    p.add_argument("--episodes", type=int, default=8, help="test episodes to simulate (default 8)")
    p.add_argument("--sampler", default=None, help="default: the model's recommended sampler")
    p.add_argument("--steps", type=int, default=None, help="default: the model's recommended steps")
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="simulator seed of the test episodes")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)
