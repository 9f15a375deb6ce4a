"""Reproduce the built-in behaviour-cloned pusher policies (``bc-10``, ``bc-50``, ``bc-400``) with one command.

    python scripts/bc_policies.py                 # train the three into runs/bc-policies/<name>
    python scripts/bc_policies.py --ship          # + copy them into src/freeaction/assets/policies/<name>
    python scripts/bc_policies.py --measure       # + every built-in's simulator success (policy-eval, sim only)
    python scripts/bc_policies.py --world 3 --work runs/bc-policies-w3   # demonstrations in the pusher's world 3

Each policy is one ``freeaction train-policy`` command (printed before it runs): the scripted
``expert`` demonstrates 10, 50 or 400 episodes of the push task in ``--world`` (1, the built-ins'
world, unless told), and a small CNN is
fitted to its chunks (:mod:`freeaction.policies.bc_train`). A policy whose folder already holds
weights is not trained again (delete the folder to retrain). ``--measure`` runs
``configs/policy_eval/pusher-sim.yaml`` (30 scenes per policy, seeds 1000-1029, no world model) in
the same world (in another world than 1, on the BC policies trained in ``--work``).
Set ``OMP_NUM_THREADS=1`` on a shared machine; each policy takes a few minutes on one core.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from freeaction.policies.bc import BUILTIN_DIR, CONFIG_FILE, WEIGHTS_FILE
from freeaction.sim.pusher import WORLDS

REPO = Path(__file__).resolve().parents[1]
WORLD = 1  # the pusher world the shipped built-ins learned in
COMMON = ["--teacher", "expert", "--task", "push", "--batch-size", "32", "--lr", "3e-3", "--seed", "0"]
# demonstration episodes -> optimizer steps (fewer examples are fitted in fewer steps)
POLICIES = {"bc-10": (10, 600), "bc-50": (50, 1000), "bc-400": (400, 4000)}
SIM_CONFIG = REPO / "configs" / "policy_eval" / "pusher-sim.yaml"


def run(cmd: list[str]) -> None:
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)


def freeaction(*args: str) -> list[str]:
    return [sys.executable, "-m", "freeaction.cli", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(REPO / "runs" / "bc-policies"), help="where the policies are trained")
    parser.add_argument("--only", choices=sorted(POLICIES), action="append", help="train only this one (repeatable)")
    parser.add_argument("--ship", action="store_true", help="copy the trained policies into the package's assets")
    parser.add_argument("--measure", action="store_true", help="measure every built-in's simulator success")
    parser.add_argument("--world", type=int, choices=sorted(WORLDS), default=WORLD,
                        help=f"pusher world of the demonstrations and the measurement (default {WORLD})")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(args.work)
    for name in args.only or list(POLICIES):
        episodes, steps = POLICIES[name]
        out = work / name
        if not (out / WEIGHTS_FILE).is_file():
            run(freeaction("train-policy", "--out", str(out), "--episodes", str(episodes), "--steps", str(steps),
                           "--world", str(args.world), *COMMON,
                           "--no-progress"))
        if args.ship:
            target = BUILTIN_DIR / name
            target.mkdir(parents=True, exist_ok=True)
            for file in (CONFIG_FILE, WEIGHTS_FILE):
                shutil.copyfile(out / file, target / file)
            print(f"shipped {target} ({(target / WEIGHTS_FILE).stat().st_size / 1024:.0f} KiB of weights)")
    if args.measure:
        config = SIM_CONFIG
        if args.world != 1:  # the same scenes and policies in the other world, the BC ones as trained here
            import yaml

            options = yaml.safe_load(SIM_CONFIG.read_text(encoding="utf-8"))
            policies = [{"name": p, "factory": f"./{p}"} if p in POLICIES else p for p in options["policies"]]
            config = work / f"pusher-sim-world{args.world}.yaml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(yaml.safe_dump({**options, "world": args.world, "policies": policies}, sort_keys=False),
                              encoding="utf-8")
        run(freeaction("policy-eval", str(config), "--out", str(work / "sim-eval"), "--quiet"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
