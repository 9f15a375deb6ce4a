"""`scripts/default_models.py --ship` end to end on a tiny model and dataset, into a temporary assets folder."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "eval"))
from eval_helpers import make_checkpoint, make_pusher  # noqa: E402

from freeaction.media import read_image  # noqa: E402


@pytest.fixture(scope="module")
def default_models():
    spec = importlib.util.spec_from_file_location("default_models", TESTS.parent / "scripts" / "default_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipes_of_the_contact_worlds_ship_under_the_models_names(default_models):
    assert default_models.shipped_name("pusher-64-w2") == "pusher-64"
    assert default_models.shipped_name("arm-64-w2") == "arm-64"
    assert default_models.shipped_name("pusher-64") == "pusher-64"
    for name in ("pusher-64-w2", "arm-64-w2"):
        assert default_models.MODELS[name]["simulator_options"]["world"] == 2


def test_ship_writes_the_card_with_contact_figures_per_seed_and_the_picture(default_models, tmp_path, monkeypatch):
    dm = default_models
    work = tmp_path / "work"
    ckpt = work / "train" / "checkpoints" / "step-00000004"
    make_checkpoint(ckpt / "model")
    (ckpt / "train_state.json").write_text("{}")
    train_run = work / "train"
    (train_run / "train_config.yaml").write_text("batch_size: 2\n")
    (train_run / "log.jsonl").write_text(json.dumps({"step": 2, "event": "start", "device": "cpu", "processes": 1})
                                         + "\n" + json.dumps({"step": 4, "loss": 0.1, "samples_per_s": 10.0}) + "\n"
                                         + json.dumps({"step": 4, "action_ratio": 1.1, "action_ratio_moving": 1.2})
                                         + "\n")
    vae_run = work / "vae"
    vae_run.mkdir()
    shutil.move(ckpt / "model" / "vae", vae_run / "vae")  # a training checkpoint has no vae/ of its own
    (vae_run / "metrics.json").write_text(json.dumps({"preset": "tiny", "psnr": 30.0, "psnr_objects": 25.0,
                                                      "scaling_factor": 1.0}))
    data = make_pusher(tmp_path / "data", episodes=8)
    recipe = {**dm.COMMON, "ship_as": "tiny", "simulator": "pusher", "simulator_options": {"world": 2},
              "sampler": "ddim", "steps": 2, "episodes": 8, "description": "a tiny test pusher",
              "stages": [{"max_steps": 4}]}
    monkeypatch.setitem(dm.MODELS, "tiny-w2", recipe)
    assets = tmp_path / "assets"
    # a learning curve measured beside the training (`--curve`)
    from freeaction.report.curve import plot_curve

    curve_rows = [{"step": 1000, "stage_step": 1000, "train_hours": 0.5, "true_over_still": 0.61,
                   "true_over_shuffled": 0.47, "ee_error": 3.7, "moved_error_final_px": 7.47, "moved_found_final": 11,
                   "moved_blocks": 17, "blocks_kept_final": 0.919}]
    (work / "curve").mkdir()
    (work / "curve" / "curve.jsonl").write_text(json.dumps(curve_rows[0]) + "\n")
    plot_curve(curve_rows, work / "curve" / "curve.png")

    folder = dm.ship("tiny-w2", work, train_run, data, vae_run, clips=3, seeds=2, assets=assets)

    assert folder == assets / "tiny" and not (assets / "tiny-w2").exists()
    assert json.loads((folder / "shipped.json").read_text())["simulator_options"] == {"world": 2}
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.startswith("# `tiny`") and "the pusher simulator's world 2" in card
    assert "python scripts/default_models.py tiny-w2" in card  # the recipe reproduces it
    assert "`freeaction data make pusher data --episodes " in card and " --option world=2`" in card  # its world
    contact = card[card.index("## Contact (object-level figures, per seed)"):card.index("## What it gets wrong")]
    assert card.index("## Quality bar") < card.index("## Contact") < card.index("## What it gets wrong") \
        < card.index("## Data")  # beside the quality bar's figures
    for seed in (0, 1):
        for figure in ("moved-block final error (px)", "blocks kept, last frame", "effector error (px)"):
            assert f"| {figure} | {seed} |" in contact
    assert "| true actions | shuffled actions | nothing moves | bar | met |" in contact
    assert "--frames frames.npz" in contact and "freeaction quality tiny " in contact
    stored = json.loads((work / "quality.json").read_text())
    stills = stored["what_it_gets_wrong"]
    assert 1 <= len(stills) <= 3 and stills[0]["label"] == "worst"
    assert "![First and last frames, true and generated](what_it_gets_wrong.png)" in card
    assert f"clip `{stills[0]['clip']}`, seed {stills[0]['seed']}" in card
    picture = read_image(folder / dm.WRONG_PICTURE)  # 32x32 frames, drawn at twice their size
    gap = 2
    assert picture.shape == (2 * (len(stills) * (32 + gap) - gap), 2 * (4 * (32 + gap) - gap), 3)
    assert (folder / dm.WRONG_PICTURE).stat().st_size < 100_000
    assert "| 4 | 8 | 0.00 | 0.00 | cpu x 1 (from step 2; not logged before) |" in card  # hardware, from the log
    assert "## Learning curve" in card and "| 1,000 | 0.50 | 0.610 | 0.470 | 3.70 | 7.47 (11/17) | 91.9% |" in card
    assert (folder / dm.CURVE_PICTURE).stat().st_size > 5000
    # the card again from the stored figures: the same text
    dm.rewrite_card("tiny-w2", work, train_run, assets)
    assert (folder / "MODEL_CARD.md").read_text() == card


def test_the_curve_command_follows_every_stage_of_the_recipe(default_models, tmp_path):
    cmd = default_models.curve_command("pusher-64-w3", tmp_path)
    i = cmd.index("curve")
    stages = len(default_models.MODELS["pusher-64-w3"]["stages"])
    assert cmd[i + 1:i + 1 + stages] == [str(default_models.stage_run(tmp_path, k)) for k in range(1, stages + 1)]
    assert cmd[cmd.index("--vae") + 1] == str(default_models.vae_folder("pusher-64-w3", tmp_path) / "vae")
    assert "--follow" in cmd and cmd[cmd.index("--every") + 1] == "1000"
    assert default_models.COMMON_TRAIN["keep_every"] == 1000  # the curve's checkpoints are kept


def test_arm_card_shows_the_moving_robot_iou_and_the_gripper_readers_accuracy(default_models):
    seed = {"seed": 0, "latent_l2": 0.05, "latent_l2_shuffled": 0.1, "latent_l2_still": 0.1,
            "true_over_shuffled": 0.5, "true_over_still": 0.5}
    arm = {"robot_iou": 0.82, "robot_iou_moving": 0.4, "gripper_agreement": 0.85}
    q = {"clip_frames": 16, "clips_evaluated": 64, "sampler": "ddpm", "steps": 50, "seeds": 1, "seed": 0,
         "by_seed": [seed], "gripper_reader": {"test_accuracy": 0.96},
         "arm": {"nothing_moves": {"robot_iou": 0.7, "robot_iou_moving": 0.0, "gripper_agreement": 0.5},
                 "by_seed": [{"seed": 0, "true_actions": arm, "shuffled_actions": {"robot_iou": 0.75}}]}}
    section = default_models.contact_section("arm-64-w2", q)
    assert "freeaction quality arm-64 " in section and "**not met**" in section
    assert "| robot-silhouette IoU | 0 | 0.820 | 0.750 | 0.700 | >= 0.8 | yes |" in section
    assert "| moving-robot IoU | 0 | 0.400 | - | 0.000 |  | (shown) |" in section
    assert "| gripper agreement | 0 | 85.0% | - | 50.0% | >= 90% | **no** | reader on true test frames: 0.960 |" \
        in section
    assert "0.66-0.75 plain IoU" in section
    wrong = default_models.wrong_section(q, [])
    assert "Contact bars not met: gripper agreement (seed 0)." in wrong


def test_shipping_over_a_model_of_another_world_needs_replace_world(default_models, tmp_path):
    target = tmp_path / "pusher-64"
    target.mkdir()
    (target / "shipped.json").write_text(json.dumps({"simulator_options": {"world": 2}}))
    with pytest.raises(SystemExit, match="world-2 model and recipe pusher-64 makes a world-1 one"):
        default_models.check_same_world("pusher-64", target, replace_world=False)
    default_models.check_same_world("pusher-64", target, replace_world=True)
    default_models.check_same_world("pusher-64-w2", target, replace_world=False)  # the same world
    (target / "shipped.json").write_text(json.dumps({"simulator": "pusher"}))  # world 1 by default
    with pytest.raises(SystemExit, match="--replace-world"):
        default_models.check_same_world("pusher-64-w2", target, replace_world=False)
    default_models.check_same_world("pusher-64-w2", tmp_path / "new", replace_world=False)  # nothing shipped yet


def test_a_new_autoencoder_phase_reencodes_the_latents_and_sets_old_runs_aside(default_models, tmp_path, monkeypatch):
    dm = default_models
    commands = []
    monkeypatch.setattr(dm, "run", lambda cmd, log=None: commands.append(cmd))
    monkeypatch.setattr(dm, "latents_complete", lambda data: (data / dm.LATENT_DIR / "done").is_file())
    data, old, new = tmp_path / "data", tmp_path / "vae-2" / "vae", tmp_path / "vae-3" / "vae"
    (data / dm.LATENT_DIR).mkdir(parents=True)
    (data / dm.LATENT_DIR / "done").write_text("")
    (data / dm.ENCODE_MARKER).write_text(json.dumps({"vae": str(old)}))

    dm.encode_latents(data, old)  # complete and made by this autoencoder: nothing to do
    assert commands == [] and (data / dm.LATENT_DIR / "done").is_file()
    dm.encode_latents(data, new)  # another autoencoder's latents go, then everything is encoded
    assert not (data / dm.LATENT_DIR).exists()
    assert len(commands) == 1
    assert commands[0][commands[0].index("encode"):] == ["encode", str(data), "--vae", str(new), "--no-progress"]

    work = tmp_path / "work"
    for k, vae in ((1, old), (2, new)):
        folder = dm.stage_run(work, k)
        folder.mkdir(parents=True)
        (folder / "train_config.yaml").write_text(f"vae: {vae}\n")
    dm.set_aside_runs_of_another_vae(work, 3, new)
    assert not (work / "train").exists() and (work / "train-old-vae" / "train_config.yaml").is_file()
    assert (work / "train-2" / "train_config.yaml").is_file()  # trained on this autoencoder: kept in place
    (work / "train").mkdir()
    (work / "train" / "train_config.yaml").write_text(f"vae: {old}\n")
    dm.set_aside_runs_of_another_vae(work, 3, new)
    assert (work / "train-old-vae-2").is_dir() and not (work / "train").exists()


def test_build_skips_finished_autoencoder_phases_and_runs_the_new_one(default_models, tmp_path, monkeypatch):
    dm = default_models
    commands = []
    monkeypatch.setattr(dm, "run", lambda cmd, log=None: commands.append(cmd))
    monkeypatch.setattr(dm, "dataset_complete", lambda root, episodes: True)
    monkeypatch.setattr(dm, "encode_latents", lambda data, vae: None)
    recipe = {**dm.COMMON, "simulator": "arm", "episodes": 4, "vae_phases": [["--steps", "1"], ["--focus-weight", "8"]],
              "stages": [{"max_steps": 1}]}
    monkeypatch.setitem(dm.MODELS, "tiny-arm", recipe)
    work = tmp_path / "work"
    (work / "vae").mkdir(parents=True)
    (work / "vae" / "metrics.json").write_text("{}")  # phase 1 finished earlier

    dm.build("tiny-arm", work, max_steps=None)

    vae_runs = [c[c.index("train-vae"):] for c in commands if "train-vae" in c]
    assert vae_runs == [["train-vae", str(work / "data"), "--out", str(work / "vae-2"), "--init-from",
                         str(work / "vae" / "vae"), "--focus-weight", "8", "--no-progress"]]
    config = yaml.safe_load((work / "train-stage1.yaml").read_text())
    assert config["vae"] == str(work / "vae-2" / "vae")  # the DiT trains on the last phase's latents


def test_a_warm_start_builds_its_parent_up_to_the_step_and_trains_on_its_coder(default_models, tmp_path, monkeypatch):
    """A recipe with a ``warm_start`` runs its parent (beside its work folder) only up to the step it
    starts from, copies those EMA weights with the parent's coder, trains stage 1 from them on that
    coder's latents, and its card's stage records begin with the parent's stages."""
    dm = default_models
    commands = []

    def fake_run(cmd, log=None):
        commands.append(cmd)
        if "--config" in cmd:  # a training stage: a checkpoint at its last step, and a log
            cfg = yaml.safe_load(Path(cmd[-1]).read_text())
            out = Path(cfg["out"])
            (out / "checkpoints" / f"step-{cfg['max_steps']:08d}" / "model").mkdir(parents=True, exist_ok=True)
            (out / "checkpoints" / f"step-{cfg['max_steps']:08d}" / "model" / "config.json").write_text("{}")
            (out / "checkpoints" / f"step-{cfg['max_steps']:08d}" / "train_state.json").write_text("{}")
            (out / "train_config.yaml").write_text(yaml.safe_dump(cfg))
            (out / "log.jsonl").write_text("".join(json.dumps({"step": s, "samples_per_s": 8.0}) + "\n"
                                                   for s in range(1, cfg["max_steps"] + 1)))
        elif "train-vae" in cmd:
            out = Path(cmd[cmd.index("--out") + 1])
            (out / "vae").mkdir(parents=True)
            (out / "vae" / "config.json").write_text('{"coder": "parent"}')
            (out / "metrics.json").write_text('{"psnr": 30.0}')

    monkeypatch.setattr(dm, "run", fake_run)
    monkeypatch.setattr(dm, "dataset_complete", lambda root, episodes: True)
    monkeypatch.setattr(dm, "encode_latents", lambda data, vae: None)
    parent = {**dm.COMMON, "simulator": "pusher", "episodes": 4, "vae_phases": [["--steps", "1"]],
              "stages": [{"max_steps": 10}, {"lr": 1e-4, "max_steps": 5}]}
    child = {**parent, "warm_start": {"recipe": "tiny-parent", "stage": 1, "step": 6},
             "stages": [{"lr": 2e-4, "max_steps": 3}]}
    monkeypatch.setitem(dm.MODELS, "tiny-parent", parent)
    monkeypatch.setitem(dm.MODELS, "tiny-child", child)
    work = tmp_path / "tiny-child"

    dm.build("tiny-child", work, max_steps=None)

    trained = [yaml.safe_load(Path(c[-1]).read_text()) for c in commands if "--config" in c]
    assert [(Path(t["out"]), t["max_steps"]) for t in trained] == [
        (tmp_path / "tiny-parent" / "train", 6),  # the parent's stage 1, stopped at the warm start's step
        (work / "train", 3)]  # its stage 2 is not run
    assert sum("train-vae" in c for c in commands) == 1  # the child trains no coder of its own
    assert trained[1]["init_from"] == str(work / "warm-start")
    assert json.loads((work / "warm-start" / "vae" / "config.json").read_text()) == {"coder": "parent"}
    assert trained[1]["vae"] == str(dm.vae_folder("tiny-child", work) / "vae")
    assert json.loads((dm.vae_folder("tiny-child", work) / "metrics.json").read_text())["copied_from"] == "tiny-parent"
    records = dm.stage_records("tiny-child", work)
    assert [(r["stage"], r["steps"], r["lr"], r.get("recipe")) for r in records] == [
        (1, 6, dm.COMMON_TRAIN["lr"], "tiny-parent"), (2, 3, 2e-4, None)]
    table = dm.stage_table(records)
    assert "| 1 | scratch (recipe `tiny-parent`, on its data) |" in table and "| 2 | stage 1's EMA weights |" in table
    assert "`tiny-parent`'s" in dm.vae_commands(child)

    commands.clear()
    dm.build("tiny-child", work, max_steps=None)  # everything is there: nothing of the parent runs again
    outs = [Path(yaml.safe_load(Path(c[-1]).read_text())["out"]) for c in commands if "--config" in c]
    assert outs == [work / "train"]


