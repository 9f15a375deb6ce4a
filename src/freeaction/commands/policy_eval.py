"""``freeaction policy-eval CONFIG``: rank policies in a world model and in its simulator."""

from __future__ import annotations

import argparse

from freeaction.eval.policy_eval import PolicyEvalConfig, PolicyEvaluation
from freeaction.report.policy_eval import markdown_table, write_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policy-eval",
        help="run policies in the simulator and in a world model; compare their success rates",
        description="Plays every policy on the same seeded scenes in the simulator and in the world model "
        "under each inference method; writes per-episode rows (resumable), results.json, table.md, "
        "scatter.png and index.html. See freeaction.eval.policy_eval.PolicyEvalConfig for the config keys.",
    )
    p.add_argument("config", help="YAML/TOML policy-eval config")
    p.add_argument("--out", help="results folder (overrides the config's out)")
    p.add_argument("--episodes", type=int, help="episodes per policy (overrides the config)")
    p.add_argument("--threads", type=int, help="torch CPU threads for the run (overrides the config)")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the rows already written")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = PolicyEvalConfig.from_file(args.config)
    if args.out:
        cfg.out = args.out
    if args.episodes:
        cfg.episodes = args.episodes
    if args.threads is not None:
        cfg.threads = args.threads
    if not args.report_only:
        PolicyEvaluation(cfg, progress=not args.quiet).run()
    summary = write_report(cfg.out)
    print(markdown_table(summary))
    print(f"report: {cfg.out}/index.html")
    return 0
