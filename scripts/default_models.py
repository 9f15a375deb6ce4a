"""Reproduce a shipped default model, from simulator to model card, with one command.

    python scripts/default_models.py pusher-64             # data, VAE, latents, stats, training
    python scripts/default_models.py pusher-64 --ship      # + export into src/freeaction/assets/ with its card

Every stage is a ``freeaction`` command, printed before it runs, and every one resumes: run the
same command again after a crash or a session's end and it continues where it stopped (finished
stages are skipped, training continues from its last checkpoint). Each stage stops at the step
the shipped weights were exported from; ``--max-steps`` sets the last stage's end instead (to
train on, or to stop earlier). Work goes to
``--work`` (default ``runs/default-models/<name>``); nothing there is committed.

The same command trains on a GPU where there is one (the training's ``device: auto``), with the same
recipe; the CPU recipe is the reference for the compute hours, and the card's "trained on" column names
the hardware each stage's log recorded at every start and resumption.

``--curve``, run beside the training, measures its learning curve (``freeaction curve`` every 1,000
steps, on 32 test clips) into ``work/curve``; ``--ship`` puts its table and plot in the card.

Training runs in stages (``MODELS[name]["stages"]``), each from the EMA weights the one before
exported; ``--start-stage K --init-from DIR`` starts at stage K from weights made earlier (such
as the shipped model copied aside), with the VAE found in ``DIR/vae``. A recipe with a ``warm_start``
(``{"recipe": R, "stage": K, "step": N}``) starts its stage 1 from recipe R's stage-K EMA weights at
step N and trains on R's autoencoder's latents: R runs first, in its default work folder beside this
one (``--work``'s parent / R), up to that step, unless its checkpoint is there already.

``--ship`` exports the last training stage's newest checkpoint (EMA weights) with its VAE into
``src/freeaction/assets/<shipped name>/`` (a recipe's ``ship_as``, else its own name: ``pusher-64-w2``
ships as ``pusher-64``), measures the quality bar (:mod:`freeaction.eval.quality`) and the contact
bar (:mod:`freeaction.eval.contact_bar`) on the held-out test split, and writes ``MODEL_CARD.md``
(with a picture of what the model gets wrong, ``what_it_gets_wrong.png``) and ``shipped.json`` next
to the weights. ``--assets DIR`` writes the folder elsewhere (a dry run), ``--sampler``/``--steps``
measure with a cheaper sampler than the recipe's. Shipping over a model of another simulator world
(the world-2 recipes over the world-1 models, or back) is refused without ``--replace-world``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from freeaction.data.irasim_layout import ENCODE_MARKER, LATENT_DIR, latents_complete
from freeaction.files import FolderLock, write_dir_atomic, write_json_atomic, write_text_atomic

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "src" / "freeaction" / "assets"

VAE_FLAGS = ["--preset", "f4-small", "--steps", "2500", "--batch-size", "32", "--crop", "32", "--edge-weight", "2",
             "--max-frames", "12000", "--save-every", "250"]
# a second autoencoder phase on whole frames, from the first phase's weights (``--init-from``)
VAE_WHOLE_FRAMES = ["--steps", "2000", "--batch-size", "16", "--lr", "3e-4", "--warmup-steps", "50", "--edge-weight",
                    "2", "--max-frames", "12000", "--save-every", "250"]
# a third phase for the arm: whole frames with the gripper window weighted (``--focus-weight``; docs/evaluation.md
# §7: +3.4 points of decoded gripper frames read right in world 2)
VAE_GRIPPER_FOCUS = ["--steps", "1500", "--batch-size", "16", "--lr", "3e-4", "--warmup-steps", "50", "--edge-weight",
                     "2", "--focus-weight", "24", "--max-frames", "12000", "--save-every", "250"]
COMMON_TRAIN = {
    "model": "small",
    "model_options": {"hidden_size": 128, "depth": 8, "num_heads": 4, "condition": "trajectory",
                      "final_frame_ada": True},
    "num_frames": 8,
    "batch_size": 16,
    "lr": 1.0e-3,
    "warmup_steps": 500,
    "ema_decay": 0.999,
    "ema_warmup": True,
    "min_snr_gamma": 5,
    "moving_weight": 5,
    "bf16": True,
    "action_check_every": 250,
    "action_check_clips": 64,
    "save_every": 250,
    "keep_every": 1000,  # the points of the learning curve (`freeaction curve`) outlive the pruning
    "progress": False,
}
# The unguided sampler the card recommends and judges the bar with. DDPM's ancestral steps draw fresh noise at
# every step, which corrects errors that DDIM's deterministic steps carry along to the last frame.
SAMPLER_NOTE = (
    "DDPM 50 (ancestral), 2.5x DDIM 20's model calls. Measured on 64 test clips, seed 0, before the switch: "
    "`pusher-64` (stage 4, step 1,000) effector error at 1 + 7 3.98 px with DDIM 20, 3.03 px with DPM-Solver++ 20, "
    "1.99 px with DDPM 50 (Latent L2 0.112 -> 0.085), and 3.8 px with DDPM 50 at 1 + 15 (the stage-3 weights: 6.8 px "
    "with DDIM 20); `arm-64` (6,250 steps) "
    "Latent L2 at 1 + 15 0.0996 with DDIM 20, 0.0850 (seed 0) and 0.0883 (seed 1) with DDPM 50, against 0.0871 "
    "for \"nothing moves\". DDIM's samples lose the effector (it turns the colour of a block) and dissolve the arm."
)
COMMON = {"size": [64, 64], "sampler": "ddpm", "steps": 50, "sampler_note": SAMPLER_NOTE, "vae_phases": [VAE_FLAGS]}
# Samples/s of COMMON_TRAIN on this project's 2-core CPU with the machine to itself (median of the
# pusher-64 stage-1 log): compute time is reported as samples seen / this, whatever the
# runs' own speed was (stage runs may share the machine).
REFERENCE_SAMPLES_PER_S = 20.7
# what the pusher's world-2 recipes share: the simulator, its data and autoencoder
PUSHER_WORLD_2 = {
    **COMMON,
    "ship_as": "pusher-64",
    "simulator": "pusher",
    "simulator_options": {"world": 2},
    "episodes": 4000,
    "description": "the pusher simulator's world 2 (a disc pushes 3-4 large blocks of distinct colours and shapes "
    "on a table; 2-D actions = effector displacement)",
    "vae_phases": [VAE_FLAGS, VAE_WHOLE_FRAMES],
}
# The wider DiT (hidden 256 in 8 heads of 32, as the small one's 128 in 4; 10.1M parameters against 2.5M) with its
# rates halved (Adam's per-weight steps scale as 1/width); compile: 1.25x samples/s for this width on one core
# (bench_train.py --compile; the same first loss).
WIDE_TRAIN = {"model_options": {**COMMON_TRAIN["model_options"], "hidden_size": 256, "num_heads": 8}, "lr": 5.0e-4,
              "compile": True}
WIDE_REFERENCE_SAMPLES_PER_S = 9.3
"""0.45 x the small DiT's 20.7: the two widths timed in one run on one core (6.4 vs 14.3 samples/s)."""
WIDE_DIT = {"train": WIDE_TRAIN, "reference_samples_per_s": WIDE_REFERENCE_SAMPLES_PER_S}
"""What a recipe of the wide DiT sets: its training options and its speed for the compute hours."""
# What the arm's contact recipes share: they ship as ``arm-64``, replacing the world-1 model, from 1,200 episodes.
ARM_CONTACT = {**COMMON, "ship_as": "arm-64", "simulator": "arm", "episodes": 1200}
MODELS = {
    "pusher-64": {
        **COMMON,
        "simulator": "pusher",
        "episodes": 2000,
        "description": "the pusher simulator (a disc pushes blocks on a table; 2-D actions = effector displacement)",
        "vae_note": "The shipped autoencoder was trained before the 2,000-episode dataset existed, on its first 300 "
        "episodes (same generator and seed, so the same episodes); the command above trains it on the whole "
        "training split.",
        "vae_metrics": {"preset": "f4-small", "psnr": 38.8, "psnr_objects": 30.5, "scaling_factor": 0.5058310165664535},
        "stages": [
            # from scratch at lr 1e-3: learns the scene fast, then action use creeps up slowly
            {"max_steps": 7750,
             "record": {"steps": 7750, "batch_size": 16, "median_samples_per_s": 20.7, "logged_hours": 2.20}},
            # lower lr: the effector follows the actions (1 + 7 test actions: 11.6 px at the end of
            # stage 1, 6.3 px after 750 steps at 3e-4, 3.6 px after 2,000 more at 1e-4)
            {"lr": 3.0e-4, "warmup_steps": 100, "max_steps": 1000},
            {"lr": 1.0e-4, "warmup_steps": 50, "max_steps": 3750},  # shipped as an interim model at 3,750
            # the same rate, from stage 3's weights (its run folder did not outlive its machine); the effector
            # error at 1 + 15 (DDPM 50) went 3.8 px (step 1,000) -> 2.6 px (step 3,000); shipped 2026-11-30 at 3,000
            {"lr": 1.0e-4, "warmup_steps": 50, "max_steps": 3000},
        ],
    },
    # The contact world (issue: pushed blocks keep their shape and colour and land where the simulator puts
    # them): world 2 of the pusher, larger distinct blocks and more pushes. It ships as ``pusher-64`` (``ship_as``),
    # replacing the world-1 model; its shipped.json's ``simulator_options`` carry ``world: 2``.
    "pusher-64-w2": {
        **PUSHER_WORLD_2,
        "stages": [
            {"max_steps": 8000},
            {"lr": 3.0e-4, "warmup_steps": 100, "max_steps": 2000},
            {"lr": 1.0e-4, "warmup_steps": 50, "max_steps": 8000},
        ],
    },
    # The same world with a 4x wider DiT (hidden 256 in 8 heads of 32, as the small one's 128 in 4; 10.1M parameters
    # against 2.5M), for contact: pusher-64-w2's learning curve (docs/training.md) improved the effector steadily
    # but kept 66-70% of the blocks from step 8,000 on, smearing pushed blocks into blobs of colour. It costs twice
    # the time per step on this CPU (`benchmarks/bench_train.py --presets small --latents 16 --batch 16 --hidden
    # 128 256 --recipe`). The rates are halved with the width (Adam's per-weight steps scale as 1/width).
    "pusher-64-w2-m": {
        **PUSHER_WORLD_2,
        "description": PUSHER_WORLD_2["description"] + ", with a hidden-256 DiT",
        **WIDE_DIT,
        "stages": [
            {"max_steps": 10000},
            {"lr": 1.5e-4, "warmup_steps": 100, "max_steps": 3000},
            {"lr": 5.0e-5, "warmup_steps": 50, "max_steps": 6000},
        ],
    },
    # World 3: world 2 filmed at 20 frames/s (a frame halfway through every control step), so each frame moves half
    # as far. In a 1,250-step fine-tune A/B from pusher-64-w2-m's step-7,750 weights (docs/training.md, "A faster
    # camera") the effector error on 1 + 15 test actions fell to 4.4 px, median clip 2.1 px (world 2 at step 9,000:
    # 9.8 px) and Latent L2 to 0.59x "nothing moves" (0.83x); the moved blocks stayed 6 px off. So this recipe is
    # that fine-tune carried on: it starts from pusher-64-w2-m's step-7,750 EMA weights and trains on their coder's
    # latents (world 3's frames are world 2's, drawn by the same renderer, twice as often), then lowers the rate as
    # pusher-64-w2-m's schedule does. Compute: 7,750 + 11,000 steps of the wide DiT, 8.9 h at 9.3 samples/s.
    "pusher-64-w3": {
        **PUSHER_WORLD_2,
        "simulator_options": {"world": 3},
        "description": "the pusher simulator's world 3 (world 2 filmed at 20 frames/s: a disc pushes 3-4 large blocks "
        "of distinct colours and shapes on a table; 2-D actions = effector displacement per frame), with a hidden-256 "
        "DiT",
        "warm_start": {"recipe": "pusher-64-w2-m", "stage": 1, "step": 7750},
        **WIDE_DIT,
        "stages": [
            {"lr": 5.0e-4, "warmup_steps": 100, "max_steps": 4000},
            {"lr": 1.5e-4, "warmup_steps": 100, "max_steps": 3000},
            {"lr": 5.0e-5, "warmup_steps": 50, "max_steps": 4000},
        ],
    },
    # The contact world for the arm: world 2 (a closer camera, the Panda painted blue with an orange gripper, so
    # the arm fills more of the frame and stands out from the table). It ships as ``arm-64`` (``ship_as``),
    # replacing the world-1 model; its shipped.json's ``simulator_options`` carry ``world: 2``.
    "arm-64-w2": {
        **ARM_CONTACT,
        "simulator_options": {"world": 2},
        "description": "the arm simulator's world 2 (robosuite Panda, painted, seen from closer, with cubes; 7-D "
        "actions = end-effector deltas + gripper)",
        "vae_phases": [VAE_FLAGS, VAE_WHOLE_FRAMES],
        "stages": [
            {"max_steps": 6000},
            {"lr": 3.0e-4, "warmup_steps": 100, "max_steps": 2000},
            {"lr": 1.0e-4, "warmup_steps": 50, "max_steps": 4000},
        ],
    },
    # World 5: world 2 with the hand lit magenta while the gripper is closed, so the gripper's state survives the
    # autoencoder (world 2's 1-px finger gap does not: about 90% of decoded frames read right through every coder
    # and world tried, docs/evaluation.md §7). It ships as ``arm-64`` in place of arm-64-w2 once it meets the bar.
    "arm-64-w5": {
        **ARM_CONTACT,
        "simulator_options": {"world": 5},
        "description": "the arm simulator's world 5 (robosuite Panda, painted, seen from closer, its hand lit while "
        "the gripper is closed, with cubes; 7-D actions = end-effector deltas + gripper)",
        "vae_phases": [VAE_FLAGS, VAE_WHOLE_FRAMES, VAE_GRIPPER_FOCUS],
        # the wider DiT of pusher-64-w2-m: at 5,000 steps it led the small one on every figure (docs/training.md)
        **WIDE_DIT,
        "stages": [
            {"max_steps": 6000},
            {"lr": 1.5e-4, "warmup_steps": 100, "max_steps": 2000},
            {"lr": 5.0e-5, "warmup_steps": 50, "max_steps": 4000},
        ],
    },
    "arm-64": {
        **COMMON,
        "simulator": "arm",
        "episodes": 800,
        "description": "the arm simulator (robosuite Panda with cubes; 7-D actions = end-effector deltas + gripper)",
        # the crops often miss the small cubes, which come out grey-brown; whole frames bring the colours back
        "vae_phases": [VAE_FLAGS, VAE_WHOLE_FRAMES],
        "stages": [  # pusher-64's lesson: lr 1e-3 to learn the scene, then lower for the actions
            {"max_steps": 4000},
            {"lr": 3.0e-4, "warmup_steps": 100, "max_steps": 1000},
            # validation loss flat over steps 250..1,500 at 1e-4 (0.0158-0.0162); shipped 2026-11-30 at step 1,250
            {"lr": 1.0e-4, "warmup_steps": 50, "max_steps": 1500},
            # so lower the rate again, from stage 3's last weights: 0.0155; shipped 2026-11-30 at step 1,750
            {"lr": 3.0e-5, "warmup_steps": 50, "max_steps": 1750},
        ],
    },
}


