"""Tiny pusher data, a tiny model + VAE, and a finished evaluation run, shared by the eval/report tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tiny_vae import make_vae  # noqa: F401 (re-exported for the eval tests)

SIZE = (32, 32)  # frames; latents 4x4 with the 8x VAE below


def make_checkpoint(folder: Path, action_dim: int = 2, latent: tuple[int, int] = (4, 4)) -> Path:
    from freeaction import VideoDiT, preset, save_model

    torch.manual_seed(0)
    cfg = preset("tiny", action_dim=action_dim, action_embedder="linear", latent_size=latent, depth=2,
                 hidden_size=32, num_heads=2)
    model = VideoDiT(cfg)
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.05)
    save_model(model, folder)
    make_vae(folder / "vae")
    return folder


def make_pusher(root: Path, episodes: int = 8) -> Path:
    from freeaction.sim import make_dataset

    make_dataset("pusher", root, episodes=episodes, workers=1, size=SIZE, frames=[33, 36], progress=False,
                 split_fractions=(0.5, 0.25, 0.25))
    return root


def write_config(path: Path, **kw) -> Path:
    base = dict(checkpoint="ckpt", dataset="data", split="test", out="out", clips="all", seeds=2, sampler="ddim",
                steps=2, protocols=["short"], methods=["unguided", "freeaction"], save_videos=2, device="cpu",
                batch_size=8)
    base.update(kw)
    path.write_text(yaml.safe_dump(base))
    return path


def run_cli(*args: str) -> int:
    """The CLI in this process (with the eval commands registered); returns the exit status."""
    from freeaction.eval.__main__ import main

    return main([str(a) for a in args])


def cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m freeaction.eval ARGS`` in a subprocess (the CLI with the eval commands registered)."""
    proc = subprocess.run([sys.executable, "-m", "freeaction.eval", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def eval_workspace(tmp_path_factory) -> Path:
    """A folder with ``data/`` (pusher, 32x32, no latents) and ``ckpt/`` (tiny model + ``vae/``)."""
    ws = tmp_path_factory.getbasetemp() / "evalws"  # a fixed path: tests/eval and tests/report share it
    if not (ws / ".ready").exists():
        ws.mkdir(exist_ok=True)
        make_pusher(ws / "data")
        make_checkpoint(ws / "ckpt")
        (ws / ".ready").write_text("ok")
    return ws


@pytest.fixture(scope="session")
def idm_file(eval_workspace) -> Path:
    from freeaction.eval.inverse_dynamics import train_idm

    path = eval_workspace / "idm.safetensors"
    if not path.exists():
        train_idm(eval_workspace / "data", path, size=SIZE, width=8, steps=40, batch_size=32, progress=False)
    return path


@pytest.fixture(scope="session")
def finished_run(eval_workspace, idm_file) -> Path:
    """A complete run: short + long protocols, 3 methods, 2 seeds, IDM adherence, videos for 2 clips."""
    from freeaction.eval import evaluate, load_eval_config

    cfg_path = write_config(
        eval_workspace / "main.yaml", out="main_out", protocols=["short", "long"], episodes=1, long_max_actions=18,
        idm=str(idm_file), methods=["unguided", "freeaction", {"name": "cfg_null", "guidance": {"type": "null"}}],
    )
    if not (eval_workspace / "main_out" / "index.html").exists():
        evaluate(load_eval_config(cfg_path), progress=False)
    return eval_workspace / "main_out"