def test_contact_card_measures_the_shipped_model_and_puts_its_figures_into_its_card(default_models, tmp_path,
                                                                                    monkeypatch):
    dm = default_models
    assets, work = tmp_path / "assets", tmp_path / "work"
    folder = make_checkpoint(assets / "tiny")
    (folder / "shipped.json").write_text(json.dumps({"simulator": "pusher", "sampler": "ddim", "steps": 2,
                                                     "simulator_options": {}}))
    old_card = "# `tiny`\n\n## Quality bar (held-out test split)\n\nthe old figures\n\n## Data\n\nthe data\n"
    (folder / "MODEL_CARD.md").write_text(old_card)
    make_pusher(work / "data", episodes=8)
    recipe = {**dm.COMMON, "ship_as": "tiny", "simulator": "pusher", "sampler": "ddpm", "steps": 50,
              "episodes": 8, "description": "a tiny test pusher", "stages": [{"max_steps": 4}]}
    monkeypatch.setitem(dm.MODELS, "tiny", recipe)
    monkeypatch.setattr(dm, "run", lambda cmd: pytest.fail(f"the data was complete, yet it ran {cmd}"))

    dm.contact_card("tiny", work, clips=2, seeds=2, assets=assets)

    card = (folder / "MODEL_CARD.md").read_text()
    assert card.startswith("# `tiny`\n\n## Quality bar (held-out test split)\n\nthe old figures\n")  # kept
    assert card.endswith("\n## Data\n\nthe data\n")
    assert card.index("## Quality bar") < card.index("## Contact") < card.index("## What it gets wrong") \
        < card.index("## Data")
    assert "| blocks kept, last frame | 1 |" in card
    assert "--sampler ddim --steps 2 --seeds 2" in card  # the sampler the model ships with, not the recipe's
    stored = json.loads((work / "contact.json").read_text())
    assert stored["paper_protocol"]["seeds"] == 2 and (folder / dm.WRONG_PICTURE).is_file()
    # measured again: the sections are replaced, not repeated
    dm.contact_card("tiny", work, clips=2, seeds=1, assets=assets)
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.count("## Contact (object-level") == 1 and card.count("## What it gets wrong") == 1
    assert "| blocks kept, last frame | 1 |" not in card  # one seed now
    assert "measured on these weights as shipped, after the quality bar above, by `python scripts/default_models.py" \
        " tiny --contact-card`" in card.replace("\n", " ")
    # written again from the stored figures (--card-only): the same card, no sampling
    monkeypatch.setattr(dm, "make_data", lambda *a: pytest.fail("--card-only measured again"))
    (folder / "MODEL_CARD.md").write_text(old_card)
    dm.contact_card("tiny", work, clips=2, assets=assets, measure=False)
    assert (folder / "MODEL_CARD.md").read_text() == card
    # stored figures that are not what a measurement writes are refused, naming the file
    stored = (work / "contact.json").read_text()
    (work / "contact.json").write_text('{"paper_protocol": ')
    with pytest.raises(SystemExit, match="contact.json: unreadable stored contact figures"):
        dm.contact_card("tiny", work, clips=2, assets=assets, measure=False)
    (work / "contact.json").write_text(stored)
    # a second run on the same work folder is refused while one runs
    from freeaction.errors import InputError
    from freeaction.files import FolderLock

    with FolderLock(work, ".contact-card.lock", "test"), pytest.raises(InputError, match="is writing into"):
        dm.contact_card("tiny", work, clips=2, assets=assets, measure=False)
    # a shipped model of another world than the recipe's is refused
    (folder / "shipped.json").write_text(json.dumps({"simulator": "pusher", "simulator_options": {"world": 2}}))
    with pytest.raises(SystemExit, match="pusher world-2 model, which recipe tiny did not make"):
        dm.contact_card("tiny", work, clips=2, assets=assets)
    (folder / "MODEL_CARD.md").write_text("# `tiny`\n")
    with pytest.raises(SystemExit, match="no '## Data' section"):
        dm.with_objects("# `tiny`\n", "## Contact")
