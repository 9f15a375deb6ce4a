"""``freeaction generate`` end to end on a tiny model + tiny VAE, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from freeaction import save_model
from freeaction.cli import main
from freeaction.data.video import read_frames as read_video
from tiny_vae import make_vae


@pytest.fixture
def checkpoint(tmp_path, tiny_model):
    folder = save_model(tiny_model, tmp_path / "ckpt", action_stats={"mu_act": 2.0})
    make_vae(folder / "vae", width=8)
    return folder


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "first.png")
    np.save(tmp_path / "acts.npy", (rng.standard_normal((20, 2)) * 0.03).astype(np.float32))
    return tmp_path / "first.png", tmp_path / "acts.npy"


def run(*args: str) -> int:
    return main([str(a) for a in args])


@pytest.mark.parametrize(
    "method",
    [
        [],
        ["--guidance", "freeaction", "--truncation", "action_scaled"],
        ["--guidance", "null", "--guidance-scale", "1.5"],
        ["--guidance", "negated", "--window", "0.25", "1.0", "--truncation", "fixed", "--tau", "0.8"],
    ],
)
def test_generate_writes_a_video(tmp_path, checkpoint, inputs, method, capsys) -> None:
    out = tmp_path / "out.mp4"
    rc = run(
        "generate",
        "--checkpoint",
        checkpoint,
        "--image",
        inputs[0],
        "--actions",
        inputs[1],
        "--out",
        out,
        "--sampler",
        "ddim",
        "--steps",
        "4",
        "--frames-dir",
        tmp_path / "frames",
        *method,
    )
    assert rc == 0
    video = read_video(out)
    assert video.shape == (21, 64, 64, 3)  # context + 20 actions, over two chunks
    assert len(list((tmp_path / "frames").glob("*.png"))) == 21
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["frames"] == 21


def test_same_seed_same_video(tmp_path, checkpoint, inputs) -> None:
    for name in ("a", "b"):
        assert (
            run(
                "generate",
                "--checkpoint",
                checkpoint,
                "--image",
                inputs[0],
                "--actions",
                inputs[1],
                "--out",
                tmp_path / f"{name}.mp4",
                "--sampler",
                "ddim",
                "--steps",
                "3",
                "--seed",
                "4",
            )
            == 0
        )
    assert np.array_equal(read_video(tmp_path / "a.mp4"), read_video(tmp_path / "b.mp4"))


def _expect_error(capsys, *args, match: str) -> None:
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert match in err, err


def test_errors_name_the_culprit(tmp_path, checkpoint, inputs, capsys) -> None:
    img, acts = inputs
    base = ["generate", "--checkpoint", checkpoint, "--out", tmp_path / "o.mp4", "--steps", "2", "--sampler", "ddim"]
    np.save(tmp_path / "a3.npy", np.zeros((15, 3), np.float32))
    _expect_error(capsys, *base, "--image", img, "--actions", tmp_path / "a3.npy", match="takes 2")
    bad = np.zeros((15, 2), np.float32)
    bad[4, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    _expect_error(capsys, *base, "--image", img, "--actions", tmp_path / "nan.npy", match="NaN or Inf (rows [4])")
    Image.fromarray(np.zeros((48, 80, 3), np.uint8)).save(tmp_path / "wrong.png")
    _expect_error(capsys, *base, "--image", tmp_path / "wrong.png", "--actions", acts, match="--resize")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    _expect_error(capsys, *base, "--image", tmp_path / "broken.png", "--actions", acts, match="broken.png")
    _expect_error(
        capsys, *base, "--image", img, "--actions", acts, "--latent-size", "8", "16", match="tokens per frame"
    )
    _expect_error(capsys, *base, "--image", img, "--actions", acts, "--vae", tmp_path / "novae", match="VAE folder")
    (tmp_path / "acts.txt").write_text("1 2")
    _expect_error(capsys, *base, "--image", img, "--actions", tmp_path / "acts.txt", match="unsupported action file")


def test_resize_and_csv_json_actions(tmp_path, checkpoint, inputs) -> None:
    Image.fromarray(np.zeros((48, 80, 3), np.uint8)).save(tmp_path / "wrong.png")
    (tmp_path / "a.csv").write_text("dx,dy\n" + "\n".join("0.01,-0.02" for _ in range(5)))
    (tmp_path / "a.json").write_text(json.dumps({"actions": [[0.01, -0.02]] * 5}))
    for acts in ("a.csv", "a.json"):
        assert (
            run(
                "generate",
                "--checkpoint",
                checkpoint,
                "--image",
                tmp_path / "wrong.png",
                "--resize",
                "--actions",
                tmp_path / acts,
                "--out",
                tmp_path / f"{acts}.mp4",
                "--sampler",
                "ddim",
                "--steps",
                "2",
            )
            == 0
        )
        assert read_video(tmp_path / f"{acts}.mp4").shape[0] == 6


def test_mu_act_from_dataset_stats_must_match_the_magnitude(tmp_path, checkpoint, inputs, capsys) -> None:
    img, acts = inputs
    stats_dir = tmp_path / "ds"
    stats_dir.mkdir()
    stats = {"mu_act": 1.5, "magnitude": "mean_step", "dims": None}
    (stats_dir / "freeaction_stats.json").write_text(json.dumps(stats))
    base = [
        "generate",
        "--checkpoint",
        checkpoint,
        "--image",
        img,
        "--actions",
        acts,
        "--sampler",
        "ddim",
        "--steps",
        "2",
        "--truncation",
        "action_scaled",
        "--stats",
        stats_dir,
    ]
    _expect_error(capsys, *base, "--out", tmp_path / "a.mp4", match="rerun `freeaction data stats --magnitude l2")
    assert run(*base, "--magnitude", "mean_step", "--out", tmp_path / "b.mp4") == 0
    _expect_error(capsys, *base[:-2], "--stats", tmp_path, "--out", tmp_path / "c.mp4", match="no freeaction_stats")


def test_sampler_defaults_to_what_the_model_folder_recommends(tmp_path, checkpoint, inputs, capsys) -> None:
    (checkpoint / "shipped.json").write_text(json.dumps({"simulator": "pusher", "sampler": "ddim", "steps": 3}))
    base = ["generate", "--checkpoint", checkpoint, "--image", inputs[0], "--actions", inputs[1]]
    assert run(*base, "--out", tmp_path / "a.mp4") == 0
    assert "ddim 3 steps" in capsys.readouterr().out
    assert run(*base, "--out", tmp_path / "b.mp4", "--sampler", "ddpm", "--steps", "2") == 0  # flags win
    assert "ddpm 2 steps" in capsys.readouterr().out


def test_stats_of_another_window_length_are_refused_and_the_used_values_printed(
    tmp_path, checkpoint, inputs, capsys
) -> None:
    img, acts = inputs
    stats_dir = tmp_path / "ds"
    stats_dir.mkdir()
    (stats_dir / "freeaction_stats.json").write_text(
        json.dumps({"mu_act": 1.5, "magnitude": "l2", "dims": None, "num_frames": 99})
    )
    base = ["generate", "--checkpoint", checkpoint, "--image", img, "--actions", acts, "--sampler", "ddim",
            "--steps", "2", "--guidance", "freeaction", "--lambda", "0.5", "--truncation", "action_scaled"]
    _expect_error(capsys, *base, "--stats", stats_dir, "--out", tmp_path / "a.mp4", match="windows of 99 frames")
    assert run(*base, "--out", tmp_path / "b.mp4") == 0
    out = capsys.readouterr().out
    assert "w = 0.5 * m(a) for 0.5T < t <= 1T" in out and "sigmoid(m(a) - 2) (mu_act from checkpoint)" in out
    chunk = [line for line in out.splitlines() if "chunk 1:" in line][0]
    m, w, tau = (float(part.split()[-1]) for part in chunk.split(":", 1)[1].split(","))
    assert w == pytest.approx(0.5 * m, abs=2e-3) and tau == pytest.approx(0.5 + 1 / (1 + np.exp(2.0 - m)), abs=2e-3)


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--guidance", "freeaction", "--lambda", "nan"], "guidance scale (lambda) must be finite"),
        (["--guidance", "null", "--guidance-scale", "1e30"], "guidance scale must be <= 100"),
        (["--guidance", "negated", "--cutoff", "1.5"], "guidance window[0] must be <= 1"),
        (["--truncation", "fixed", "--tau", "0"], "truncation tau must be > 0"),
        (["--truncation", "action_scaled", "--tau-min", "2", "--tau-max", "1"], "tau_min <= tau_max"),
        (["--truncation", "action_scaled", "--mu-act", "inf"], "truncation mu_act must be finite"),
        (["--guidance", "freeaction", "--negate-dims", "0", "2"], "[2] out of range for 2-D actions"),
        (["--steps", "0"], "--steps must be at least 1, got 0"),
    ],
)
def test_bad_method_flags_are_refused_by_the_one_parser(tmp_path, checkpoint, inputs, capsys, flags, match) -> None:
    base = ["generate", "--checkpoint", checkpoint, "--image", inputs[0], "--actions", inputs[1],
            "--out", tmp_path / "o.mp4", "--steps", "2", "--sampler", "ddim"]
    _expect_error(capsys, *base, *flags, match=match)
    assert not (tmp_path / "o.mp4").exists()


def test_actions_far_outside_the_training_statistics_are_flagged(tmp_path, checkpoint, inputs, capsys) -> None:
    img, acts = inputs
    np.save(tmp_path / "huge.npy", np.load(acts) * 100)  # metres given as centimetres
    base = ["generate", "--checkpoint", checkpoint, "--image", img, "--sampler", "ddim", "--steps", "2",
            "--no-progress"]
    assert run(*base, "--actions", acts, "--out", tmp_path / "a.mp4") == 0
    assert "warning" not in capsys.readouterr().err
    assert run(*base, "--actions", tmp_path / "huge.npy", "--out", tmp_path / "b.mp4") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "2 of 2 chunk(s) have m(a) far outside" in err and "compared with the checkpoint's action statistics: " \
        "mu_act 2;" in err and "x mu_act." in err and "metres per step" in err


def test_magnitude_warning_compares_with_mu_act_and_the_largest_m():
    from freeaction.commands.generate import magnitude_warning

    chunk = np.full((3, 2), 0.5, dtype=np.float32)  # m(a) = L2 of the chunk = sqrt(6) / 2 = 1.22
    stats = {"mu_act": 1.0, "max": 2.0, "num_frames": 4, "magnitude": "l2", "dims": None}
    assert magnitude_warning(chunk, stats, 3, "s") is None
    assert "s: mu_act 1, largest 2;" in magnitude_warning(chunk * 2, stats, 3, "s")  # beyond the largest
    assert "chunk 1 has m(a) 2.45 = 2.45 x mu_act" in magnitude_warning(chunk * 2, stats, 3, "s")
    assert "5.51 x mu_act" in magnitude_warning(chunk * 4.5, {**stats, "max": None}, 3, "s")  # > 5 x mu_act
    assert magnitude_warning(chunk * 4, {**stats, "max": None}, 3, "s") is None  # 4.9 x mu_act: no warning
    assert magnitude_warning(chunk * 100, {**stats, "num_frames": 9}, 3, "s") is None  # another window length
    assert magnitude_warning(chunk * 100, {"mu_act": None}, 3, "s") is None
    # the statistics' own m(a): restricted to dimension 0, the same chunk measures 0.87
    assert magnitude_warning(chunk * 2, {**stats, "dims": [0]}, 3, "s") is None


def test_progress_moves_per_sampling_step_and_can_be_switched_off(tmp_path, checkpoint, inputs, capsys) -> None:
    img, acts = inputs  # 20 actions = 2 chunks of the tiny model's window
    base = ["generate", "--checkpoint", checkpoint, "--image", img, "--actions", acts, "--sampler", "ddim",
            "--steps", "3"]
    assert run(*base, "--out", tmp_path / "a.mp4") == 0
    err = capsys.readouterr().err
    assert "sampling 2 chunk(s)" in err and "6/6" in err
    assert run(*base, "--out", tmp_path / "b.mp4", "--no-progress") == 0
    assert "sampling" not in capsys.readouterr().err


@pytest.mark.parametrize("value", [1e30, -2e4])
def test_huge_finite_actions_are_refused_before_sampling(tmp_path, checkpoint, inputs, capsys, value) -> None:
    acts = np.zeros((15, 2), np.float32)
    acts[3, 0] = value
    np.save(tmp_path / "huge.npy", acts)
    _expect_error(capsys, "generate", "--checkpoint", checkpoint, "--image", inputs[0], "--actions",
                  tmp_path / "huge.npy", "--action-space", "model", "--out", tmp_path / "o.mp4", "--steps", "2",
                  "--sampler", "ddim", match=f"actions reach {abs(value):.3g} in model space")
    assert not (tmp_path / "o.mp4").exists()


def test_non_finite_latents_are_an_error_not_a_black_video(checkpoint) -> None:
    from freeaction import WorldModel
    from freeaction.errors import SamplingError

    wm = WorldModel.load(checkpoint)
    latents = torch.zeros(3, 4, 8, 8)
    assert wm.decode(latents).shape == (3, 64, 64, 3)
    latents[1, 0, 2, 2] = float("nan")
    with pytest.raises(SamplingError, match="NaN or Inf latents"):
        wm.decode(latents)


def test_a_failure_during_sampling_keeps_the_existing_video(tmp_path, checkpoint, inputs, capsys, monkeypatch) -> None:
    from freeaction.errors import SamplingError
    from freeaction.pipeline import WorldModel

    def fail_after_one_block(self, first, actions, *, sink, **kwargs):
        sink(torch.zeros(1, 4, 8, 8))
        raise SamplingError("sampling produced NaN or Inf latents (simulated)")

    out = tmp_path / "keep.mp4"
    out.write_bytes(b"the previous video")
    monkeypatch.setattr(WorldModel, "generate", fail_after_one_block)
    _expect_error(capsys, "generate", "--checkpoint", checkpoint, "--image", inputs[0], "--actions", inputs[1],
                  "--out", out, "--steps", "2", "--sampler", "ddim", match="(simulated)")
    assert out.read_bytes() == b"the previous video"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_video_appears_whole_under_its_name(tmp_path, checkpoint, inputs) -> None:
    out = tmp_path / "new" / "v.mp4"
    out.parent.mkdir()
    out.write_bytes(b"old")
    assert run("generate", "--checkpoint", checkpoint, "--image", inputs[0], "--actions", inputs[1],
               "--out", out, "--steps", "2", "--sampler", "ddim") == 0
    assert read_video(out).shape == (21, 64, 64, 3)
    assert [p.name for p in out.parent.iterdir()] == ["v.mp4"]


def test_the_api_refuses_zero_steps_instead_of_running_the_default(checkpoint) -> None:
    from freeaction import WorldModel
    from freeaction.errors import InputError

    wm = WorldModel.load(checkpoint)
    with pytest.raises(InputError, match="steps must be a whole number >= 1"):
        wm.generate(torch.zeros(4, 8, 8), np.zeros((3, 2), np.float32), sampler="ddim", steps=0)
