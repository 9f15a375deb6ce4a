"""The real-data path: IRASim's Language-Table example episode, an IRASim-style .pt checkpoint, a local VAE.

The model is IRASim's golden fixture (tiny, random weights) rebuilt at the example's latent size
36x64 (pos_embed is a fixed sin-cos table, recomputed for the size); the VAE is a tiny random
diffusers AutoencoderKL, so the pixel metrics are meaningless but must run; Latent L2 uses the
example's real pre-encoded latents.
"""

from __future__ import annotations

import json

import pytest
import torch
from eval_helpers import make_vae, run_cli, write_config

from freeaction import ModelConfig, VideoDiT
from freeaction.eval.results_folder import read_rows
from reference import LT_EXAMPLE as EXAMPLE
from reference import golden_args, golden_state_dict, load_golden


@pytest.fixture
def irasim_checkpoint(tmp_path):
    tensors, meta = load_golden("languagetable_frame_ada")
    state = golden_state_dict(tensors)
    args = {**golden_args(meta), "video_size": [288, 512]}
    kw = json.loads(meta["constructor_kwargs"])  # IRASim's own constructor arguments of the fixture
    config = ModelConfig(action_dim=2, condition="frame", action_embedder="linear", latent_size=(36, 64),
                         patch_size=kw["patch_size"], hidden_size=kw["hidden_size"], depth=kw["depth"],
                         num_heads=kw["num_heads"], num_frames=kw["num_frames"])
    model = VideoDiT(config)
    state["pos_embed"] = model.state_dict()["pos_embed"]  # the fixed table at 36x64
    model.load_state_dict(state)
    path = tmp_path / "0100000.pt"
    torch.save({"model": state, "ema": state, "args": args}, path)  # IRASim's layout (args as a plain dict)
    make_vae(tmp_path / "vae")
    return path


def test_evaluate_runs_on_irasim_layout_with_an_irasim_checkpoint(irasim_checkpoint, tmp_path):
    cfg = write_config(tmp_path / "lt.yaml", checkpoint=str(irasim_checkpoint), vae=str(tmp_path / "vae"),
                       dataset=str(EXAMPLE), out=str(tmp_path / "out"), resize=[288, 512], seeds=1, mu_act=2.0,
                       protocols=["short"], save_videos=1)
    assert run_cli("evaluate", cfg, "--no-progress") == 0
    rows = read_rows(tmp_path / "out" / "results.jsonl")
    short = [r for r in rows if r["kind"] == "sample" and r["protocol"] == "short"]
    assert {r["method"] for r in short} == {"unguided", "freeaction"} and {r["clip"] for r in short} == {"000027@0"}
    assert all(r["latent_l2"] > 0 and 0 < r["psnr"] < 100 and -1 <= r["ssim"] <= 1 for r in short)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["dataset_format"] == "irasim" and run["model"]["latent_size"] == [36, 64]
    assert (tmp_path / "out" / "index.html").is_file()
