"""freeaction train: exact resumption (also after kill -9), DDP equality, atomic checkpoints, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from train_helpers import latent_dataset, tiny_config

from freeaction.errors import CheckpointError, DataError, InputError
from freeaction.model import load_model
from freeaction.train import list_checkpoints, load_checkpoint, train
from freeaction.train.checkpoint import STATE_TENSORS
from freeaction.train.config import TrainConfig, load_config, parse_set
from ports import free_port
from reference import LT_EXAMPLE

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return latent_dataset(tmp_path_factory.mktemp("latents"))


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def final_state(run: Path) -> dict[str, torch.Tensor]:
    """Raw weights, EMA and optimizer state of the newest checkpoint (not the global RNG state,
    which the training draws do not use: the DataLoader advances it when it starts)."""
    state = load_file(str(list_checkpoints(run)[-1] / STATE_TENSORS))
    return {k: v for k, v in state.items() if not k.startswith("rng.")}


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"tensors differ: {differ[:5]}"


def test_run_writes_loadable_model_with_mu_act_log_and_plot(data, tmp_path):
    summary = train(tiny_config(data, tmp_path / "run"))
    run = tmp_path / "run"
    model = load_model(summary["model"])
    stats = model.checkpoint_info["action_stats"]
    assert stats["mu_act"] > 0 and stats["num_frames"] == 4
    assert model.config.num_frames == 4 and model.config.latent_size == (4, 4) and model.config.action_dim == 2
    # the exported model holds the EMA weights of the last checkpoint, not the raw ones
    state = final_state(run)
    assert torch.equal(model.state_dict()["blocks.0.attn.qkv.weight"], state["ema.blocks.0.attn.qkv.weight"])
    assert not torch.equal(state["ema.blocks.0.attn.qkv.weight"], state["model.blocks.0.attn.qkv.weight"])
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if "loss" in e] == [1, 2, 3, 4, 5, 6]
    ratios = [e for e in log if "action_ratio" in e]
    assert [e["step"] for e in ratios] == [3, 6]
    assert all(e["val_loss_shuffled"] / e["val_loss"] == pytest.approx(e["action_ratio"]) for e in ratios)
    assert (run / "loss.png").stat().st_size > 1000
    assert [p.name for p in list_checkpoints(run)] == ["step-00000003", "step-00000006"]
    # the sampler takes the trained model as it is
    from freeaction.diffusion.sampler import sample

    out = sample(model, torch.zeros(1, 4, 4, 4), torch.zeros(1, 3, 2), scheduler="ddim", num_steps=2)
    assert out.shape == (1, 4, 4, 4, 4) and torch.isfinite(out).all()


def test_the_log_names_the_hardware_of_every_start(data, tmp_path, monkeypatch):
    from freeaction.train.log import devices_used, hardware, read_log

    run = tmp_path / "run"
    train(tiny_config(data, run, max_steps=3))
    train(tiny_config(data, run, max_steps=6), resume=True)
    starts = [e for e in read_log(run) if e.get("event") == "start"]
    assert [(e["step"], e["device"], e["processes"]) for e in starts] == [(0, "cpu", 1), (3, "cpu", 1)]
    assert devices_used(run) == ["cpu x 1"] and devices_used(run, up_to_step=3) == ["cpu x 1"]
    assert devices_used(run, up_to_step=0) == []
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    assert hardware(torch.device("cuda", 0)) == "cuda (NVIDIA H100 80GB HBM3)"


def test_keep_every_keeps_the_learning_curves_checkpoints(data, tmp_path):
    train(tiny_config(data, tmp_path / "a", max_steps=8, save_every=2, keep_checkpoints=1, keep_every=4))
    assert [p.name for p in list_checkpoints(tmp_path / "a")] == ["step-00000004", "step-00000008"]
    train(tiny_config(data, tmp_path / "b", max_steps=8, save_every=2, keep_checkpoints=1))
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["step-00000008"]


def test_train_seconds_sums_the_logged_intervals(data, tmp_path):
    from freeaction.train.log import train_seconds

    run = tmp_path / "run"
    train(tiny_config(data, run, log_every=2))
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    timed = [e for e in log if "samples_per_s" in e]
    batch = tiny_config(data, run).batch_size
    want = sum(2 * batch / e["samples_per_s"] for e in timed)  # each entry covers 2 steps
    assert train_seconds(run) == pytest.approx(want)
    assert train_seconds(run, up_to_step=2) == pytest.approx(2 * batch / timed[0]["samples_per_s"])


def test_trajectory_condition_trains_and_exports(data, tmp_path):
    cfg = tiny_config(data, tmp_path / "run", max_steps=2, save_every=2, action_check_every=0)
    cfg.model_options = {**cfg.model_options, "condition": "trajectory"}
    model = load_model(train(cfg)["model"])
    assert model.config.condition == "trajectory"
    assert model.action_to_tokens.weight.abs().sum() > 0  # it learned away from its zero start


def test_bf16_autocast_run(data, tmp_path):
    summary = train(tiny_config(data, tmp_path / "run", bf16=True, max_steps=2, save_every=2, action_check_every=2))
    assert summary["loss"] > 0 and summary["action_ratio"] > 0
    assert load_checkpoint(list_checkpoints(tmp_path / "run")[-1]).model["pos_embed"].dtype == torch.float32


def test_resume_matches_uninterrupted_run_bit_exactly(data, tmp_path):
    train(tiny_config(data, tmp_path / "straight", max_steps=6))
    train(tiny_config(data, tmp_path / "split", max_steps=3))
    summary = train(tiny_config(data, tmp_path / "split", max_steps=6))
    assert summary["resumed_from"] == 3
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "split"))
    # the log after resumption is continuous, not duplicated
    log = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in log if "loss" in e]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_resume_after_sigkill_matches_uninterrupted_run(data, tmp_path):
    """A training process killed with SIGKILL resumes from its last checkpoint to the same weights."""
    run = tmp_path / "killed"
    cfg = tiny_config(data, run, max_steps=100_000, save_every=2, action_check_every=0)
    script = (
        "import sys, torch; sys.path.insert(0, sys.argv[1]); torch.set_num_threads(1)\n"
        "from train_helpers import tiny_config\nfrom freeaction.train import train\n"
        "train(tiny_config(sys.argv[2], sys.argv[3], max_steps=100_000, save_every=2, action_check_every=0))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(HERE), str(data), str(run)])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(list_checkpoints(run)) < 2:
            time.sleep(0.02)
        assert proc.poll() is None, "the training process ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    last = load_checkpoint(list_checkpoints(run)[-1]).step
    target = last + 2
    train(cfg.__class__(**{**cfg.__dict__, "max_steps": target}))
    train(tiny_config(data, tmp_path / "straight", max_steps=target, save_every=2, action_check_every=0))
    assert_same_state(final_state(run), final_state(tmp_path / "straight"))


DDP_SCRIPT = """
import sys, torch
sys.path.insert(0, sys.argv[1])
from accelerate import PartialState, debug_launcher
from train_helpers import tiny_config
from freeaction.train import loop

