"""policy-eval with ``world: arm``: a tiny 7-D world model against the arm simulator, end to end.
Needs ``pip install 'freeaction[arm]'``; skipped otherwise."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("freeaction.sim.arm", reason="the arm simulator needs pip install 'freeaction[arm]'")

from freeaction import VideoDiT, preset, save_model  # noqa: E402
from freeaction.errors import InputError  # noqa: E402
from freeaction.eval.policy_eval import PolicyEvalConfig, PolicyEvaluation  # noqa: E402
from freeaction.eval.results_folder import read_rows  # noqa: E402
from freeaction.report.policy_eval import write_report  # noqa: E402
from tiny_vae import make_vae  # noqa: E402

pytestmark = pytest.mark.slow


def tiny_checkpoint(folder, action_dim):
    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=action_dim, action_embedder="linear", latent_size=(8, 8), num_frames=3))
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    out = save_model(model.eval(), folder, action_stats={"mu_act": 1.0})
    make_vae(out / "vae")
    return out


def test_arm_run_writes_rows_and_report(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "arm", 7)
    cfg = PolicyEvalConfig(checkpoint=str(ckpt), world="arm", task="reach", horizon=1, episodes=1, sampler="ddim",
                           steps=1, batch_size=2, methods=["unguided"], policies=["arm-expert", "arm-random"],
                           out=str(tmp_path / "run"), bootstrap={"resamples": 50})
    out = PolicyEvaluation(cfg, progress=False).run()
    rows = read_rows(out / "results.jsonl")
    assert len(rows) == 4  # 2 simulator + 2 world-model episodes
    wm = [r for r in rows if r["protocol"] == "wm"]
    assert all(len(r["actions"][0][0]) == 7 and len(r["ee_error"]) == 2 for r in wm)
    assert set(write_report(out)["methods"]["unguided"]["wm"]) == {"arm-expert", "arm-random"}


def test_a_pusher_model_is_refused_for_the_arm(tmp_path):
    ckpt = tiny_checkpoint(tmp_path / "pusher", 2)
    cfg = PolicyEvalConfig(checkpoint=str(ckpt), world="arm", task="reach", horizon=1, episodes=1,
                           policies=["arm-random"], out=str(tmp_path / "run"))
    with pytest.raises(InputError, match="2-D actions"):
        PolicyEvaluation(cfg, progress=False).run()
