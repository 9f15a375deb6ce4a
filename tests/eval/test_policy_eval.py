"""policy-eval: ranking statistics against hand-computed values, and a resumable run on a tiny model."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from freeaction import VideoDiT, preset, save_model
from freeaction.errors import InputError
from freeaction.eval.policy_eval import PolicyEvalConfig, PolicyEvaluation, exclusive
from freeaction.eval.policy_stats import correlations, mmrv, ranking_bootstrap, rate
from freeaction.eval.results_folder import read_rows, row_key, shard_path
from freeaction.report.policy_eval import write_report
from tiny_vae import make_vae


def _mmrv_loops(proxy, reference):
    """SIMPLER's definition written as its double loop."""
    worst = []
    for i in range(len(proxy)):
        m = 0.0
        for j in range(len(proxy)):
            if (proxy[i] > proxy[j]) != (reference[i] > reference[j]):
                m = max(m, abs(reference[i] - reference[j]))
        worst.append(m)
    return sum(worst) / len(worst)


def test_mmrv_hand_computed():
    # reference order 0 < 1 < 2; the proxy swaps 1 and 2, whose reference gap is 0.2:
    # policies 1 and 2 each have a maximum violation of 0.2, policy 0 none -> 0.4 / 3
    assert mmrv([0.1, 0.5, 0.3], [0.2, 0.4, 0.6]) == pytest.approx(0.4 / 3)
    assert mmrv([0.1, 0.2, 0.3], [0.2, 0.4, 0.6]) == 0.0
    # a proxy tie against a strict reference order is a violation for the policy the reference puts
    # above (0.6 > 0.2 but not 0.5 > 0.5), not for the one below: (0 + 0.4) / 2
    assert mmrv([0.5, 0.5], [0.2, 0.6]) == pytest.approx(0.2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, r = rng.integers(0, 5, 6) / 4, rng.integers(0, 5, 6) / 4
        assert mmrv(p, r) == pytest.approx(_mmrv_loops(p, r))


def test_correlations_hand_computed():
    p, r = [0.1, 0.4, 0.35, 0.9], [0.2, 0.3, 0.5, 0.8]
    pc, rc = np.array(p) - np.mean(p), np.array(r) - np.mean(r)
    c = correlations(p, r)
    assert c["pearson"] == pytest.approx(float(pc @ rc / np.sqrt((pc @ pc) * (rc @ rc))))
    # ranks (1, 3, 2, 4) vs (1, 2, 3, 4): d^2 = 2 -> rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert c["spearman"] == pytest.approx(0.8)
    assert correlations([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]) == {"pearson": None, "spearman": None}


def test_rate_has_an_interval_around_the_mean():
    r = rate([1, 0, 1, 1, 0, 1, 0, 1], {"resamples": 2000})
    assert r["rate"] == 0.625 and r["n"] == 8 and r["ci"][0] < 0.625 < r["ci"][1]


def test_ranking_bootstrap_is_paired():
    rng = np.random.default_rng(1)
    sim = {f"p{i}": (rng.random(12) < q).astype(float) for i, q in enumerate([0.1, 0.4, 0.7, 0.9])}
    noisy = {p: np.where(rng.random(12) < 0.3, 1 - v, v) for p, v in sim.items()}
    out = ranking_bootstrap(sim, {"perfect": sim, "noisy": noisy, "same": sim}, resamples=300)
    assert out["perfect"]["mmrv_ci"] == [0.0, 0.0] and out["perfect"]["pearson_ci"][0] == pytest.approx(1.0)
    assert out["same"]["pearson_minus_perfect_ci"] == [0.0, 0.0] and out["same"]["mmrv_minus_perfect_ci"] == [0.0, 0.0]
    assert out["noisy"]["mmrv_minus_perfect_ci"][1] > 0


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, action_embedder="linear", latent_size=(8, 8), num_frames=3))
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    folder = save_model(model.eval(), tmp_path_factory.mktemp("ck") / "tiny", action_stats={"mu_act": 1.0})
    make_vae(folder / "vae")
    return folder