def run(cmd: list[str], log: Path | None = None) -> None:
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    if log is None:
        subprocess.run(cmd, check=True)
        return
    with open(log, "a", encoding="utf-8") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)


def freeaction(*args: str) -> list[str]:
    return [sys.executable, "-m", "freeaction.cli", *args]


def dataset_complete(root: Path, episodes: int) -> bool:
    meta = root / "dataset.json"
    if not meta.is_file():
        return False
    info = json.loads(meta.read_text())
    return bool(info.get("complete")) and int(info.get("episodes", 0)) >= episodes


def make_data(name: str, work: Path) -> Path:
    """The recipe's simulator dataset, ``work/data``, made unless it is complete (same episodes, seed and splits
    every time, so its test split is the one the shipped figures were measured on)."""
    spec, data = MODELS[name], work / "data"
    if not dataset_complete(data, spec["episodes"]):
        options = [f"--option={k}={json.dumps(v)}" for k, v in spec.get("simulator_options", {}).items()]
        run(freeaction("data", "make", spec["simulator"], str(data), "--episodes", str(spec["episodes"]),
                       "--size", "x".join(map(str, spec["size"])), "--workers", "2", *options))
    return data


def vae_phase_dir(k: int) -> str:
    """Autoencoder phase k's run folder name (1-based): ``vae``, ``vae-2``, ..."""
    return "vae" if k == 1 else f"vae-{k}"


