"""train-vae (scaling factor, exact resume, masked PSNR) and encode (IRASim layout, resumable)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from freeaction.data.irasim import IRASimDataset
from freeaction.errors import InputError
from freeaction.files import TEMP_MARK
from freeaction.vae import encode, load_vae
from freeaction.vae.encode_dataset import encode_dataset
from freeaction.vae.train import VAETrainConfig, object_mask, reconstruction_metrics, train_vae


@pytest.fixture(scope="module")
def pusher(tmp_path_factory):
    from freeaction.sim import make_dataset

    root = tmp_path_factory.mktemp("pusher")
    # 10 episodes: the golden-ratio split puts 1 in val and 1 in test
    make_dataset("pusher", root, episodes=10, seed=0, workers=1, size=(16, 16), progress=False, frames=6)
    return root


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny(pusher, out, **kw) -> VAETrainConfig:
    base = dict(dataset=str(pusher), out=str(out), preset="tiny", steps=4, batch_size=4, save_every=2, eval_every=2,
                warmup_steps=1, edge_weight=1.0, progress=False, device="cpu", val_frames=8)
    return VAETrainConfig(**{**base, **kw})


def test_train_vae_writes_diffusers_folder_with_data_scaling_factor(pusher, tmp_path):
    result = train_vae(tiny(pusher, tmp_path / "v"))
    vae = load_vae(tmp_path / "v")  # the vae/ subfolder is found
    assert vae.config.scaling_factor == pytest.approx(result["scaling_factor"])
    assert vae.config.scaling_factor != 1.0
    frames = np.concatenate([e.frames for e in IRASimDataset(pusher, "train", num_frames=2, latents=False).episodes()])
    z = encode(vae, frames)  # scaled latents of the training frames have unit std
    assert float(z.std()) == pytest.approx(1.0, rel=1e-3)
    assert result["latent_shape"] == [4, 8, 8] and z.shape[1:] == (4, 8, 8)
    assert {"psnr", "psnr_objects", "object_fraction"} <= set(result)
    assert (tmp_path / "v" / "recon.png").stat().st_size > 500
    assert json.loads((tmp_path / "v" / "metrics.json").read_text())["step"] == 4


def test_train_vae_resume_with_other_options_is_refused(pusher, tmp_path):
    train_vae(tiny(pusher, tmp_path / "v", steps=2))
    with pytest.raises(InputError, match="steps: 2 -> 4"):  # steps shapes the lr schedule
        train_vae(tiny(pusher, tmp_path / "v"))


def test_train_vae_init_from_fine_tunes_that_vae_on_whole_frames(pusher, tmp_path):
    first = train_vae(tiny(pusher, tmp_path / "crops", crop=8, steps=6))
    start = load_vae(tmp_path / "crops")
    # zero steps of lr: the fine-tune starts exactly from the given weights (architecture included)
    same = train_vae(tiny(pusher, tmp_path / "same", preset="f4", init_from=str(tmp_path / "crops" / "vae"),
                          steps=1, lr=1e-12, warmup_steps=0))
    assert same["psnr"] == pytest.approx(first["psnr"], abs=1e-3) and same["latent_shape"] == first["latent_shape"]
    tuned = train_vae(tiny(pusher, tmp_path / "tuned", init_from=str(tmp_path / "crops"), steps=6, lr=3e-3))
    after = load_vae(tmp_path / "tuned")
    assert type(after.encoder.conv_in) is type(start.encoder.conv_in)
    assert not torch.equal(after.encoder.conv_in.weight, start.encoder.conv_in.weight)
    assert tuned["preset"].startswith("from ")
    with pytest.raises(InputError, match="init_from"):  # a resumed run keeps its starting weights
        train_vae(tiny(pusher, tmp_path / "tuned", steps=6, lr=3e-3))


def test_train_vae_resume_after_interruption_is_exact(pusher, tmp_path, monkeypatch):
    from freeaction.vae import train as vt

    calls = {"n": 0}
    real = vt._save_state

    def crash_after_first(*args, **kw):
        real(*args, **kw)
        calls["n"] += 1
        raise KeyboardInterrupt  # interrupted right after the step-2 checkpoint

    monkeypatch.setattr(vt, "_save_state", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        train_vae(tiny(pusher, tmp_path / "split", crop=8))
    monkeypatch.setattr(vt, "_save_state", real)
    assert json.loads((tmp_path / "split" / "train_state" / "state.json").read_text())["step"] == 2
    train_vae(tiny(pusher, tmp_path / "split", crop=8))  # random 8x8 crops of the 16x16 frames
    train_vae(tiny(pusher, tmp_path / "straight", crop=8))
    a = load_vae(tmp_path / "straight").state_dict()
    b = load_vae(tmp_path / "split").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_object_psnr_ignores_the_table():
    table = np.array([201, 196, 186])
    orig = np.tile(table.astype(np.uint8), (2, 8, 8, 1))
    orig[:, 2:4, 2:4] = (20, 200, 20)  # a 2x2 object: 4 of 64 pixels
    recon = orig.copy()
    recon[:, 2:4, 2:4] = (20, 190, 20)  # the object is off by 10 in one channel
    bg = np.tile(table, (2, 1))
    m = reconstruction_metrics(orig, recon, bg)
    assert m["object_fraction"] == pytest.approx(4 / 64)
    assert m["psnr_objects"] == pytest.approx(10 * np.log10(255**2 / (100 / 3)))
    assert m["psnr"] == pytest.approx(10 * np.log10(255**2 / (100 / 3 * 4 / 64)))
    # unknown background colour: each frame's most common colour is used
    assert (object_mask(orig, np.full((2, 3), -1)) == object_mask(orig, bg)).all()


def test_encode_writes_irasim_layout_read_back_by_the_reader(pusher, tmp_path):
    import shutil

    from diffusers import AutoencoderKL

    from freeaction.vae.presets import vae_preset

    torch.manual_seed(0)
    vae = AutoencoderKL(**vae_preset("tiny", scaling_factor=0.5)).eval()
    vae.save_pretrained(tmp_path / "vae")
    pusher = shutil.copytree(pusher, tmp_path / "data")
    summary = encode_dataset(pusher, tmp_path / "vae", progress=False)
    assert sum(c["encoded"] for c in summary["splits"].values()) == 10
    assert summary["latent_shape"] == [4, 8, 8]
    path = pusher / "latent_videos" / "train" / "000000" / "0.pt"
    stored = torch.load(path, weights_only=True)
    assert isinstance(stored, dict) and stored["obs"].dtype == torch.float32  # Language-Table style
    ds = IRASimDataset(pusher, "train", num_frames=4, frames=True, latents=True)
    clip = ds[1]
    expected = encode(load_vae(tmp_path / "vae"), clip.frames)
    torch.testing.assert_close(clip.latents, expected)
    assert not list(pusher.glob(f"latent_videos/**/.*{TEMP_MARK}*"))
    # resumable: a rerun skips everything, a deleted episode alone is re-encoded
    path.unlink()
    again = encode_dataset(pusher, tmp_path / "vae", ["train"], progress=False)
    assert again["splits"]["train"] == {"encoded": 1, "skipped": ds.num_episodes - 1}
    assert torch.equal(torch.load(path, weights_only=True)["obs"], stored["obs"])
    # another VAE over these latents is refused unless overwrite
    other = AutoencoderKL(**vae_preset("tiny", scaling_factor=0.7))
    with pytest.raises(InputError, match="made with another VAE"):
        encode_dataset(pusher, other, progress=False)
    # the training loop finds the VAE the latents came from
    from freeaction.train.export import vae_of_dataset

    assert vae_of_dataset(pusher) == str((tmp_path / "vae").resolve())


def test_focus_weight_weighs_the_gripper_window_only():
    from diffusers import AutoencoderKL

    from freeaction.vae.presets import vae_preset
    from freeaction.vae.train import vae_loss

    torch.manual_seed(0)
    vae = AutoencoderKL(**vae_preset("tiny", sample_size=16))
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    cfg = VAETrainConfig(dataset="d", out="o", l1_weight=1.0, mse_weight=0.0, kl_weight=0.0, focus_weight=3.0)

    def recon(gripper):
        return float(vae_loss(vae, x, cfg, torch.Generator().manual_seed(1), gripper)["recon"])

    plain = recon(None)
    assert recon(torch.zeros(2, 1, 16, 16)) == pytest.approx(plain)
    assert recon(torch.ones(2, 1, 16, 16)) == pytest.approx(4 * plain)
    half = torch.zeros(2, 1, 16, 16)
    half[..., :8] = 1
    with torch.no_grad():
        rec = vae.decode(vae.encode(x).latent_dist.sample(generator=torch.Generator().manual_seed(1))).sample
    inside = float((rec - x).abs()[..., :8].sum() / x.numel())
    assert recon(half) == pytest.approx(plain + 3 * inside, rel=1e-5)


def test_gripper_windows_of_a_painted_episode_sit_below_its_paint():
    from freeaction.vae.train import _gripper_windows

    orange = [0.95, 0.45, 0.1, 1.0]
    frames = np.full((2, 64, 64, 3), 200, np.uint8)
    frames[0, 20:24, 30:36] = np.round(np.asarray(orange[:3]) * 255)  # paint centred at (21.5, 32.5)
    windows = _gripper_windows(frames, {"sim": {"gripper_rgba": orange}})
    assert windows.shape == (2, 64, 64) and windows.sum(axis=(1, 2)).tolist() == [24 * 24, 24 * 24]
    rows, cols = np.nonzero(windows[0])
    # side 24 (3/8 of 64): top 22 + 24 // 6 - 12 = 14 (21.5 rounds to 22), left 32 - 12 = 20
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (14, 37, 20, 43)
    rows, cols = np.nonzero(windows[1])  # no paint: the frame's centre (31.5 rounds to 32)
    assert (rows.min(), cols.min()) == (32 + 4 - 12, 32 - 12)
    assert _gripper_windows(frames, {"sim": {}}) is None and _gripper_windows(frames, {}) is None
    # arm world 5 records the lit hand's paint too: a frame showing only that is found by it
    magenta = [0.85, 0.15, 0.85, 1.0]
    frames[1, 20:24, 30:36] = np.round(np.asarray(magenta[:3]) * 255)
    lit = _gripper_windows(frames, {"sim": {"gripper_rgba": orange, "gripper_closed_rgba": magenta}})
    assert np.array_equal(lit[1], windows[0]) and np.array_equal(lit[0], windows[0])


def test_focus_weight_on_a_dataset_without_gripper_paint_is_refused(pusher, tmp_path):
    from freeaction.errors import DataError

    with pytest.raises(DataError, match="gripper_rgba"):
        train_vae(tiny(pusher, tmp_path / "v", focus_weight=5.0))


def test_latent_channels_widen_the_presets_latents(pusher, tmp_path):
    result = train_vae(tiny(pusher, tmp_path / "v", steps=2, latent_channels=6))
    assert result["latent_shape"] == [6, 8, 8] and load_vae(tmp_path / "v").config.latent_channels == 6
    with pytest.raises(InputError, match="latent_channels cannot change an init_from"):
        train_vae(tiny(pusher, tmp_path / "w", init_from=str(tmp_path / "v" / "vae"), latent_channels=8))


def test_focus_weight_trains_on_a_dataset_that_records_the_gripper_paint(pusher, tmp_path):
    import shutil

    from freeaction.vae.train import load_frames

    painted = tmp_path / "painted"
    shutil.copytree(pusher, painted)
    for path in (painted / "annotation").rglob("*.json"):
        annotation = json.loads(path.read_text())
        annotation.setdefault("sim", {})["gripper_rgba"] = [0.95, 0.45, 0.1, 1.0]
        path.write_text(json.dumps(annotation))
    frames = load_frames(painted, "train", 20)
    assert frames.gripper is not None and frames.gripper.shape == frames.frames.shape[:3]
    sizes = frames.gripper.sum(axis=(1, 2))  # a 6 x 6 window (3/8 of 16 px), clipped at the frame's edge
    assert sizes.max() == 6 * 6 and sizes.min() >= 1
    assert load_frames(painted, "train", 20, gripper=False).gripper is None
    assert load_frames(pusher, "train", 20).gripper is None  # no paint recorded

    result = train_vae(tiny(painted, tmp_path / "v", focus_weight=5.0))
    assert result["psnr_gripper"] > 0 and result["step"] == 4