def _config(tmp_path, checkpoint):
    return PolicyEvalConfig(checkpoint=str(checkpoint), horizon=1, episodes=2, sampler="ddim", steps=1, batch_size=3,
                            methods=["unguided"], policies=["expert", "random"], out=str(tmp_path / "run"),
                            bootstrap={"resamples": 200})


def test_run_resumes_without_losing_or_duplicating_rows(tmp_path, tiny_checkpoint):
    cfg = _config(tmp_path, tiny_checkpoint)
    out = PolicyEvaluation(cfg, progress=False).run()
    shard = shard_path(out, 0, 1)
    full = read_rows(shard)
    assert len(full) == 8  # 4 simulator + 4 world-model episodes
    # a run killed after three rows, in the middle of writing the fourth
    lines = shard.read_bytes().splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:3]) + lines[3][:20])
    (out / "results.jsonl").unlink()
    PolicyEvaluation(cfg, progress=False).run()
    rows = read_rows(out / "results.jsonl")
    keys = [row_key(r) for r in rows]
    assert len(rows) == 8 and len(set(keys)) == 8
    assert sorted(keys, key=str) == sorted((row_key(r) for r in full), key=str)
    summary = write_report(out)
    assert set(summary["methods"]["unguided"]["wm"]) == {"expert", "random"}
    for name in ("results.json", "table.md", "scatter.png", "index.html"):
        assert (out / name).is_file()
    assert json.loads((out / "results.json").read_text())["sim"]["random"]["rate"] == 0.0


def test_a_second_run_on_the_same_folder_is_refused(tmp_path, tiny_checkpoint):
    cfg = _config(tmp_path, tiny_checkpoint)
    with exclusive(tmp_path / "run"), pytest.raises(InputError, match="another policy-eval"):
        PolicyEvaluation(cfg, progress=False).run()


def test_a_resumed_run_must_keep_its_settings(tmp_path, tiny_checkpoint):
    cfg = _config(tmp_path, tiny_checkpoint)
    cfg.policies = ["random"]
    PolicyEvaluation(cfg, progress=False).run()
    cfg.horizon = 2
    with pytest.raises(InputError, match="other settings"):
        PolicyEvaluation(cfg, progress=False).run()


def _record_threads(monkeypatch) -> list[int]:
    """torch's thread count at the start of every method's run, appended as the runs go."""
    seen: list[int] = []
    real = PolicyEvaluation.run_method

    def spy(self, method, writer):
        seen.append(torch.get_num_threads())
        return real(self, method, writer)

    monkeypatch.setattr(PolicyEvaluation, "run_method", spy)
    return seen


def test_the_run_uses_the_configured_threads_and_restores_them(tmp_path, tiny_checkpoint, monkeypatch):
    cfg = _config(tmp_path, tiny_checkpoint)
    cfg.policies, cfg.threads = ["random"], 1
    seen = _record_threads(monkeypatch)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = PolicyEvaluation(cfg, progress=False).run()
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    rows = read_rows(out / "results.jsonl")
    assert len(rows) == 4 and all(r["cpu_seconds"] >= 0 and r["seconds"] > 0 for r in rows)
    cfg.threads, cfg.out = 0, str(tmp_path / "other")
    with pytest.raises(InputError, match="threads must be >= 1"):
        PolicyEvaluation(cfg, progress=False).run()


def test_cli_threads_override_the_configs(tmp_path, tiny_checkpoint, monkeypatch):
    from freeaction.cli import main

    config = tmp_path / "eval.yaml"
    config.write_text(f"checkpoint: {tiny_checkpoint}\nhorizon: 1\nepisodes: 1\nsampler: ddim\nsteps: 1\n"
                      f"methods: [unguided]\npolicies: [random]\nthreads: 2\nout: {tmp_path / 'run'}\n"
                      "bootstrap: {resamples: 100}\n")
    seen = _record_threads(monkeypatch)
    assert main(["policy-eval", str(config), "--threads", "1", "--quiet"]) == 0
    assert seen == [1] and json.loads((tmp_path / "run" / "run.json").read_text())["threads"] == 1


