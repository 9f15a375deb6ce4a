"""``freeaction data ...``: stats, info, show, convert, make.

Thin: each handler parses its arguments, calls the data API and prints what happened,
including a summary of anything skipped with ``--skip-bad`` (nothing is dropped silently).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freeaction.commands.args import parse_options, size_arg
from freeaction.data.base import skip_summary
from freeaction.data.irasim_layout import SPLITS
from freeaction.errors import InputError
from freeaction.method.actions import MAGNITUDE_KINDS


def _print_skipped(skipped: list[Any]) -> None:
    text = skip_summary(skipped)
    if text:
        print(text)


def _reader_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"num_frames": args.num_frames, "camera": args.camera, "skip_bad": args.skip_bad or None}


def cmd_stats(args: argparse.Namespace) -> int:
    from freeaction.data.open import open_dataset
    from freeaction.data.stats import compute_stats, save_stats

    ds = open_dataset(
        args.dataset, args.split, frames=False, latents=False, stride=args.stride, **_reader_options(args)
    )
    stats = compute_stats(ds, args.magnitude, args.dims, bins=args.bins)
    out = Path(args.out) if args.out else ds.root
    path = save_stats(out, stats, histogram=not args.no_plot)
    q = stats["quantiles"]
    print(f"{stats['num_clips']} clips from {stats['num_episodes']} episodes ({ds.format}, split {args.split})")
    print(
        f"m(a) {stats['magnitude']} dims={stats['dims'] or 'all'}: mu_act = {stats['mu_act']:.4f}, "
        f"std {stats['std']:.4f}, q05 {q['q05']:.4f}, median {q['q50']:.4f}, q95 {q['q95']:.4f}"
    )
    print("per-dim mean " + " ".join(f"{v:+.4f}" for v in stats["per_dim_mean"]))
    print("per-dim std  " + " ".join(f"{v:.4f}" for v in stats["per_dim_std"]))
    print(f"wrote {path}")
    _print_skipped(ds.skipped)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from freeaction.data.open import describe_dataset

    info = describe_dataset(args.dataset, **_reader_options(args))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['root']}: {info['format']}")
    for split, d in info["splits"].items():
        size = d.get("frame_size")
        size_txt = f"{size[0]}x{size[1]}" if size else "?"
        print(
            f"  {split:6s} {d['episodes']:6d} episodes {d['clips']:8d} clips of {d['num_frames']} frames "
            f"(stride {d['stride']})  action dim {d['action_dim']}  frames {size_txt}  "
            f"latents {d.get('latents_present', 0)}/{d['episodes']}"
        )
    from freeaction.data.stats import load_stats

    stats = load_stats(info["root"])
    if stats:
        print(
            f"  stats: mu_act {stats['mu_act']:.4f} ({stats['magnitude']}, dims {stats['dims'] or 'all'}, "
            f"{stats['num_clips']} clips of split {stats['split']})"
        )
    else:
        print("  stats: none (run `freeaction data stats`)")
    for line in info.get("skipped", []):
        print(f"  skipped {line}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from freeaction.data.open import open_dataset
    from freeaction.data.show import frame_grid

    ds = open_dataset(args.dataset, args.split, latents=False, **_reader_options(args))
    path = frame_grid(ds, args.out, episodes=args.episodes, frames_per_episode=args.frames, seed=args.seed)
    print(f"wrote {path}")
    _print_skipped(ds.skipped)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from freeaction.data.convert import convert

    path, skipped = convert(
        args.src,
        args.to,
        args.out,
        splits=args.splits,
        version=args.version,
        layout=args.layout,
        fps=args.fps,
        overwrite=args.overwrite,
        skip_bad=args.skip_bad,
    )
    print(f"wrote {args.to} dataset to {path}")
    _print_skipped(skipped)
    return 0


def cmd_make(args: argparse.Namespace) -> int:
    try:
        from freeaction.sim import make_dataset
    except ImportError as exc:
        raise InputError(f"the simulators are not available in this installation ({exc})") from exc
    kwargs: dict[str, Any] = {"episodes": args.episodes, "seed": args.seed, "workers": args.workers}
    if args.size is not None:
        kwargs["size"] = args.size
    result = make_dataset(args.kind, args.out, **kwargs, **parse_options(args.option))
    print(f"made {args.kind} dataset in {args.out}")
    if isinstance(result, dict):
        for key in ("episodes", "splits", "written", "skipped_existing"):
            if key in result:
                print(f"  {key}: {result[key]}")
        empty = [s for s in SPLITS if not result.get("splits", {}).get(s)]
        if empty:
            print(f"  note: no {' or '.join(empty)} episode: with fewer than 3 episodes some split stays empty "
                  "(evaluate and quality read the test split); use --episodes 3 or more")
    return 0


def _common(p: argparse.ArgumentParser, split: bool = True) -> None:
    if split:
        p.add_argument("--split", default="train", help="split to read (default train)")
    p.add_argument("--num-frames", type=int, default=None, help="frames per clip (default 16)")
    p.add_argument("--camera", default=None, help="camera: index (IRASim RT-1/Bridge) or video key (LeRobot)")
    p.add_argument("--skip-bad", action="store_true", help="skip bad episodes/records and list them")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``freeaction data`` and its subcommands."""
    data = subparsers.add_parser(
        "data",
        help="read, inspect, convert and make datasets",
        description="Dataset tools: stats, info, show, convert, make.",
    )
    sub = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")

    p = sub.add_parser("stats", help="action statistics (mu_act) -> freeaction_stats.json at the dataset root")
    p.add_argument("dataset")
    _common(p)
    p.add_argument("--magnitude", choices=MAGNITUDE_KINDS, default="l2", help="m(a): l2 (default) or mean_step")
    p.add_argument("--dims", type=int, nargs="+", default=None, help="restrict m(a) to these action dimensions")
    p.add_argument("--stride", type=int, default=None, help="window start interval (default: 1 for train)")
    p.add_argument("--bins", type=int, default=50, help="histogram bins")
    p.add_argument("--out", default=None, help="directory for the stats files (default: the dataset root)")
    p.add_argument("--no-plot", action="store_true", help="do not write the histogram PNG")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("info", help="format, episodes and clips per split, action dim, frame size, latents")
    p.add_argument("dataset")
    _common(p, split=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("show", help="PNG grid of frames from a few episodes")
    p.add_argument("dataset")
    _common(p)
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--episodes", type=int, default=4, help="episodes (rows)")
    p.add_argument("--frames", type=int, default=6, help="frames per episode (columns)")
    p.add_argument("--seed", type=int, default=0, help="which episodes are picked")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("convert", help="convert a dataset to LeRobot (v2.1/v3.0) or RLDS TFRecords")
    p.add_argument("src")
    p.add_argument("--to", choices=("lerobot", "rlds"), required=True)
    p.add_argument("out")
    p.add_argument("--splits", nargs="+", default=None, help="splits to convert (default all)")
    p.add_argument("--version", choices=("v2.1", "v3.0"), default="v2.1", help="LeRobot version")
    p.add_argument(
        "--layout",
        choices=("fractal20220817_data", "bridge", "language_table"),
        default=None,
        help="RLDS layout (default: language_table for 2-D, fractal20220817_data for 7-D)",
    )
    p.add_argument("--fps", type=int, default=10, help="frame rate written to LeRobot metadata/videos")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    p.add_argument("--skip-bad", action="store_true", help="skip bad source episodes and list them")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("make", help="make a simulator dataset (IRASim layout)")
    p.add_argument("kind", help="simulator: pusher (2-D, Language-Table-like) or arm (7-D, RT-1/Bridge-like)")
    p.add_argument("out", help="dataset folder to make (or finish: a second run resumes)")
    p.add_argument("--episodes", type=int, default=100,
                   help="episodes to make (default 100), split 80/10/10 into train/val/test; with 3 or more "
                   "every split gets at least one")
    p.add_argument("--seed", type=int, default=0, help="dataset seed: episode i depends only on (seed, i) (default 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2; the bytes do not depend on it)")
    p.add_argument("--size", type=size_arg, default=None, help="frame size HxW (default 64x64)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a simulator option, repeatable (pusher: world=1|2|3, blocks=N or [MIN,MAX], frames=N or "
                   "[MIN,MAX]; arm: world=1|2|3|4|5, frames, behaviours, camera_jitter, supersample)")
    p.set_defaults(func=cmd_make)


__all__ = ["add_parser"]