data, out = sys.argv[2], sys.argv[3]
live = []
original_update = loop.EMA.update


def update(self, model):  # runs in each rank after every optimizer step: keep its weights
    original_update(self, model)
    live[:] = [{k: v.detach().clone() for k, v in model.state_dict().items()}]


def worker():
    torch.set_num_threads(1)
    loop.train(tiny_config(data, out, max_steps=3, save_every=3, action_check_every=0))
    torch.save(live[0], f"{out}/rank{PartialState().process_index}.pt")


loop.EMA.update = update
debug_launcher(worker, num_processes=2)
"""


def test_two_cpu_processes_hold_identical_weights(data, tmp_path):
    """accelerate's debug launcher: 2 gloo CPU processes; DDP keeps their weights identical.

    Launched from a fresh interpreter: the launcher forks, and forking a process whose OpenMP
    thread pools already ran (every earlier test) can deadlock the children.
    """
    out = tmp_path / "ddp"
    subprocess.run([sys.executable, "-c", DDP_SCRIPT, str(HERE), str(data), str(out)], check=True, timeout=300)
    a, b = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    assert_same_state(a, b)
    assert load_checkpoint(list_checkpoints(out)[-1]).meta["world_size"] == 2


def test_torchrun_cpu_processes_form_one_run(data, tmp_path):
    """`torchrun --nproc_per_node 2 -m freeaction.cli train` on a CPU machine (device auto): one
    process group of 2, not two single-process runs racing into the same folder."""
    out = tmp_path / "tr"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
           "-m", "freeaction.cli", "train", str(data), "--out", str(out), "--model", "tiny", "--num-frames", "4",
           "--batch-size", "2", "--max-steps", "2", "--save-every", "2", "--action-check-every", "0",
           "--set", "model_options={hidden_size: 32, depth: 2, num_heads: 2}", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "2 process(es)" in proc.stdout
    state = json.loads((list_checkpoints(out)[-1] / "train_state.json").read_text())
    assert state["world_size"] == 2


def test_crash_while_saving_keeps_last_good_checkpoint(data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(tiny_config(data, run, max_steps=3, save_every=3))
    good = final_state(run)
    from freeaction.train import checkpoint as ck

    real = ck.save_file

    def explode(tensors, path, metadata=None):
        real(tensors, path, metadata=metadata)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ck, "save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        train(tiny_config(data, run, max_steps=6, save_every=3))
    monkeypatch.setattr(ck, "save_file", real)
    assert [p.name for p in list_checkpoints(run)] == ["step-00000003"]
    assert_same_state(final_state(run), good)
    assert not list((run / "checkpoints").glob(".*tmp*"))
    assert train(tiny_config(data, run, max_steps=6, save_every=3))["resumed_from"] == 3


def test_corrupt_checkpoint_gives_clear_error(data, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(data, run, max_steps=3, save_every=3))
    tensors = list_checkpoints(run)[-1] / STATE_TENSORS
    blob = tensors.read_bytes()
    tensors.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=r"step-00000003.*(corrupt|truncated)"):
        train(tiny_config(data, run, max_steps=6))
    (list_checkpoints(run)[-1] / "train_state.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="train_state.json: corrupt JSON"):
        train(tiny_config(data, run, max_steps=6))


def test_resume_with_other_options_is_refused(data, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(data, run, max_steps=3))
    with pytest.raises(InputError, match=r"lr: 0.001 -> 0.002"):
        train(tiny_config(data, run, max_steps=6, lr=2e-3))
    with pytest.raises(InputError, match="already holds checkpoints"):
        train(tiny_config(data, run, max_steps=6), resume=False)


def test_empty_or_mismatched_dataset_errors(data, tmp_path):
    with pytest.raises(DataError, match=r"no window of 40 frames .*longest has 9"):
        train(tiny_config(data, tmp_path / "a", num_frames=40))
    with pytest.raises(DataError, match=r"latents are 4x4x4 .* model takes 4x8x8"):
        train(tiny_config(data, tmp_path / "b", model_options={"hidden_size": 32, "depth": 2, "num_heads": 2,
                                                               "latent_size": [8, 8]}))
    # a model from another dataset (7-D actions) given as the starting point
    from freeaction.model import VideoDiT, preset, save_model

    other = VideoDiT(preset("tiny", action_dim=7, latent_size=(4, 4), num_frames=4))
    save_model(other, tmp_path / "seven")
    with pytest.raises(DataError, match="actions are 2-D but the model takes 7-D"):
        train(tiny_config(data, tmp_path / "c", init_from=str(tmp_path / "seven"), model_options={}))
    (tmp_path / "empty" / "annotation" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match="has no episodes"):
        train(tiny_config(tmp_path / "empty", tmp_path / "d"))
    no_latents = tmp_path / "nolat"
    latent_dataset(no_latents, episodes=1)
    for p in (no_latents / "latent_videos").rglob("*.pt"):
        p.unlink()
    with pytest.raises(DataError, match="freeaction encode"):
        train(tiny_config(no_latents, tmp_path / "e"))


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("dataset: d\nout: o\nlr: 1e-3\nmodel_options: {depth: 8}\nema_warmup: true\n")
    cfg = load_config(tmp_path / "c.yaml", batch_size=4, **parse_set(["model_options.hidden_size=128"]))
    assert cfg.lr == 1e-3 and cfg.ema_warmup and cfg.batch_size == 4
    assert cfg.model_options == {"depth": 8, "hidden_size": 128}
    (tmp_path / "c.toml").write_text('dataset = "d"\nout = "o"\nnum_frames = 8\nmin_snr_gamma = 5.0\n')
    cfg = load_config(tmp_path / "c.toml")
    assert cfg.num_frames == 8 and cfg.min_snr_gamma == 5.0 and cfg.grad_clip == 0.1 and cfg.ema_decay == 0.9999
    (tmp_path / "bad.yaml").write_text("dataset: d\nlearning_rate: 1\n")
    with pytest.raises(InputError, match=r"unknown training option\(s\) \['learning_rate'\]"):
        load_config(tmp_path / "bad.yaml")


def test_trains_on_irasims_own_latents(tmp_path):
    """IRASim's pre-encoded Language-Table latents ({'obs': (T, 4, 36, 64)}) are read as they are."""
    summary = train(tiny_config(LT_EXAMPLE, tmp_path / "run", split="test", val_split=None, max_steps=1,
                                save_every=1, action_check_every=1))
    model = load_model(summary["model"])
    assert model.config.latent_size == (36, 64) and model.config.action_embedder == "linear"
    assert summary["mu_act"] > 0 and summary["action_ratio"] > 0