def vae_folder(name: str, work: Path) -> Path:
    """The run folder of a model's last autoencoder phase."""
    return work / vae_phase_dir(len(MODELS[name]["vae_phases"]))


def recipe_train(spec: dict) -> dict:
    """The training options every stage of a recipe starts from: ``COMMON_TRAIN`` with the recipe's ``train``."""
    return {**COMMON_TRAIN, **spec.get("train", {})}


def reference_speed(spec: dict) -> float:
    """The recipe's samples/s on the 2-core CPU with the machine to itself (for compute hours)."""
    return float(spec.get("reference_samples_per_s", REFERENCE_SAMPLES_PER_S))


def stage_run(work: Path, k: int) -> Path:
    """Stage k's training run folder (1-based): ``train``, ``train-2``, ..."""
    return work / ("train" if k == 1 else f"train-{k}")


def encode_latents(data: Path, vae: Path) -> None:
    """Encode ``data``'s latents with ``vae`` unless they are complete and were made by it. Latents
    of another autoencoder (the recipe's autoencoder phases changed) are deleted first, so that an
    interrupted re-encode resumes instead of mixing the two."""
    marker = data / ENCODE_MARKER
    if marker.is_file():
        made_by = json.loads(marker.read_text(encoding="utf-8")).get("vae")
        if made_by and Path(made_by).resolve() != vae.resolve():
            print(f"{data}: latents made by {made_by}, not {vae}; encoding again", flush=True)
            shutil.rmtree(data / LATENT_DIR)
    if not latents_complete(data):
        run(freeaction("encode", str(data), "--vae", str(vae), "--no-progress"))


def set_aside_runs_of_another_vae(work: Path, n_stages: int, vae: Path) -> None:
    """Rename the training stages' run folders that trained on another autoencoder's latents to
    ``<run>-old-vae[-N]`` (kept, not deleted), so training starts again instead of resuming them."""
    for k in range(1, n_stages + 1):
        folder = stage_run(work, k)
        config = folder / "train_config.yaml"
        if not config.is_file():
            continue
        used = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("vae")
        if used and Path(used).resolve() != vae.resolve():
            aside, n = folder.with_name(f"{folder.name}-old-vae"), 2
            while aside.exists():
                aside, n = folder.with_name(f"{folder.name}-old-vae-{n}"), n + 1
            folder.rename(aside)
            print(f"{folder} trained on the latents of {used}; moved to {aside}", flush=True)


def build(name: str, work: Path, max_steps: int | None, start_stage: int = 1, init_from: Path | None = None,
          stop_at: tuple[int, int] | None = None) -> Path:
    """Every stage up to training; returns the last stage's run folder.

    Training runs in stages (``spec["stages"]``): stage 1 from scratch (or from a ``warm_start``,
    :func:`warm_start`), each later one from the EMA weights its predecessor exported, with its own
    options (e.g. a grown module). With ``start_stage`` K > 1, stage K starts from ``init_from`` (the
    earlier stages' exported or shipped weights) instead of running stages 1..K-1 here. ``stop_at``
    (stage, step): train no further than that step of that stage."""
    spec = MODELS[name]
    stages = spec["stages"][: stop_at[0]] if stop_at is not None else spec["stages"]
    warm = warm_start(name, work) if "warm_start" in spec and start_stage == 1 else None
    if not 1 <= start_stage <= len(stages):
        raise SystemExit(f"--start-stage must be 1..{len(stages)} for {name}")
    earlier = None  # what made the weights this run starts from, for the model card
    if start_stage > 1:
        if init_from is None:
            raise SystemExit("--start-stage > 1 needs --init-from (the weights the earlier stages made)")
        if not (init_from / "config.json").is_file():
            raise SystemExit(f"--init-from {init_from}: no config.json; give a freeaction model folder")
        earlier = json.loads((init_from / "config.json").read_text()).get("training", {}).get("stages")
        if not earlier:
            earlier = [{"stage": k, **stages[k - 1].get("record", {})} for k in range(1, start_stage)]
    work.mkdir(parents=True, exist_ok=True)
    if earlier is not None:
        (work / "earlier_stages.json").write_text(json.dumps(earlier[: start_stage - 1], indent=1))
    data, vae_run = make_data(name, work), vae_folder(name, work)
    if not (vae_run / "metrics.json").is_file():
        source = None  # weights to start from, with the autoencoder whose latents they learned
        if warm is not None:
            source = warm, json.loads((warm / WARM_VAE_METRICS).read_text()), spec["warm_start"]["recipe"]
        elif init_from is not None and (init_from / "vae" / "config.json").is_file():
            source = init_from, spec.get("vae_metrics", {}), str(init_from)
        if source is not None:  # keep the latents they know
            folder, metrics, origin = source
            shutil.copytree(folder / "vae", vae_run / "vae", dirs_exist_ok=True)
            (vae_run / "metrics.json").write_text(json.dumps({**metrics, "copied_from": origin}))
        else:
            for k, flags in enumerate(spec["vae_phases"], start=1):
                if (work / vae_phase_dir(k) / "metrics.json").is_file():  # finished (a phase added later reuses it)
                    continue
                init = ["--init-from", str(work / vae_phase_dir(k - 1) / "vae")] if k > 1 else []
                run(freeaction("train-vae", str(data), "--out", str(work / vae_phase_dir(k)), *init, *flags,
                               "--no-progress"))
    encode_latents(data, vae_run / "vae")
    set_aside_runs_of_another_vae(work, len(stages), vae_run / "vae")
    if not (data / "freeaction_stats.json").is_file():
        run(freeaction("data", "stats", str(data)))
    for k in range(start_stage, len(stages) + 1):
        stage = stages[k - 1]
        train_run = stage_run(work, k)
        base = recipe_train(spec)
        cfg = {"dataset": str(data), "out": str(train_run), "vae": str(vae_run / "vae"), **base,
               **{key: v for key, v in stage.items() if key != "record"}}
        cfg["model_options"] = {**base["model_options"], **stage.get("model_options", {})}
        if k > 1:
            cfg["init_from"] = str(init_from if k == start_stage else stage_run(work, k - 1) / "model")
        elif warm is not None:
            cfg["init_from"] = str(warm)
        if max_steps is not None and k == len(stages):
            cfg["max_steps"] = int(max_steps)
        if stop_at is not None and k == stop_at[0]:
            cfg["max_steps"] = min(int(cfg["max_steps"]), int(stop_at[1]))
        config_file = work / f"train-stage{k}.yaml"
        config_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
        run(freeaction("train", "--config", str(config_file)), log=work / "train.log")
    return train_run