@pytest.mark.parametrize(("info", "want", "scene", "horizon"), [
    ({"simulator": "pusher", "simulator_options": {}}, 1, ("pusher", 1), 3),
    ({"simulator": "pusher", "simulator_options": {"world": 2}}, 2, ("pusher", 2), 3),
    ({"simulator": "pusher", "simulator_options": {"world": 3}}, 3, ("pusher", 3), 6),  # 20 frames/s
    ({"simulator": "arm"}, "arm", ("arm", 1), 4),
    ({"simulator": "arm", "simulator_options": {"world": 2}}, "arm-2", ("arm", 2), 4),
])
def test_policy_eval_world_auto_follows_the_checkpoints_shipped_json(tmp_path, info, want, scene, horizon):
    from freeaction.shipped import scene_of

    (tmp_path / "shipped.json").write_text(json.dumps({"sampler": "ddpm", "steps": 50, **info}))
    assert scene_of(tmp_path) == scene
    cfg = PolicyEvalConfig(checkpoint=str(tmp_path), world="auto")
    assert cfg.resolved_world() == want and cfg.scene_world() == scene
    assert cfg.resolved_horizon() == horizon  # the scene env's default: the same seconds in every pusher world
    assert PolicyEvalConfig(checkpoint=str(tmp_path), world="auto", horizon=2).resolved_horizon() == 2
    assert PolicyEvalConfig(checkpoint=str(tmp_path), world=1).resolved_world() == 1  # a named world wins
    with pytest.raises(InputError, match="world: auto needs a checkpoint with a shipped.json"):
        PolicyEvalConfig(checkpoint=str(tmp_path / "nowhere"), world="auto").scene_world()


def test_a_bc_policy_from_another_world_is_warned_about():
    from freeaction.eval.policy_eval import warn_world_mismatch

    bc = [{"name": "b", "factory": "bc-50", "kwargs": {}}, {"name": "e", "factory": "expert", "kwargs": {}}]
    with pytest.warns(UserWarning, match=r"'b' was behaviour-cloned in pusher world 1, but this run's scenes are "
                                         r"pusher world 2"):
        warn_world_mismatch(bc, ("pusher", 2))
    with pytest.warns(UserWarning, match="the arm"):
        warn_world_mismatch(bc, ("arm", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_world_mismatch(bc, ("pusher", 1))  # bc-50 learned in world 1; scripted policies have no world


@pytest.mark.parametrize("text", ["{not json", json.dumps({"steps": 50}), json.dumps(["pusher"]),
                                  json.dumps({"simulator": "arm", "simulator_options": [2]})])
def test_a_broken_shipped_json_is_refused_naming_the_file(tmp_path, text):
    from freeaction.errors import CheckpointError
    from freeaction.shipped import recommended_sampler, scene_of

    (tmp_path / "shipped.json").write_text(text)
    for read in (recommended_sampler, scene_of):
        with pytest.raises(CheckpointError, match=r"shipped.json: unreadable shipped-model description"):
            read(tmp_path)


def test_a_policy_folder_named_like_a_built_in_must_be_written_as_a_path(tmp_path):
    (tmp_path / "bc-10").mkdir()
    config = tmp_path / "run.yaml"
    config.write_text("policies: [expert, {name: mine, factory: bc-10}]\n")
    with pytest.raises(InputError, match=r"'bc-10' is ambiguous: a built-in policy, and the folder .*'./bc-10'"):
        PolicyEvalConfig.from_file(config)
    config.write_text("policies: [expert, {name: mine, factory: ./bc-10}]\n")
    assert PolicyEvalConfig.from_file(config).policies[1] == {"name": "mine", "factory": str(tmp_path / "bc-10")}
    (tmp_path / "bc-10").rmdir()
    config.write_text("policies: [bc-10]\n")  # no folder beside it: the built-in
    assert PolicyEvalConfig.from_file(config).policies == ["bc-10"]