@torch.no_grad()
def test_action_check_ratio_is_one_for_a_model_that_ignores_actions(data):
    from freeaction.data.irasim import IRASimDataset
    from freeaction.model import VideoDiT, preset
    from freeaction.train import ActionCheck

    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, action_embedder="linear", latent_size=(4, 4), num_frames=4,
                            hidden_size=32, num_heads=2, depth=2))
    for p in model.parameters():
        p.normal_(0, 0.1)
    check = ActionCheck(IRASimDataset(data, "val", num_frames=4, latents=True, frames=False), 4, 0, torch.device("cpu"))
    uses = check(model)
    assert uses["action_ratio"] != pytest.approx(1.0, abs=1e-4)
    assert uses["val_loss_shuffled"] == pytest.approx(uses["action_ratio"] * uses["val_loss"])
    model.embed_state.weight.zero_()  # the action embedding no longer depends on the actions
    model.embed_state.bias.zero_()
    ignores = check(model)
    assert ignores["action_ratio"] == 1.0 and ignores["val_loss"] == ignores["val_loss_shuffled"]
    # the moving-cells ratio: restricted to cells that change between frames, same verdicts
    assert bool(check.moving.any()) and not bool(check.moving.all())
    assert uses["action_ratio_moving"] != pytest.approx(1.0, abs=1e-4)
    assert ignores["action_ratio_moving"] == 1.0