# -- shipping -------------------------------------------------------------------------------------
CURVE = "curve"  # the learning curve's folder in the work folder (`--curve`)
CURVE_PICTURE = "learning_curve.png"


def curve_command(name: str, work: Path) -> list[str]:
    """``freeaction curve`` over the recipe's stages, every 1,000 steps (the checkpoints ``keep_every``
    keeps), on 32 test clips with the recipe's sampler, following the training to its end."""
    spec = MODELS[name]
    runs = [str(stage_run(work, k)) for k in range(1, len(spec["stages"]) + 1)]
    return freeaction("curve", *runs, "--dataset", str(work / "data"), "--vae", str(vae_folder(name, work) / "vae"),
                      "--out", str(work / CURVE), "--every", "1000", "--clips", "32", "--sampler", spec["sampler"],
                      "--steps", str(spec["steps"]), "--follow", "--frames")


def curve_section(name: str, work: Path) -> str:
    """The card's "Learning curve": the rows ``--curve`` measured, if it ran."""
    from freeaction.eval.learning_curve import read_rows
    from freeaction.report.curve import format_curve

    rows = read_rows(work / CURVE)
    if not rows:
        return ""
    first = ("from the weights of its warm start (above), " if MODELS[name].get("warm_start") else "")
    return f"""
## Learning curve

The figures above at every 1,000th step of this recipe's training, {first}on 32 test clips of 1 + 15
actions, one seed, {MODELS[name]["sampler"]} {MODELS[name]["steps"]} (steps counted over its stages;
hours: the run's own wall time of training, on whatever else the machine was running). Measured as it
trained by `python scripts/default_models.py {name} --curve`; the plot is `{CURVE_PICTURE}`.

{format_curve(rows)}
"""


def run_record(k: int, run_dir: Path, step: int) -> dict:
    """Stage ``k`` as its run folder trained it up to ``step``: steps, batch, median speed, logged time,
    and the hardware (``devices``: what the log's start entries name; ``devices_from_step``: the first
    step they cover, > 0 when the run began before the log recorded its hardware)."""
    from freeaction.train.log import devices_used, read_log, train_seconds

    config = yaml.safe_load((run_dir / "train_config.yaml").read_text())
    log = read_log(run_dir)
    logged = [e["samples_per_s"] for e in log if "samples_per_s" in e and e["step"] <= step]
    starts = [e["step"] for e in log if e.get("event") == "start" and e["step"] < step]
    return {"stage": k, "steps": step, "batch_size": int(config["batch_size"]),
            "median_samples_per_s": float(np.median(logged)) if logged else None,
            "logged_hours": train_seconds(run_dir, step) / 3600,
            "devices": devices_used(run_dir, step), "devices_from_step": min(starts) if starts else None}


def with_recipe(name: str, records: list[dict]) -> list[dict]:
    """``records`` (stage k's at index k - 1) with recipe ``name``'s rate, options and compute hours."""
    stages, spec = MODELS[name]["stages"], MODELS[name]
    for k, r in enumerate(records, start=1):
        stage = stages[k - 1]
        r.update(stage=k, lr=stage.get("lr", recipe_train(spec)["lr"]), model_options=stage.get("model_options", {}),
                 compute_hours=r["steps"] * r["batch_size"] / reference_speed(spec) / 3600)
    return records


def stage_records(name: str, work: Path) -> list[dict]:
    """One record per training stage that made the weights: steps, samples, speed, time. A warm
    start's stages (another recipe's, ``work/warm_start.json``) come first, numbered on from them."""
    from freeaction.train.checkpoint import latest_checkpoint

    stages = MODELS[name]["stages"]
    earlier = work / "earlier_stages.json"
    records = json.loads(earlier.read_text()) if earlier.is_file() else []
    for k in range(len(records) + 1, len(stages) + 1):
        run_dir = stage_run(work, k)
        ckpt = latest_checkpoint(run_dir) if run_dir.is_dir() else None
        if ckpt is None:
            break
        records.append(run_record(k, run_dir, int(ckpt.name.split("-")[-1])))
    records = with_recipe(name, records)
    warm_file = work / WARM_RECORDS
    warm = json.loads(warm_file.read_text()) if "warm_start" in MODELS[name] and warm_file.is_file() else []
    for r in records:
        r["stage"] += len(warm)
    return warm + records


WARM_DIR = "warm-start"
WARM_RECORDS = "warm_start.json"
WARM_VAE_METRICS = "vae_metrics.json"


def warm_start(name: str, work: Path) -> Path:
    """The weights recipe ``name``'s stage 1 starts from (its ``warm_start``: recipe R's stage-K EMA
    weights at step N), with R's autoencoder in ``vae/``: ``work/warm-start``, made once. R is built
    in ``work.parent / R`` up to that step when its checkpoint is not there; R's training records up
    to the step go to ``work/warm_start.json`` for the card."""
    warm = MODELS[name]["warm_start"]
    parent, k, step = warm["recipe"], int(warm["stage"]), int(warm["step"])
    dest, parent_work = work / WARM_DIR, work.parent / parent
    work.mkdir(parents=True, exist_ok=True)
    if not (dest / "config.json").is_file():
        ckpt = stage_run(parent_work, k) / "checkpoints" / f"step-{step:08d}"
        if not (ckpt / "model" / "config.json").is_file():
            print(f"{name} starts from {parent}'s stage-{k} weights at step {step}: building {parent} in "
                  f"{parent_work} up to there", flush=True)
            build(parent, parent_work, None, stop_at=(k, step))
        if not (ckpt / "model" / "config.json").is_file():
            raise SystemExit(f"{ckpt}: no such checkpoint ({parent} trained past step {step} and kept only its last "
                             f"ones?); put that step's EMA weights (a model folder) with {parent}'s autoencoder in "
                             f"vae/ and its metrics.json as {WARM_VAE_METRICS} into {dest}")
        parent_vae = vae_folder(parent, parent_work)

        def write(tmp: Path) -> None:
            shutil.copytree(ckpt / "model", tmp, dirs_exist_ok=True)
            shutil.copytree(parent_vae / "vae", tmp / "vae")
            shutil.copy2(parent_vae / "metrics.json", tmp / WARM_VAE_METRICS)

        write_dir_atomic(dest, write)
    if not (work / WARM_RECORDS).is_file():
        ends = [stage["max_steps"] for stage in MODELS[parent]["stages"][: k - 1]] + [step]
        records = [run_record(j, stage_run(parent_work, j), end) for j, end in enumerate(ends, start=1)]
        records = [{**r, "recipe": parent} for r in with_recipe(parent, records)]
        write_json_atomic(work / WARM_RECORDS, records, indent=1)
    return dest


def shipped_name(name: str) -> str:
    """The name a recipe ships under (``ship_as``, else the recipe's own)."""
    return MODELS[name].get("ship_as", name)


