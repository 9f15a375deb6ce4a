"""CLI: ``freeaction evaluate CONFIG``, ``freeaction sweep CONFIG``, ``freeaction eval train-idm DATASET``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freeaction.errors import InputError


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from freeaction.train.config import parse_set

    over = parse_set(args.set)
    for key in ("out", "fvd_weights", "fid_weights", "device", "idm"):
        if getattr(args, key, None) is not None:
            over[key] = getattr(args, key)
    return over


def _merge_only(args: argparse.Namespace) -> int:
    from freeaction.config_files import read_mapping
    from freeaction.eval.results import merge_shards, shard_files

    out = args.out
    if out is None:
        data = read_mapping(args.config)
        out = str((Path(args.config).resolve().parent / data.get("out", "eval_results")).resolve())
    if not shard_files(out):
        raise InputError(f"{out}: no result shards to merge (run freeaction evaluate first)")
    merged = merge_shards(out)
    print(f"merged -> {merged}")
    if not args.no_report:
        from freeaction.report import build_report

        build_report(out)
        print(f"report -> {Path(out) / 'index.html'}")
    return 0


def _run(cfg: Any, args: argparse.Namespace) -> int:
    from freeaction.eval.runner import evaluate

    summary = evaluate(cfg, progress=not args.no_progress, report=not args.no_report)
    print(json.dumps(summary))
    if summary["merged"] and not args.no_report:
        print(f"report -> {Path(cfg.out) / 'index.html'}")
    elif not summary["merged"]:
        print("this rank is done; the results are merged when every rank is (or run with --merge)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.merge:
        return _merge_only(args)
    from freeaction.eval.config import load_eval_config

    return _run(load_eval_config(args.config, **_overrides(args)), args)


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.merge:
        return _merge_only(args)
    from freeaction.data import open_dataset
    from freeaction.eval.config import load_eval_config, validate
    from freeaction.eval.sweep import expand_sweep

    cfg = load_eval_config(args.config, **_overrides(args))
    action_dim = open_dataset(cfg.dataset, cfg.split, frames=False).action_dim
    methods, plan, notes = expand_sweep(cfg.sweep or {}, cfg.methods, action_dim, source=cfg.source)
    cfg.methods = methods
    cfg.sweep = {**(cfg.sweep or {}), "plan": plan, "notes": notes}
    for note in notes:
        print(f"note: {note}")
    print(f"sweep: {len(methods)} methods over axes {list(plan)}")
    return _run(validate(cfg), args)


def cmd_train_idm(args: argparse.Namespace) -> int:
    from freeaction.eval.inverse_dynamics import train_idm

    result = train_idm(
        args.dataset,
        args.out,
        train_split=args.split,
        test_split=args.test_split,
        size=tuple(args.size),
        width=args.width,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        max_episodes=args.max_episodes,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
    )
    print(json.dumps(result))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG", help="evaluation config file (.yaml/.yml/.json or .toml)")
    p.add_argument("--out", default=None, help="results folder (overrides the config's 'out')")
    p.add_argument("--merge", action="store_true", help="only merge the shards of a (distributed) run and report")
    p.add_argument("--fvd-weights", default=None, help="local TorchScript I3D for FVD (never downloaded)")
    p.add_argument("--fid-weights", default=None, help="local TorchScript Inception for FID (never downloaded)")
    p.add_argument("--idm", default=None, help="inverse-dynamics model for action adherence (eval train-idm)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:1 ...")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key (YAML value)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="merge but do not build the HTML report")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate methods on a dataset's test clips (paired, resumable, shardable with accelerate launch)",
        description="Run every method of CONFIG on the same clips and seeds; results are appended per clip to "
        "OUT/shards/*.jsonl and a killed run resumes. Under `accelerate launch` each rank takes clips "
        "i = rank (mod world size); rank 0 merges and writes OUT/index.html.",
    )
    _common(p)
    p.set_defaults(func=cmd_evaluate)

    s = subparsers.add_parser(
        "sweep",
        help="run the ablations (cutoff, tau bounds, lambda, m(a), negative branch, ...) through evaluate",
        description="Expand CONFIG's `sweep:` axes into methods (see freeaction.eval.sweep) and evaluate them.",
    )
    _common(s)
    s.set_defaults(func=cmd_sweep)

    e = subparsers.add_parser("eval", help="evaluation tools (train-idm)")
    esub = e.add_subparsers(dest="eval_command", required=True, metavar="TOOL")
    t = esub.add_parser(
        "train-idm",
        help="train the inverse-dynamics model used for the action-adherence metric",
        description="Train a small CNN that predicts each action from two consecutive real frames of DATASET; "
        "its error on generated videos measures action adherence, its error on real test clips is the floor.",
    )
    t.add_argument("dataset", metavar="DATASET")
    t.add_argument("--out", required=True, help="output .safetensors file")
    t.add_argument("--split", default="train")
    t.add_argument("--test-split", default="test", help="split for the floor error (skipped if absent)")
    t.add_argument("--size", type=int, nargs=2, default=[64, 64], metavar=("H", "W"), help="input frame size")
    t.add_argument("--width", type=int, default=32, help="base channel count")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--max-episodes", type=int, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_train_idm)