@pytest.mark.parametrize(("option", "branch"), [("shifted_positions", "shifted_pos_to_tokens.weight"),
                                                ("context_attention", "context_attn.0.proj.weight")])
def test_init_from_grows_a_zero_initialised_branch(data, tmp_path, option, branch):
    """A trained trajectory model continues with a growable option added: it starts computing the
    same function, then trains the new branch (its zero-initialised weights leave zero)."""
    from freeaction.model import VideoDiT, preset, save_model
    from freeaction.train.model import build_model

    torch.manual_seed(0)
    base = VideoDiT(preset("tiny", action_dim=2, latent_size=(4, 4), num_frames=4, condition="trajectory",
                           hidden_size=32, depth=2, num_heads=2))
    save_model(base, tmp_path / "base")
    cfg = tiny_config(data, tmp_path / "run", init_from=str(tmp_path / "base"), model_options={option: True})
    grown = build_model(cfg, torch.zeros(1, 4, 4, 4), 2).eval()
    x, t, a = torch.randn(2, 4, 4, 4, 4), torch.tensor([5, 700]), torch.randn(2, 3, 2)
    with torch.no_grad():
        torch.testing.assert_close(grown(x, t, a), base.eval()(x, t, a))
    final = load_model(train(cfg)["model"])
    assert getattr(final.config, option)
    assert final.state_dict()[branch].abs().sum() > 0


def test_shifted_positions_cannot_grow_on_a_frame_condition_model(data, tmp_path):
    from freeaction.model import VideoDiT, preset, save_model

    frame = VideoDiT(preset("tiny", action_dim=2, latent_size=(4, 4), num_frames=4, hidden_size=32, depth=2,
                            num_heads=2))
    save_model(frame, tmp_path / "frame")
    with pytest.raises(InputError, match="shifted_positions needs condition 'trajectory'"):
        train(tiny_config(data, tmp_path / "run2", init_from=str(tmp_path / "frame"),
                          model_options={"shifted_positions": True}))


def test_resume_does_not_need_init_from_any_more(data, tmp_path):
    """A run started from other weights resumes from its own checkpoint even after those weights
    are gone (moved, or rotated away by the run that made them)."""
    import shutil

    from freeaction.model import VideoDiT, preset, save_model

    torch.manual_seed(0)
    save_model(VideoDiT(preset("tiny", action_dim=2, latent_size=(4, 4), num_frames=4, hidden_size=32, depth=2,
                               num_heads=2)), tmp_path / "start")
    cfg = tiny_config(data, tmp_path / "run", init_from=str(tmp_path / "start"), model_options={}, max_steps=3)
    train(cfg)
    shutil.rmtree(tmp_path / "start")
    summary = train(tiny_config(data, tmp_path / "run", init_from=str(tmp_path / "start"), model_options={},
                                max_steps=6))
    assert summary["resumed_from"] == 3 and summary["step"] == 6