def recipe_scene(name: str) -> tuple[str, int]:
    """The simulator and world recipe ``name`` makes its data in (world 1 when its options name none)."""
    spec = MODELS[name]
    return spec["simulator"], int(spec.get("simulator_options", {}).get("world", 1))


def check_same_world(name: str, target: Path, replace_world: bool) -> None:
    """Refuse (SystemExit) to ship recipe ``name`` over a shipped model of another simulator world
    unless ``replace_world``: the world-1 recipes must not silently replace the contact worlds' models."""
    shipped = target / "shipped.json"
    if replace_world or not shipped.is_file():
        return
    old = json.loads(shipped.read_text(encoding="utf-8")).get("simulator_options", {}).get("world", 1)
    new = recipe_scene(name)[1]
    if old != new:
        raise SystemExit(f"{target} holds a world-{old} model and recipe {name} makes a world-{new} one; pass "
                         "--replace-world to replace it")


def ship(name: str, work: Path, train_run: Path, dataset: Path, vae_run: Path, clips: int, seeds: int = 2,
         assets: Path = ASSETS, sampler: str | None = None, steps: int | None = None,
         replace_world: bool = False) -> Path:
    """Export recipe ``name``'s newest checkpoint into ``assets/<shipped name>/`` with its card, after
    measuring the quality bar and the contact bar (``sampler``/``steps``: override the recipe's, for a
    quick dry run; the card says what was used; ``replace_world``: see :func:`check_same_world`). The
    figures go to ``work/quality.json`` and the first/last frames of the paper-protocol run to
    ``work/quality_frames.npz``."""
    from freeaction import load_model
    from freeaction.eval.quality import format_quality, quality_check
    from freeaction.train.checkpoint import latest_checkpoint
    from freeaction.train.export import portable_config

    spec = MODELS[name]
    ckpt = latest_checkpoint(train_run)
    if ckpt is None:
        raise SystemExit(f"{train_run}: no checkpoint yet; train first")
    target = assets / shipped_name(name)
    check_same_world(name, target, replace_world)
    sampler, steps = sampler or spec["sampler"], steps or spec["steps"]

    def write(tmp: Path) -> None:  # the new folder, moved onto target when complete
        shutil.copytree(ckpt / "model", tmp, dirs_exist_ok=True)
        shutil.copytree(vae_run / "vae", tmp / "vae")
        records = stage_records(name, work)
        config = portable_config(json.loads((tmp / "config.json").read_text()))  # no machine paths
        config.setdefault("training", {})["stages"] = records
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        info = {"simulator": spec["simulator"], "size": spec["size"], "sampler": spec["sampler"],
                "steps": spec["steps"], "simulator_options": spec.get("simulator_options", {})}
        (tmp / "shipped.json").write_text(json.dumps(info, indent=1) + "\n")
        print(f"quality check of {ckpt} on {dataset} (test split) ...", flush=True)
        frames = work / "quality_frames.npz"
        q = quality_check(tmp, dataset, clips=clips, seeds=seeds, sampler=sampler, steps=steps, frames_out=frames)
        print(format_quality(q))
        model = load_model(tmp)
        window = model.config.num_frames
        qw = quality_check(tmp, dataset, clips=clips, seeds=seeds, clip_frames=window, sampler=sampler, steps=steps)
        print(format_quality(qw))
        stills = draw_what_it_gets_wrong(q, frames, tmp)
        write_json_atomic(work / "quality.json", {"paper_protocol": q, "model_window": qw,
                                                  "what_it_gets_wrong": stills}, indent=1)
        write_card(name, tmp, train_run, vae_run, q, qw, stills)
        if (train_run / "loss.png").is_file():
            shutil.copy2(train_run / "loss.png", tmp / "training_curves.png")
        if (work / CURVE / "curve.png").is_file():
            shutil.copy2(work / CURVE / "curve.png", tmp / CURVE_PICTURE)

    write_dir_atomic(target, write)
    print(f"shipped {target}")
    return target


WRONG_PICTURE = "what_it_gets_wrong.png"
STILL_FIGURES = ("block_error_px", "blocks_kept", "robot_iou", "robot_iou_moving", "gripper_agreement", "latent_l2")


def draw_what_it_gets_wrong(q: dict, frames_file: Path, folder: Path) -> list[dict]:
    """``folder/what_it_gets_wrong.png``: the worst clips of the quality run ``q`` by its object
    figure and a typical one (:mod:`freeaction.report.stills`), from the frames that run kept;
    returns one record per row drawn (label, clip, seed, its figures), top to bottom."""
    from freeaction.eval.first_last_frames import load_first_last_frames
    from freeaction.report.stills import first_last_grid, save_png, telling_clips

    frames = load_first_last_frames(frames_file)
    index = {(str(c), int(s)): i for i, (c, s) in enumerate(zip(frames["clip"], frames["seed"], strict=True))}
    picked = [(label, r) for label, r in telling_clips(q["clips"]) if (r["clip"], r["seed"]) in index]
    if not picked:
        return []
    grid = first_last_grid(frames, [index[(r["clip"], r["seed"])] for _, r in picked])
    save_png(grid, folder / WRONG_PICTURE, scale=2)
    return [{"label": label, "clip": r["clip"], "seed": r["seed"], **{k: r[k] for k in STILL_FIGURES if k in r}}
            for label, r in picked]


def write_card(name: str, folder: Path, train_run: Path, vae_run: Path, q: dict, qw: dict,
               stills: list[dict] | None = None) -> None:
    """``folder/MODEL_CARD.md`` from the quality figures and the training records in ``folder/config.json``."""
    from freeaction import load_model
    from freeaction.train.log import read_log

    model = load_model(folder)
    records = json.loads((folder / "config.json").read_text())["training"]["stages"]
    step = records[-1]["steps"]
    checks = [e for e in read_log(train_run) if "action_ratio" in e and e.get("step", 0) <= step]
    n_params = sum(p.numel() for p in model.parameters())
    sizes = {f.name: f.stat().st_size for f in folder.rglob("*") if f.is_file()}
    vae_metrics = json.loads((vae_run / "metrics.json").read_text())
    objects = contact_section(name, q) + wrong_section(q, stills or []) + curve_section(name, train_run.parent)
    card = model_card(name, MODELS[name], q, qw, records, checks, n_params, sizes, vae_metrics, model.config,
                      objects)
    (folder / "MODEL_CARD.md").write_text(card)


def rewrite_card(name: str, work: Path, train_run: Path, assets: Path = ASSETS) -> None:
    """The shipped model's card again, from the figures its ship stored in ``work/quality.json``."""
    stored = work / "quality.json"
    if not stored.is_file():
        raise SystemExit(f"{stored}: no stored quality figures; ship first")
    q = json.loads(stored.read_text())
    folder = assets / shipped_name(name)
    write_card(name, folder, train_run, vae_folder(name, work), q["paper_protocol"], q["model_window"],
               q.get("what_it_gets_wrong"))
    print(f"wrote {folder / 'MODEL_CARD.md'}")


