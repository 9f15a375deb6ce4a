"""The train / train-vae / encode subcommands: flags and config files reach the API, errors exit 2."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from train_helpers import latent_dataset

from freeaction import cli
from freeaction.commands import encode, train_vae
from freeaction.commands.train import add_parser, train_config_from_args
from freeaction.commands.train_vae import vae_config_from_args
from freeaction.errors import InputError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for register in (add_parser, train_vae.add_parser, encode.add_parser):
        register(sub)
    return parser.parse_args(argv)


@pytest.fixture
def with_commands(monkeypatch):
    if "freeaction.commands.train" not in cli.SUBCOMMANDS:
        monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, "freeaction.commands.train"])


def test_flags_override_config_file(tmp_path):
    (tmp_path / "c.yaml").write_text("dataset: d\nout: o\nlr: 1.0e-3\nnum_frames: 8\nmodel_options: {depth: 8}\n")
    args = parse(["train", "--config", str(tmp_path / "c.yaml"), "--lr", "2e-3", "--hidden-size", "128",
                  "--ema-warmup", "--set", "min_snr_gamma=5", "--set", "model_options.num_heads=4"])
    cfg = train_config_from_args(args)
    assert cfg.lr == 2e-3 and cfg.num_frames == 8 and cfg.ema_warmup and cfg.min_snr_gamma == 5
    assert cfg.model_options == {"depth": 8, "hidden_size": 128, "num_heads": 4}
    assert cfg.grad_clip == 0.1 and cfg.null_prob == 0.1 and cfg.ema_decay == 0.9999  # IRASim's defaults stay
    for sub in (["train-vae", "d", "--out", "o", "--size", "64x64"], ["encode", "d", "--vae", "v", "--splits", "val"]):
        assert callable(parse(sub).func)


def test_train_vae_flags_and_set_reach_the_config():
    cfg = vae_config_from_args(parse(["train-vae", "d", "--out", "o", "--size", "32x48", "--save-every", "50",
                                      "--set", "min_lr_ratio=0.05", "--set", "kl-weight=1e-5"]))
    assert cfg.size == (32, 48) and cfg.save_every == 50 and cfg.eval_every == 50  # evaluated at each checkpoint
    assert cfg.min_lr_ratio == 0.05 and cfg.kl_weight == 1e-5 and cfg.steps == 3000 and cfg.progress
    assert vae_config_from_args(parse(["train-vae", "d", "-o", "o", "--set", "eval_every=7"])).eval_every == 7
    with pytest.raises(InputError, match=r"unknown train-vae option\(s\) \['kl'\]; known: \["):
        vae_config_from_args(parse(["train-vae", "d", "-o", "o", "--set", "kl=1"]))


def test_train_command_end_to_end(tmp_path, with_commands, capsys):
    torch.set_num_threads(1)
    data = latent_dataset(tmp_path / "data", episodes=2)
    argv = ["train", str(data), "--out", str(tmp_path / "run"), "--model", "tiny", "--hidden-size", "32",
            "--depth", "2", "--num-heads", "2", "--num-frames", "4", "--batch-size", "2", "--max-steps", "2",
            "--save-every", "2", "--action-check-every", "2", "--action-check-clips", "2", "--device", "cpu",
            "--no-progress"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "trained to step 2" in out and "action use" in out and "mu_act" in out
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    exported = (tmp_path / "run" / "model" / "config.json").read_text()
    assert str(tmp_path) not in exported  # no machine paths in what the run hands on
    assert json.loads(exported)["training"]["dataset"] == "data"
    # a different learning rate on the same run folder: refused with a message, exit status 2
    assert cli.main([*argv, "--lr", "0.5"]) == 2
    assert "lr: 0.0001 -> 0.5" in capsys.readouterr().err


def test_errors_name_the_culprit(tmp_path, with_commands, capsys):
    assert cli.main(["train", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "missing: no such dataset" in capsys.readouterr().err
    assert cli.main(["encode", str(tmp_path), "--vae", str(tmp_path / "novae")]) == 2
    assert "not an IRASim-layout dataset" in capsys.readouterr().err


def test_portable_config_keeps_names_not_machine_paths():
    from freeaction.train.export import portable_config

    config = {"action_stats": {"dataset": "/home/me/runs/pusher", "mu_act": 1.5, "dims": None},
              "training": {"dataset": "C:\\runs\\arm", "stages": [{"note": "relative/path"}], "weights": "ema"}}
    assert portable_config(config) == {
        "action_stats": {"dataset": "pusher", "mu_act": 1.5, "dims": None},
        "training": {"dataset": "arm", "stages": [{"note": "relative/path"}], "weights": "ema"},
    }


def test_a_run_folder_inside_a_file_is_one_line(tmp_path, with_commands, capsys):
    data = latent_dataset(tmp_path / "data", episodes=2)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    argv = ["train", str(data), "--out", str(blocker / "run"), "--model", "tiny", "--hidden-size", "32", "--depth",
            "2", "--num-heads", "2", "--num-frames", "4", "--batch-size", "2", "--max-steps", "1", "--device", "cpu",
            "--no-progress"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"freeaction train: error: {blocker}" in err