def test_a_second_run_on_the_same_folder_is_refused(data, tmp_path):
    from freeaction.train.loop import TRAIN_LOCK

    run = tmp_path / "busy"
    run.mkdir()
    code = ("import time; from freeaction.files import FolderLock; "
            f"held = FolderLock({str(run)!r}, {TRAIN_LOCK!r}, 'train').__enter__(); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=rf"another train run \(process {holder.pid} .* is writing into .*busy"):
            train(tiny_config(data, run, max_steps=1))
        assert not list(run.glob("checkpoints*"))
    finally:
        holder.kill()  # SIGKILL: its OS lock ends with it, its lock file stays
        holder.wait()
    train(tiny_config(data, run, max_steps=1, save_every=1, action_check_every=0))  # its holder is gone
    assert not (run / TRAIN_LOCK).exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": float("nan")}, "lr must be finite, got nan"),
        ({"lr": -1e-4}, "lr must be > 0"),
        ({"adam_betas": [0.9, 0.99, 0.999]}, r"adam_betas must be two numbers \[beta1, beta2\]"),
        ({"adam_betas": [0.9, 1.0]}, "adam_betas must each be below 1"),
        ({"max_steps": "abc"}, "max_steps must be a whole number, got 'abc'"),
        ({"batch_size": 2.5}, "batch_size must be a whole number"),
        ({"ema_decay": float("inf")}, "ema_decay must be finite"),
        ({"grad_clip": float("nan")}, "grad_clip must be finite"),
        ({"bf16": "false"}, "bf16 must be true or false, got 'false'"),
        ({"min_snr_gamma": 0}, "min_snr_gamma must be > 0"),
    ],
)
def test_every_option_is_checked_when_the_config_is_made(tmp_path, options, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(dataset="d", out="o", **options)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"dataset": "d", "out": "o", **options}))
    with pytest.raises(InputError, match=rf"c.yaml: invalid training config: {message}"):
        load_config(tmp_path / "c.yaml")


def test_options_are_stored_converted(tmp_path):
    (tmp_path / "c.yaml").write_text('dataset: d\nout: o\nbatch_size: "8"\nmax_steps: 1e3\nlr: 1e-4\n')
    cfg = load_config(tmp_path / "c.yaml")
    assert (cfg.batch_size, cfg.max_steps, cfg.lr) == (8, 1000, 1e-4)
    assert type(cfg.batch_size) is int and type(cfg.max_steps) is int and type(cfg.lr) is float


class RecordingCompile:
    """Stands in for ``torch.compile``: returns a module that calls the model and counts the calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, model):
        outer = self

        class Compiled(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = model

            def forward(self, *args, **kwargs):
                outer.calls += 1
                return self.inner(*args, **kwargs)

        return Compiled()


def test_compile_trains_through_the_compiled_forward_and_saves_the_models_weights(data, tmp_path, monkeypatch):
    fake = RecordingCompile()
    monkeypatch.setattr("freeaction.train.loop.torch.compile", fake)
    train(tiny_config(data, tmp_path / "eager", max_steps=4, save_every=2))
    train(tiny_config(data, tmp_path / "compiled", max_steps=2, save_every=2, compile=True))
    assert fake.calls == 2  # one forward per training step; the action check uses the plain model
    # switching compile on a resumption is allowed (it changes the arithmetic's last bits, not the run)
    summary = train(tiny_config(data, tmp_path / "compiled", max_steps=4, save_every=2))
    assert summary["resumed_from"] == 2 and fake.calls == 2
    assert_same_state(final_state(tmp_path / "eager"), final_state(tmp_path / "compiled"))


@pytest.mark.slow
def test_real_compile_matches_the_eager_run(data, tmp_path):
    """torch.compile's kernels (C++ built on the fly, ~30-60 s for this model) train the same weights."""
    train(tiny_config(data, tmp_path / "eager", max_steps=2, save_every=2, action_check_every=0))
    train(tiny_config(data, tmp_path / "compiled", max_steps=2, save_every=2, action_check_every=0, compile=True))
    a, b = final_state(tmp_path / "eager"), final_state(tmp_path / "compiled")
    assert a.keys() == b.keys()
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    assert worst < 1e-4, worst