def contact_card(name: str, work: Path, clips: int, seeds: int = 2, assets: Path = ASSETS,
                 sampler: str | None = None, steps: int | None = None, measure: bool = True) -> Path:
    """Measure the shipped model that recipe ``name`` made (as it ships, not retrained) on the recipe's test
    split, and put its contact figures and the picture of what it gets wrong into its card in place: for
    models shipped before the card had them. The recipe's data is made if missing; the figures go to
    ``work/contact.json``, the first and last frames to ``work/contact_frames.npz``; ``sampler``/``steps``
    default to the model's ``shipped.json``, as in ``freeaction quality``. Refused when the shipped model is
    of another simulator or world than the recipe makes (its test split would not be its own).
    ``measure=False`` writes the sections again from the figures ``work/contact.json`` stored. A second
    run on the same work folder is refused while one runs."""
    from freeaction.eval.quality import format_quality, quality_check
    from freeaction.shipped import scene_of

    folder = assets / shipped_name(name)
    card_file = folder / "MODEL_CARD.md"
    scene = scene_of(folder) if card_file.is_file() else None
    if scene is None:
        raise SystemExit(f"{folder}: no shipped model with a MODEL_CARD.md and shipped.json; ship it first")
    if scene != recipe_scene(name):
        raise SystemExit(f"{folder} holds a {scene[0]} world-{scene[1]} model, which recipe {name} "
                         "did not make; name the recipe of its world")
    work.mkdir(parents=True, exist_ok=True)
    stored = work / "contact.json"
    with FolderLock(work, ".contact-card.lock", f"default_models.py {name} --contact-card"):
        if measure:
            data, frames = make_data(name, work), work / "contact_frames.npz"
            print(f"contact figures of {folder} on {data} (test split) ...", flush=True)
            q = quality_check(folder, data, clips=clips, seeds=seeds, sampler=sampler, steps=steps, frames_out=frames)
            print(format_quality(q))
            stills = draw_what_it_gets_wrong(q, frames, folder)
            write_json_atomic(stored, {"paper_protocol": q, "what_it_gets_wrong": stills}, indent=1)
        elif not stored.is_file():
            raise SystemExit(f"{stored}: no stored contact figures; run --contact-card without --card-only first")
        else:
            try:
                figures = json.loads(stored.read_text(encoding="utf-8"))
                q, stills = figures["paper_protocol"], figures["what_it_gets_wrong"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(f"{stored}: unreadable stored contact figures ({exc!r}); run --contact-card "
                                 "without --card-only to measure them again") from exc
        objects = contact_section(name, q, after_shipping=True) + wrong_section(q, stills)
        write_text_atomic(card_file, with_objects(card_file.read_text(encoding="utf-8"), objects))
    print(f"wrote the contact figures into {card_file}")
    return card_file


def with_objects(card: str, objects: str) -> str:
    """``card`` with ``objects`` (the contact and what-it-gets-wrong sections) where :func:`model_card` puts
    them, just before "## Data", in place of any the card had."""
    end = card.find("\n## Data\n")
    if end < 0:
        raise SystemExit("the model card has no '## Data' section to put the contact figures before")
    start = card.find("\n## Contact (object-level")
    start = end if start < 0 or start > end else start
    return card[:start] + objects + card[end:]


def quality_rows(q: dict) -> list[str]:
    yes = {True: "yes", False: "**no**"}
    bar, n = q["bar"], q["clip_frames"] - 1
    rows = [
        f"| 1 + {n} | Latent L2, true actions | {q['latent_l2']:.4f} | | |",
        f"| 1 + {n} | Latent L2, \"nothing moves\" (every frame = the context frame) | {q['latent_l2_still']:.4f} | "
        f"true < this | {yes[bar['beats_nothing_moves']]} |",
        f"| 1 + {n} | Latent L2, actions shuffled across clips | {q['latent_l2_shuffled']:.4f} | "
        f"true <= 0.8 x this | {yes[bar['uses_actions']]} (ratio {q['true_over_shuffled']:.3f}) |",
    ]
    if q.get("ee_error") is not None:
        rows.append(f"| 1 + {n} | end effector error (px, found by colour; {q['ee_error_truth']:.2f} px on the real "
                    f"frames) | {q['ee_error']:.2f} | <= 3 | {yes[bar['effector_within_3px']]} |")
    return rows


def hardware_cell(record: dict) -> str:
    """A stage's "trained on": the devices its log names, and from which step when it began unlogged."""
    devices = record.get("devices") or []
    if not devices:
        return "not logged"
    first = record.get("devices_from_step") or 0
    return ", ".join(devices) + (f" (from step {first:,}; not logged before)" if first > 0 else "")


def stage_table(records: list[dict]) -> str:
    rows = ["| stage | starts from | lr | model options | steps | clips seen | compute (h) | logged wall time (h) "
            "| trained on |", "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        start = "scratch" if r["stage"] == 1 else f"stage {r['stage'] - 1}'s EMA weights"
        if r.get("recipe"):  # a warm start's stage: another recipe's, on its own data
            start += f" (recipe `{r['recipe']}`, on its data)"
        opts = ", ".join(f"{k}={v}" for k, v in r["model_options"].items()) or "-"
        rows.append(f"| {r['stage']} | {start} | {r['lr']:g} | {opts} | {r['steps']:,} | "
                    f"{r['steps'] * r['batch_size']:,} | {r['compute_hours']:.2f} | {r['logged_hours']:.2f} | "
                    f"{hardware_cell(r)} |")
    total = sum(r["compute_hours"] for r in records)
    rows.append(f"| all | | | | {sum(r['steps'] for r in records):,} | "
                f"{sum(r['steps'] * r['batch_size'] for r in records):,} | {total:.2f} | "
                f"{sum(r['logged_hours'] for r in records):.2f} | |")
    return "\n".join(rows)


def vae_commands(spec: dict) -> str:
    """The autoencoder's ``freeaction train-vae`` command(s), as Markdown."""
    if "warm_start" in spec:
        parent = spec["warm_start"]["recipe"]
        return (f"`{parent}`'s, whose latents the weights it starts from learned: " + vae_commands(MODELS[parent]) +
                f" (in `{parent}`'s work folder, on its data)")
    cmds = []
    for k, flags in enumerate(spec["vae_phases"], start=1):
        init = f" --init-from {vae_phase_dir(k - 1)}/vae" if k > 1 else ""
        cmds.append(f"`freeaction train-vae data --out {vae_phase_dir(k)}{init} {' '.join(flags)}`")
    return ", then on whole frames ".join(cmds)


def model_card(name, spec, q, qw, records, checks, n_params, sizes, vae, mc, objects="") -> str:  # noqa: ANN001
    """The card's Markdown; ``objects``: the sections that follow the quality bar (contact, what it gets wrong)."""
    from freeaction.eval.quality import by_seed, by_seed_text

    weights_mb = sizes.get("model.safetensors", 0) / 1e6
    vae_mb = sum(v for k, v in sizes.items() if k.endswith(".safetensors") and k != "model.safetensors") / 1e6
    last = checks[-1] if checks else {}
    nan = float("nan")
    train = {**recipe_train(spec), **{k: v for k, v in spec["stages"][-1].items() if k != "record"}}
    shifted = (" Tokens also carry the grid position they moved from (`shifted_positions`: the sin-cos position "
               "table shifted by a learned linear map of the cumulative displacement, added through a "
               "zero-initialised linear)." if mc.shifted_positions else "")
    status = "" if q["passes"] else (
        "\n**Status: interim.** This checkpoint does not meet the quality bar below yet; training\n"
        "continues and a later version replaces these weights (`python scripts/default_models.py " + name + "`\n"
        "resumes its run folder; without it, a new stage starts from these weights with `--start-stage K\n"
        "--init-from <a copy of this folder>`). FreeAction's guidance needs a model that uses its actions.\n"
    )
    rows = quality_rows(q) + quality_rows(qw)
    drift = ""
    if q.get("ee_error_by_frame"):
        drift = ("\nEffector error by generated frame (1 + 15, px; a frame without the effector counts as the "
                 "frame's diagonal):\n" + " ".join(f"{e:.1f}" for e in q["ee_error_by_frame"]) + "; frames without "
                 "it (%): " + " ".join(f"{100 * m:.0f}" for m in q["ee_missing_by_frame"]) + ".\n")
    seeds_line = ""
    if q["seeds"] > 1:  # the bar is judged on the mean over seeds; each seed alone, for its spread
        alone = by_seed_text(by_seed(q["clips"])).removeprefix("per seed: ")
        seeds_line = f"\n1 + {q['clip_frames'] - 1}, each seed alone: {alone}.\n"
    preset = vae.get("preset", "")
    if str(preset).startswith("from "):  # a later phase: name the first phase's preset
        flags = spec["vae_phases"][0]
        preset = f"{flags[flags.index('--preset') + 1]}, fine-tuned on whole frames"
    latents = f"{mc.in_channels}x{mc.latent_size[0]}x{mc.latent_size[1]}"
    vae_psnr = f"{vae.get('psnr', nan):.1f} dB over whole frames, {vae.get('psnr_objects', nan):.1f} dB"
    shipped = shipped_name(name)
    data_command = " ".join([f"freeaction data make {spec['simulator']} data --episodes {spec['episodes']} --size "
                             f"{spec['size'][0]}x{spec['size'][1]}",
                             *(f"--option {k}={json.dumps(v)}" for k, v in spec.get("simulator_options", {}).items())])
    return f"""# `{shipped}`

An action-conditioned video world model of {spec['description']}, {spec['size'][0]}x{spec['size'][1]}
frames, trained from scratch on CPU by freeaction. It is the model `freeaction demo` runs
(`--model {shipped}`), and `freeaction.load_model("{shipped}")` / `WorldModel.load("{shipped}")` load it.
{world_line(spec)}
{status}
## Quality bar (held-out test split)

{q['clips_evaluated']} test clips, spread evenly over the split, {q['sampler']} {q['steps']} steps, unguided,
{q['seeds']} seed(s) per clip from `{q['seed']}`, averaged. The bar is judged on the paper's protocol,
1 context frame + 15 actions, which this model (window {mc.num_frames} frames) generates autoregressively in
chunks of {mc.num_frames - 1}; the rows for 1 + {mc.num_frames - 1} actions (one chunk) show how much of the
error the rollout adds.

| clip | figure | value | bar | met |
|---|---|---|---|---|
{chr(10).join(rows)}
{drift}{seeds_line}
Sampler: {spec['sampler_note']}

Reproduce: `freeaction quality {shipped} --dataset <work>/data --clips {q['clips_evaluated']}
--sampler {q['sampler']} --steps {q['steps']} --seeds {q['seeds']}` (add
`--clip-frames {mc.num_frames}` for the one-chunk rows; `--out q.json` keeps per-clip rows).
{objects}
## Data

`{data_command}`
(seed 0; splits 80/10/10 by episode). Actions are scaled to model space (docs/method.md §1) before the model sees them;
`mu_act` (mean m(a) over the training windows of {mc.num_frames - 1} actions) is stored with the weights.

## Model

`VideoDiT`, {n_params / 1e6:.2f} M parameters: hidden {mc.hidden_size}, {mc.depth} blocks (alternating spatial /
temporal), {mc.num_heads} heads, patch {mc.patch_size}, latents {latents},
window {mc.num_frames} frames, condition `{mc.condition}` (freeaction's variant of IRASim's Frame-Ada: each
frame is also conditioned on the cumulative displacement from the context frame, in its tokens and in
the spatial, temporal and final adaLN; not an IRASim architecture).{shifted}
Weights: `model.safetensors` {weights_mb:.1f} MB (EMA); VAE (`vae/`, diffusers AutoencoderKL
`{preset}`) {vae_mb:.1f} MB.

Autoencoder: {vae_commands(spec)}; held-out reconstruction
PSNR {vae_psnr} inside the object masks; scaling factor {vae.get('scaling_factor', float('nan')):.4f}.
{spec.get('vae_note', '')}

## Training

`python scripts/default_models.py {name}` runs every step (data, VAE, latents, statistics, training) and
resumes after interruptions; `--ship` writes this folder. Recipe: epsilon MSE on frames 1..{mc.num_frames - 1}
with the clean context frame, uniform t over 1000 linear-beta steps, AdamW (linear warm-up), batch
{train['batch_size']}, grad clip 0.1, EMA {train['ema_decay']} with warm-up, null-condition dropout 0.1,
Min-SNR-{train['min_snr_gamma']} loss weights, {train['moving_weight']}x weight on latent cells that move,
bf16 autocast. Training ran in stages, each from the EMA weights the one before exported:

{stage_table(records)}

Compute is clips seen / {reference_speed(spec)} samples/s, this recipe's median throughput on the 2-core CPU
with the machine to itself, whatever hardware trained it (the CPU recipe is the reference; the same
command trains on a GPU where there is one, and "trained on" says which was used, from the training
log); the logged wall time is what the runs took on that hardware, sharing it with other jobs at times.
Action use on the fixed validation batch at the export: denoising loss with shuffled / true actions =
{last.get('action_ratio', nan):.3f} over all latent cells, {last.get('action_ratio_moving', nan):.3f} over the
cells that move (`training_curves.png` plots both with the loss, for the last stage).

## Limits

A small model of a simple simulated world: it has seen only its simulator's scenes, cameras and
action ranges. Long rollouts drift (each {mc.num_frames - 1}-action chunk starts from a generated frame).
"""


def world_line(spec: dict) -> str:
    """The card's sentence on the simulator world the model was trained on (and scenes are made in)."""
    options = spec.get("simulator_options", {})
    world = options.get("world", 1)
    return (f"World: the {spec['simulator']} simulator's world {world} (`shipped.json`'s `simulator_options`: "
            f"`{json.dumps(options)}`); `freeaction demo`, `freeaction play` and `freeaction policy-eval` "
            "(`world: auto`) make their scenes in this world.")


# How the card prints each contact figure.
CONTACT_FORMATS = {"moved-block final error (px)": ".2f", "effector error (px)": ".2f",
                   "blocks kept, last frame": ".1%", "moved blocks kept, last frame": ".1%",
                   "Latent L2": ".4f", "gripper agreement": ".1%"}


def contact_section(name: str, q: dict, after_shipping: bool = False) -> str:
    """The card's object-level figures, per seed, with both references, the contact bar and the command;
    ``after_shipping``: measured by :func:`contact_card` on a model shipped earlier, not in the quality bar's run."""
    from freeaction.eval.contact_bar import (
        BLOCKS_KEPT_BAR,
        EFFECTOR_BAR_PX,
        GRIPPER_BAR,
        MOVED_ERROR_BAR_PX,
        ROBOT_IOU_BAR,
        SHUFFLED_RATIO_BAR,
        STILL_RATIO_BAR,
        contact_met,
        contact_rows,
    )

    rows = contact_rows(q)
    if not rows:
        return ""

    def cell(v: float | None, figure: str) -> str:
        return "-" if v is None or v != v else format(v, CONTACT_FORMATS.get(figure, ".3f"))

    met = {True: "yes", False: "**no**", None: "(shown)"}
    table = ["| figure | seed | true actions | shuffled actions | nothing moves | bar | met | note |",
             "|---|---|---|---|---|---|---|---|"]
    table += [f"| {r.figure} | {r.seed} | {cell(r.true, r.figure)} | {cell(r.shuffled, r.figure)} | "
              f"{cell(r.still, r.figure)} | {r.bar} | {met[r.met]} | {r.note} |" for r in rows]
    verdict = "met for every seed" if contact_met(rows) else "**not met**: see the rows marked **no**"
    if q.get("arm"):
        bars = (f"Latent L2 <= {STILL_RATIO_BAR:g} x \"nothing moves\" and <= {SHUFFLED_RATIO_BAR:g} x shuffled "
                f"actions, robot-silhouette IoU (`robot_iou`, the painted robot) >= {ROBOT_IOU_BAR:g}, gripper "
                f"agreement >= {GRIPPER_BAR:.0%} (the gripper reader's own "
                "accuracy on true test frames in the note: the ceiling). The table also shows the moving-robot IoU "
                "(`robot_iou_moving`, only what of the robot changed since frame 0), without a bar, because "
                "\"nothing moves\" already scores about 0.66-0.75 plain IoU (the fixed mount and the still part "
                "of the arm count in both masks; docs/evaluation.md §7)")
    else:
        bars = (f"moved-block final position error <= {MOVED_ERROR_BAR_PX:g} px (over the moved blocks found in "
                "the last frame; the note gives found/moved), blocks kept in the last frame (colour and >= 50% of "
                f"the area near the true place) >= {BLOCKS_KEPT_BAR:.0%}, effector error <= {EFFECTOR_BAR_PX:g} px. "
                "The share of *moved* blocks kept is shown without a bar")
    sampler = f"{q['sampler']} {q['steps']}"
    run = f"the same {q['clips_evaluated']} test clips and samples as the quality bar above ({sampler})"
    if after_shipping:
        effector = f", effector error {q['ee_error']:.2f} px" if q.get("ee_error") is not None else ""
        run = (f"{q['clips_evaluated']} test clips ({sampler}), measured on these weights as shipped, "
               f"after the quality bar above, by `python scripts/default_models.py {name} --contact-card` "
               "(`freeaction quality`'s present per-clip seeding, so other samples than the quality bar's: in this "
               f"run Latent L2 {q['latent_l2']:.4f}, {q['true_over_still']:.3f}x \"nothing moves\" and "
               f"{q['true_over_shuffled']:.3f}x shuffled actions{effector})")
    return f"""
## Contact (object-level figures, per seed)

1 + {q['clip_frames'] - 1} actions, {run}, each seed alone; "nothing moves" (every frame = the context frame)
does not sample, so it is the same for every seed. Definitions: docs/evaluation.md §7. The contact bar, met when every
seed meets it ({verdict}): {bars}.

{chr(10).join(table)}

Reproduce: `freeaction quality {shipped_name(name)} --dataset <work>/data --clips {q['clips_evaluated']}
--sampler {q['sampler']} --steps {q['steps']} --seeds {q['seeds']} --seed {q['seed']} --out q.json
--frames frames.npz` (`q.json` holds these figures under `objects` / `arm`, each clip's under `clips`;
`frames.npz` the first and last frames drawn below).
"""


def wrong_section(q: dict, stills: list[dict]) -> str:
    """The card's "What it gets wrong": the contact bars not met, and the picture of the worst clips."""
    from freeaction.eval.contact_bar import contact_rows

    failed = sorted({f"{r.figure} (seed {r.seed})" for r in contact_rows(q) if r.met is False})
    summary = ("Contact bars not met: " + "; ".join(failed) + ".") if failed else "Every contact bar is met."
    if not stills:
        return f"\n## What it gets wrong\n\n{summary}\n"
    names = {"block_error_px": ("moved-block final error", ".2f", " px"),
             "blocks_kept": ("moved blocks kept", ".0%", ""),
             "robot_iou": ("robot IoU", ".3f", ""), "robot_iou_moving": ("moving-robot IoU", ".3f", ""),
             "gripper_agreement": ("gripper agreement", ".0%", ""), "latent_l2": ("Latent L2", ".4f", "")}
    lines = []
    for k, s in enumerate(stills, start=1):
        figures = ", ".join(f"{names[key][0]} {format(s[key], names[key][1])}{names[key][2]}"
                            for key in names if key in s)
        lost = "; a moved block is lost in the last frame" if "blocks_kept" in s and "block_error_px" not in s else ""
        lines.append(f"{k}. {s['label']}: clip `{s['clip']}`, seed {s['seed']}: {figures}{lost}")
    return f"""
## What it gets wrong

{summary}

![First and last frames, true and generated]({WRONG_PICTURE})

Rows, top to bottom (columns: first frame true | first frame generated | last frame true | last frame generated;
1 + {q['clip_frames'] - 1} true actions, from the run above; the generated first frame is the context
through the autoencoder):

{chr(10).join(lines)}
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=sorted(MODELS))
    p.add_argument("--work", type=Path, default=None, help="work folder (default runs/default-models/NAME)")
    p.add_argument("--max-steps", type=int, default=None, help="stop the last stage's training at this step")
    p.add_argument("--start-stage", type=int, default=1, help="begin training at this stage (needs --init-from)")
    p.add_argument("--init-from", type=Path, default=None,
                   help="weights that stand for the stages before --start-stage (e.g. the shipped model copied "
                   "aside), with their vae/")
    p.add_argument("--ship", action="store_true",
                   help="export into src/freeaction/assets/<its shipped name> with a model card")
    p.add_argument("--ship-only", action="store_true", help="only export (the run must exist)")
    p.add_argument("--replace-world", action="store_true",
                   help="allow shipping over a model of another simulator world (e.g. world 2 over world 1)")
    p.add_argument("--card-only", action="store_true",
                   help="rewrite the shipped model's card from the figures its ship stored (no new measurement)")
    p.add_argument("--contact-card", action="store_true",
                   help="measure the shipped model this recipe made (as shipped: no training) on the recipe's test "
                   "split and put its contact figures and what-it-gets-wrong picture into its card in place "
                   "(with --card-only: from the figures that measurement stored)")
    p.add_argument("--curve", action="store_true",
                   help="only measure the learning curve (`freeaction curve` every 1,000 steps into WORK/curve), "
                   "following the training to its end: run it beside the training; --ship puts it in the card")
    p.add_argument("--clips", type=int, default=64, help="test clips for the quality bar (default 64)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per test clip for the quality bar, averaged (default 2)")
    p.add_argument("--assets", type=Path, default=ASSETS,
                   help="where the shipped folder goes (default src/freeaction/assets; another folder for a dry run)")
    p.add_argument("--sampler", default=None, help="sample the quality bar with this (default: the recipe's)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the recipe's)")
    args = p.parse_args()
    work = args.work or REPO / "runs" / "default-models" / args.name
    start = time.time()
    if args.curve:
        run(curve_command(args.name, work))
        return 0
    if args.contact_card:
        contact_card(args.name, work, args.clips, args.seeds, args.assets, args.sampler, args.steps,
                     measure=not args.card_only)
        print(f"done in {(time.time() - start) / 60:.1f} min")
        return 0
    if args.ship_only or args.card_only:
        from freeaction.train.checkpoint import latest_checkpoint

        # the last stage that has a checkpoint (a stage just started may have none yet)
        runs = [stage_run(work, k) for k in range(1, len(MODELS[args.name]["stages"]) + 1)]
        train_run = next((d for d in reversed(runs) if d.is_dir() and latest_checkpoint(d) is not None), runs[0])
    else:
        train_run = build(args.name, work, args.max_steps, args.start_stage, args.init_from)
    if args.card_only:
        rewrite_card(args.name, work, train_run, args.assets)
    elif args.ship or args.ship_only:
        ship(args.name, work, train_run, work / "data", vae_folder(args.name, work), args.clips, args.seeds,
             assets=args.assets, sampler=args.sampler, steps=args.steps, replace_world=args.replace_world)
    print(f"done in {(time.time() - start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
