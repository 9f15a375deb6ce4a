"""Time to the quality bar: the quality check (freeaction.eval.quality) on a run's checkpoints.

    python benchmarks/time_to_bar.py runs/default-models/pusher-64/train \
        --dataset runs/default-models/pusher-64/data --vae runs/default-models/pusher-64/vae/vae --watch

Evaluates every checkpoint (a multiple of ``--every`` steps) not yet evaluated and appends one
line per checkpoint to ``RUN/quality_curve_<clip frames>.jsonl``: step, training wall time so
far, Latent L2 with true / shuffled actions / "nothing moves", effector error, and whether
the bar is met; on simulator data also the contact figures with true actions: the moved blocks'
final position error (px), how many of them are found at the last frame, and the share of all
blocks kept there (``objects`` in :func:`freeaction.eval.quality.quality_check`). ``--watch``
keeps waiting for new checkpoints (training keeps only the newest few, so watch while it trains).
The printed table is the benchmark figure; the first passing row is the time to the bar.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from freeaction.eval.quality import quality_check
from freeaction.train.log import train_seconds

CURVE = "quality_curve_{}.jsonl"  # per clip length


def evaluated(path: Path) -> set[int]:
    return {json.loads(x)["step"] for x in path.read_text().splitlines()} if path.is_file() else set()


HEADER = "   step train_h  true_L2  shuffled  still_L2  t/shuf  ee_px  block_px  found   kept  bar"


def row_text(r: dict) -> str:
    ee = f"{r['ee_error']:6.2f}" if r.get("ee_error") is not None else "     -"
    blocks = (r.get("objects") or {}).get("true_actions") or {}
    if blocks.get("moved_blocks"):
        error = blocks.get("moved_error_final_px")
        found = f"{blocks['moved_found_final']}/{blocks['moved_blocks']}"
        contact = f"{error:9.2f} {found:>6} {blocks['blocks_kept_final']:6.1%}" if error is not None else \
            f"{'-':>9} {found:>6} {blocks['blocks_kept_final']:6.1%}"
    else:
        contact = f"{'-':>9} {'-':>6} {'-':>6}"
    return (f"{r['step']:7d} {r['train_hours']:7.2f} {r['latent_l2']:8.4f} {r['latent_l2_shuffled']:9.4f} "
            f"{r['latent_l2_still']:8.4f} {r['true_over_shuffled']:6.3f} {ee} {contact}  "
            f"{'PASS' if r['passes'] else '-'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path)
    p.add_argument("--dataset", required=True)
    p.add_argument("--vae", default=None)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--clips", type=int, default=32)
    p.add_argument("--split", default="val", help="held-out split for tracking (the card uses test)")
    p.add_argument("--clip-frames", type=int, default=16, help="1 context frame + actions (default 16)")
    p.add_argument("--sampler", default="ddpm", help="unguided sampler (default ddpm, the shipped models' recipe)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seeds", type=int, default=1, help="seeds per clip, averaged (the ship uses 2)")
    p.add_argument("--watch", action="store_true")
    p.add_argument("--poll", type=float, default=60.0)
    args = p.parse_args()
    curve = args.run / CURVE.format(args.clip_frames)
    print(f"{args.sampler} {args.steps} steps, {args.seeds} seed(s) per clip, {args.clips} {args.split} clips; "
          "rows evaluated earlier keep their own sampler (see the .jsonl)")
    print(HEADER)
    for line in curve.read_text().splitlines() if curve.is_file() else []:
        print(row_text(json.loads(line)))
    while True:
        done = evaluated(curve)
        todo = sorted(
            (int(c.name.split("-")[-1]), c) for c in (args.run / "checkpoints").glob("step-*")
            if (c / "model" / "model.safetensors").is_file()
        )
        todo = [(s, c) for s, c in todo if s % args.every == 0 and s not in done]
        for step, ckpt in todo:
            try:
                q = quality_check(ckpt / "model", args.dataset, vae=args.vae, split=args.split, clips=args.clips,
                                  clip_frames=args.clip_frames, sampler=args.sampler, steps=args.steps,
                                  seeds=args.seeds, progress=False)
            except FileNotFoundError:  # the training deleted it meanwhile
                continue
            row = {k: v for k, v in q.items() if k not in ("clips", "bar")}
            row.update(step=step, train_hours=train_seconds(args.run, step) / 3600, passes=q["passes"])
            with open(curve, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(row_text(row), flush=True)
        if not args.watch:
            return
        time.sleep(args.poll)


if __name__ == "__main__":
    main()
