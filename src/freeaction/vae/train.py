"""``freeaction train-vae``: a small diffusers ``AutoencoderKL`` trained on a dataset's frames.

    from freeaction.vae.train import VAETrainConfig, train_vae
    result = train_vae(VAETrainConfig(dataset="data/pusher", out="runs/vae", preset="f4", steps=3000))
    vae = load_vae("runs/vae")     # the diffusers folder runs/vae/vae/

Loss per pixel (frames in [-1, 1]): ``l1_weight * |x^ - x| + mse_weight * (x^ - x)^2``, times
``1 + edge_weight * e(x)`` where ``e`` is the target's local gradient magnitude (clipped to
[0, 1]) so object outlines count more than the flat table; plus ``kl_weight`` times the mean
KL divergence of the posterior per latent element. x^ decodes a posterior *sample*.
``focus_weight`` adds ``1 + focus_weight`` times more weight inside the robot's gripper window
(:func:`freeaction.data.paint.gripper_window_corners`), for datasets whose annotations record
the gripper's paint (arm world 2, ``sim.gripper_rgba``): at 64x64 the open fingers are 1-2 px
apart, few enough pixels that the plain loss trades them away (docs/evaluation.md §7).

After training (and at every checkpoint) the latents' scaling factor is set to 1/std of the
posterior means of the training frames, so scaled latents have unit variance, as the DiT
expects; ``encode``/``decode`` in :mod:`freeaction.vae.autoencoder` apply it.

Quality is reported on held-out frames (the ``val`` split, else the last tenth of the
training episodes): PSNR over all pixels, and PSNR over the pixels that are *not* background
(the annotation's ``table_color`` where the simulator stores it, else each frame's most
common colour), which is what says whether the objects keep their shapes; with paint, also
PSNR inside the gripper window (``psnr_gripper``). A PNG grid shows
originals, reconstructions and the error.

The run folder: ``vae/`` (diffusers format), ``train_state/`` (weights, optimizer, step;
replaced atomically, so ``kill -9`` loses at most ``save_every`` steps), ``log.jsonl``,
``metrics.json``, ``recon.png``. Batches, crop offsets and posterior noise are drawn from
generators seeded by (seed, step), so a resumed run repeats what an uninterrupted one does.
``crop`` trains on random crops (the autoencoder is convolutional): at 32 on 64x64 frames a
step costs a quarter, and the metrics are still taken on whole held-out frames.

``init_from`` (a diffusers ``AutoencoderKL`` folder: an earlier run's ``vae/`` or the SDXL VAE)
fine-tunes those weights, with that folder's architecture (``preset`` is then ignored), a fresh
optimizer and its own lr schedule, e.g. a second phase on whole frames after training on crops.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.config_files import config_from_mapping, option
from freeaction.data.clip import evenly_spaced
from freeaction.data.irasim_layout import available_splits, is_irasim_root
from freeaction.data.paint import gripper_window_corners, gripper_window_side, recorded_gripper_paints, window_masks
from freeaction.errors import CheckpointError, DataError, InputError
from freeaction.files import atomic_open, recover_dir, write_dir_atomic
from freeaction.optimizer_state import optimizer_from_flat, optimizer_to_flat
from freeaction.training import JsonLog, learning_rate, step_seed
from freeaction.vae.presets import downsample_factor, vae_preset

VAE_DIR = "vae"
STATE_DIR = "train_state"
LOG_FILE = "log.jsonl"
METRICS_FILE = "metrics.json"
GRID_FILE = "recon.png"
BACKGROUND_TOLERANCE = 16  # a pixel is background when every channel is within this of the table colour


@dataclass
class VAETrainConfig:
    """Options of ``freeaction train-vae`` (see the module doc)."""

    dataset: str = option("", help="IRASim-layout dataset (videos are read)")
    out: str = option("", help="run folder")
    preset: str = option("f4", help="tiny, f4-small, f4 (64x64 -> 4x16x16), f8, f8-wide")
    latent_channels: int | None = option(None, help="latent channels instead of the preset's 4 (e.g. 8: finer "
                                         "detail, a wider DiT input); not with init_from")
    init_from: str | None = option(None, help="fine-tune this AutoencoderKL folder (an earlier run's vae/, the SDXL "
                                   "VAE) with its architecture; preset is then ignored")
    split: str = option("train", help="training split")
    val_split: str | None = option("val", help="held-out split")
    size: tuple[int, int] | None = option(None, help="resize frames to HxW (default: as stored)")
    max_frames: int = option(20000, help="training frames held in memory (evenly spread over the episodes)")
    val_frames: int = option(256, help="held-out frames for the metrics")
    crop: int | None = option(None, help="train on random crops of this size (e.g. 32: 4x cheaper on 64x64 frames)")
    steps: int = option(3000, help="optimizer steps")
    batch_size: int = option(16, help="frames per step")
    lr: float = option(1e-3, help="peak AdamW learning rate (cosine decay)")
    warmup_steps: int = option(100, help="linear warm-up steps")
    min_lr_ratio: float = option(0.1, help="cosine decay from lr to lr * min_lr_ratio at the last step")
    l1_weight: float = option(1.0, help="weight of the L1 term")
    mse_weight: float = option(1.0, help="weight of the MSE term")
    kl_weight: float = option(1e-6, help="weight of the mean KL term")
    edge_weight: float = option(0.0, help="extra weight on edges (e.g. 2)")
    focus_weight: float = option(0.0, help="extra weight inside the gripper window (e.g. 10; datasets that record "
                                 "the gripper's paint, arm world 2)")
    grad_clip: float = option(1.0, help="gradient-norm clipping")
    seed: int = option(0, help="seed of the batches, crops and posterior noise")
    save_every: int = option(500, help="checkpoint interval in steps (train-vae evaluates there too unless "
                            "eval_every is set)")
    eval_every: int = option(500, help="held-out evaluation interval in steps")
    device: str = option("auto", help="auto, cpu or cuda")
    progress: bool = option(True, help="show a progress bar")

    def __post_init__(self) -> None:
        if self.size is not None:
            self.size = tuple(int(v) for v in self.size)  # type: ignore[assignment]

    def validate(self) -> None:
        problems = []
        if not self.dataset:
            problems.append("dataset is required")
        if not self.out:
            problems.append("out is required")
        for name in ("steps", "batch_size", "save_every", "eval_every", "max_frames", "val_frames"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("l1_weight", "mse_weight", "kl_weight", "edge_weight", "focus_weight", "grad_clip",
                     "warmup_steps"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.crop is not None and self.crop < 8:
            problems.append(f"crop must be >= 8 pixels (or None), got {self.crop}")
        if self.latent_channels is not None and self.latent_channels < 1:
            problems.append(f"latent_channels must be >= 1, got {self.latent_channels}")
        if self.latent_channels is not None and self.init_from is not None:
            problems.append("latent_channels cannot change an init_from autoencoder's architecture")
        if self.l1_weight == 0 and self.mse_weight == 0:
            problems.append("l1_weight and mse_weight cannot both be 0")
        if self.lr <= 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if problems:
            raise InputError("invalid train-vae options: " + "; ".join(problems))
        if self.init_from is None:
            vae_preset(self.preset)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "options") -> VAETrainConfig:
        """A config from a mapping (a file's, or the flags'); unknown keys are refused by name."""
        return config_from_mapping(cls, d, origin=source, what="train-vae option")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["size"] = list(self.size) if self.size else None
        return d


# Options that change what a run computes (a resumed run must keep them).
TRAJECTORY_FIELDS = (
    "preset", "latent_channels", "init_from", "split", "size", "max_frames", "crop", "steps", "batch_size", "lr",
    "warmup_steps", "min_lr_ratio", "l1_weight", "mse_weight", "kl_weight", "edge_weight", "focus_weight",
    "grad_clip", "seed",
)


# -- data -----------------------------------------------------------------------------------------
@dataclass
class FrameSet:
    """Frames (N, H, W, 3) uint8 with each frame's background colour (N, 3) (-1 = unknown) and,
    where the episode records the gripper's paint, its gripper window (N, H, W) bool (else None)."""

    frames: np.ndarray
    background: np.ndarray
    gripper: np.ndarray | None = None


def _annotation(path: Path) -> dict[str, Any]:
    try:
        annotation = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return annotation if isinstance(annotation, dict) else {}


def _background(annotation: dict[str, Any]) -> np.ndarray:
    colour = annotation.get("table_color")
    if isinstance(colour, list) and len(colour) == 3:
        return np.asarray(colour, dtype=np.int16)
    return np.full(3, -1, dtype=np.int16)


def _gripper_windows(frames: np.ndarray, annotation: dict[str, Any]) -> np.ndarray | None:
    """(N, H, W) bool gripper windows of one episode's frames, None when it records no gripper paint."""
    paints = recorded_gripper_paints(annotation)
    if paints is None:
        return None
    h, w = frames.shape[1:3]
    side = gripper_window_side(h, w)
    return window_masks(gripper_window_corners(frames, paints, side), side, h, w)


def load_frames(root: str | Path, split: str, max_frames: int, size: tuple[int, int] | None = None,
                episodes: range | None = None, gripper: bool = True) -> FrameSet:
    """Up to ``max_frames`` frames of ``split``, spread evenly over (a range of) its episodes, with
    their gripper windows when ``gripper`` is asked for and every episode records the gripper's
    paint (finding them costs about 2 ms a frame)."""
    from freeaction.data.irasim import IRASimDataset

    if not is_irasim_root(root):
        raise DataError(f"{root}: not an IRASim-layout dataset (no annotation/); convert it with `freeaction data "
                        "convert` first")
    ds = IRASimDataset(root, split, num_frames=2, frames=True, latents=False, size=size)
    chosen = episodes if episodes is not None else range(ds.num_episodes)
    if len(chosen) == 0:
        raise DataError(f"{root}: split {split!r} has no episodes to take frames from")
    total = sum(len(ds.episode_actions(i)) + 1 for i in chosen)
    keep_every = max(1, math.ceil(total / max_frames))
    frames, backgrounds = [], []
    windows: list[np.ndarray] | None = [] if gripper else None
    for i in chosen:
        f = ds.episode(i).frames[::keep_every]
        annotation = _annotation(ds.annotation_path(i))
        frames.append(f)
        backgrounds.append(np.repeat(_background(annotation)[None], len(f), axis=0))
        if windows is not None:
            found = _gripper_windows(f, annotation)
            windows = None if found is None else [*windows, found]
    masks = None if windows is None else np.concatenate(windows)[:max_frames]
    return FrameSet(np.concatenate(frames)[:max_frames], np.concatenate(backgrounds)[:max_frames], masks)


def training_and_heldout(cfg: VAETrainConfig) -> tuple[FrameSet, FrameSet]:
    """Training frames (with their gripper windows only when ``focus_weight`` weighs them), and
    held-out frames (the val split, else the last tenth of the episodes), with their windows for
    ``psnr_gripper``."""
    splits = available_splits(cfg.dataset)
    if cfg.val_split and cfg.val_split in splits and cfg.val_split != cfg.split:
        return (load_frames(cfg.dataset, cfg.split, cfg.max_frames, cfg.size, gripper=cfg.focus_weight > 0),
                load_frames(cfg.dataset, cfg.val_split, cfg.val_frames, cfg.size))
    from freeaction.data.irasim import IRASimDataset

    n = IRASimDataset(cfg.dataset, cfg.split, num_frames=2, frames=False, latents=False).num_episodes
    if n < 2:
        raise DataError(f"{cfg.dataset}: need a {cfg.val_split!r} split or at least 2 episodes to hold frames out")
    cut = max(1, n - max(1, n // 10))
    return (load_frames(cfg.dataset, cfg.split, cfg.max_frames, cfg.size, range(cut), gripper=cfg.focus_weight > 0),
            load_frames(cfg.dataset, cfg.split, cfg.val_frames, cfg.size, range(cut, n)))


def to_unit(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    x = torch.as_tensor(frames)
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


# -- loss and metrics -----------------------------------------------------------------------------
def edge_map(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1]: the largest absolute difference to a 4-neighbour, over channels."""
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().amax(1, keepdim=True)
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().amax(1, keepdim=True)
    e = torch.zeros_like(x[:, :1])
    e[..., :, 1:] = torch.maximum(e[..., :, 1:], dx)
    e[..., :, :-1] = torch.maximum(e[..., :, :-1], dx)
    e[..., 1:, :] = torch.maximum(e[..., 1:, :], dy)
    e[..., :-1, :] = torch.maximum(e[..., :-1, :], dy)
    return e.clamp(max=1.0)


def vae_loss(vae: Any, x: torch.Tensor, cfg: VAETrainConfig, generator: torch.Generator | None,
             gripper: torch.Tensor | None = None) -> dict[str, Any]:
    """Reconstruction + KL loss of one batch (see the module doc), ``gripper`` (B, 1, H, W) the
    frames' gripper windows (0/1) that ``cfg.focus_weight`` weighs; returns the terms and the total."""
    posterior = vae.encode(x).latent_dist
    z = posterior.sample(generator=generator)
    rec = vae.decode(z).sample
    diff = rec - x
    per_pixel = cfg.l1_weight * diff.abs() + cfg.mse_weight * diff.pow(2)
    if cfg.edge_weight:
        per_pixel = per_pixel * (1.0 + cfg.edge_weight * edge_map(x))
    if cfg.focus_weight and gripper is not None:
        per_pixel = per_pixel * (1.0 + cfg.focus_weight * gripper)
    recon = per_pixel.mean()
    kl = 0.5 * (posterior.mean.pow(2) + posterior.var - 1.0 - posterior.logvar).mean()
    return {"loss": recon + cfg.kl_weight * kl, "recon": recon.detach(), "kl": kl.detach()}


def psnr(mse: float) -> float:
    return float("inf") if mse <= 0 else 10.0 * math.log10(255.0**2 / mse)


def object_mask(frames: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(N, H, W) True where a pixel is not background colour (per-frame most common colour if unknown)."""
    bg = background.astype(np.int16).copy()
    for k in np.nonzero((bg < 0).any(axis=1))[0]:
        colours, counts = np.unique(frames[k].reshape(-1, 3), axis=0, return_counts=True)
        bg[k] = colours[counts.argmax()]
    return (np.abs(frames.astype(np.int16) - bg[:, None, None, :]) > BACKGROUND_TOLERANCE).any(axis=-1)


def reconstruction_metrics(original: np.ndarray, recon: np.ndarray, background: np.ndarray,
                           gripper: np.ndarray | None = None) -> dict[str, float]:
    """PSNR (dB) over all pixels, over object (non-background) pixels and, given the frames'
    gripper windows (N, H, W) bool, over those, from pooled MSEs."""
    err = (original.astype(np.float64) - recon.astype(np.float64)) ** 2
    mask = object_mask(original, background)
    per_frame = err.reshape(len(err), -1).mean(1)
    metrics = {
        "psnr": psnr(float(err.mean())),
        "psnr_objects": psnr(float(err[mask].mean())) if mask.any() else float("nan"),
        "psnr_frame_min": psnr(float(per_frame.max())),
        "object_fraction": float(mask.mean()),
        "frames": int(len(original)),
    }
    if gripper is not None and gripper.any():
        metrics["psnr_gripper"] = psnr(float(err[gripper].mean()))
    return metrics


@torch.no_grad()
def scaling_factor(vae: Any, frames: np.ndarray, batch_size: int = 64, limit: int = 2048) -> float:
    """1 / std of the (unscaled) posterior means of up to ``limit`` frames, spread over ``frames``."""
    idx = evenly_spaced(len(frames), limit)
    device = next(vae.parameters()).device
    zs = [vae.encode(to_unit(frames[idx[i : i + batch_size]]).to(device)).latent_dist.mean.float().cpu()
          for i in range(0, len(idx), batch_size)]
    std = float(torch.cat(zs).std())
    if not math.isfinite(std) or std <= 0:
        raise FloatingPointError(f"latent std is {std}; the VAE collapsed")
    return 1.0 / std


def save_grid(original: np.ndarray, recon: np.ndarray, path: Path, columns: int = 8, scale: int = 3) -> Path:
    """Rows: originals, reconstructions, |error| x4; nearest-neighbour upscaled."""
    from PIL import Image

    idx = evenly_spaced(len(original), columns)
    err = np.clip(np.abs(original[idx].astype(np.int16) - recon[idx].astype(np.int16)) * 4, 0, 255).astype(np.uint8)
    rows = [np.concatenate(list(a), axis=1) for a in (original[idx], recon[idx], err)]
    grid = np.concatenate(rows, axis=0)
    img = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    with atomic_open(path) as f:
        img.save(f, format="PNG")
    return path


# -- state ----------------------------------------------------------------------------------------
def _save_vae_folder(vae: Any, folder: Path) -> None:
    write_dir_atomic(folder, lambda tmp: vae.save_pretrained(str(tmp), safe_serialization=True))


def _save_state(run: Path, vae: Any, optimizer: torch.optim.Optimizer, step: int, cfg: VAETrainConfig) -> None:
    from safetensors.torch import save_file

    tensors, optim_meta = optimizer_to_flat(optimizer.state_dict())
    weights = {f"vae.{k}": v.detach().cpu().contiguous() for k, v in vae.state_dict().items()}

    def write(tmp: Path) -> None:
        save_file({**weights, **tensors}, str(tmp / "state.safetensors"))
        meta = {"format": "freeaction-vae-train-state", "step": step, "optimizer": optim_meta,
                "config": cfg.to_dict(), "vae_config": dict(vae.config)}
        (tmp / "state.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")

    write_dir_atomic(run / STATE_DIR, write)


def _load_state(run: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]] | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = run / STATE_DIR
    recover_dir(folder)
    if not folder.is_dir():
        return None
    try:
        meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(folder / "state.safetensors"))
        optimizer = optimizer_from_flat(tensors, meta["optimizer"])
    except (OSError, json.JSONDecodeError, SafetensorError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{folder}: corrupt VAE training state ({exc}); delete it to start over") from exc
    weights = {k[4:]: v for k, v in tensors.items() if k.startswith("vae.")}
    return weights, optimizer, meta


# -- the loop -------------------------------------------------------------------------------------
def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


@torch.no_grad()
def evaluate(vae: Any, heldout: FrameSet, batch_size: int = 64) -> tuple[dict[str, float], np.ndarray]:
    """Metrics on held-out frames through the posterior mean, and the uint8 reconstructions."""
    from freeaction.vae.autoencoder import decode, encode

    was_training = vae.training
    vae.eval()
    recon = decode(vae, encode(vae, heldout.frames, batch_size=batch_size), batch_size=batch_size)
    vae.train(was_training)
    return reconstruction_metrics(heldout.frames, recon, heldout.background, heldout.gripper), recon


def train_vae(cfg: VAETrainConfig, *, resume: bool = True) -> dict[str, Any]:
    """Train (or continue) a VAE; returns the held-out metrics, scaling factor and paths."""
    cfg.validate()
    run = Path(cfg.out)
    device = _device(cfg.device)
    train_set, heldout = training_and_heldout(cfg)
    if cfg.focus_weight and train_set.gripper is None:
        raise DataError(f"{cfg.dataset}: focus_weight needs the gripper's paint in every episode's annotation "
                        "(sim.gripper_rgba, arm world 2); this dataset does not record it")
    h, w = train_set.frames.shape[1:3]
    vae, config = _initial_vae(cfg, h, w)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=cfg.lr, weight_decay=0.0)
    start = _resume(run, cfg, vae, optimizer, resume)
    vae.to(device).train()
    for state in optimizer.state.values():
        for k, v in state.items():
            if isinstance(v, torch.Tensor) and k != "step":
                state[k] = v.to(device)
    run.mkdir(parents=True, exist_ok=True)

    last = _train_steps(cfg, vae, optimizer, train_set, heldout, start, device)

    if not last:  # already finished: report on what is there
        from freeaction.vae.autoencoder import load_vae

        vae = load_vae(run / VAE_DIR, device=device)
        metrics, _ = evaluate(vae, heldout)
        last = {"step": start, "scaling_factor": vae.config.scaling_factor, **metrics}
    f = downsample_factor(config)
    result = {**last, "vae": str(run / VAE_DIR), "grid": str(run / GRID_FILE),
              "preset": cfg.preset if cfg.init_from is None else f"from {cfg.init_from}",
              "latent_shape": [config["latent_channels"], h // f, w // f]}
    (run / METRICS_FILE).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def _train_steps(cfg: VAETrainConfig, vae: Any, optimizer: torch.optim.Optimizer, train_set: FrameSet,
                 heldout: FrameSet, start: int, device: torch.device) -> dict[str, Any]:
    """Steps ``start``..``cfg.steps - 1``; returns the last checkpoint's log entry ({} if none was due)."""
    from tqdm.auto import tqdm

    run = Path(cfg.out)
    frames_t = torch.from_numpy(train_set.frames)
    gripper_t = None if train_set.gripper is None else torch.from_numpy(train_set.gripper)  # focus_weight > 0 only
    bar = tqdm(total=cfg.steps, initial=start, disable=not cfg.progress, unit="step", dynamic_ncols=True)
    last: dict[str, Any] = {}
    t0, seen = time.perf_counter(), 0
    with JsonLog(run / LOG_FILE) as log:
        try:
            for step in range(start, cfg.steps):
                g = torch.Generator().manual_seed(step_seed(cfg.seed, step))
                x, gripper = _batch(frames_t, cfg, g, device, gripper_t)
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, cfg.lr, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio)
                terms = vae_loss(vae, x, cfg, g if device.type == "cpu" else None, gripper)
                terms["loss"].backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(vae.parameters(), cfg.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                seen += cfg.batch_size
                done = step + 1
                if done % 10 == 0 or done == cfg.steps:
                    fps = seen / max(time.perf_counter() - t0, 1e-9)
                    log.write({"step": done, "loss": terms["loss"].item(), "recon": terms["recon"].item(),
                               "kl": terms["kl"].item(), "frames_per_s": fps})
                    bar.set_postfix(loss=f"{terms['loss'].item():.4f}", frames_s=f"{fps:.0f}",
                                    psnr=f"{last.get('psnr', float('nan')):.1f}")
                if done % cfg.save_every == 0 or done % cfg.eval_every == 0 or done == cfg.steps:
                    last = _checkpoint(run, vae, optimizer, done, cfg, train_set, heldout)
                    log.write(last)
                bar.update(1)
        finally:
            bar.close()
    return last


def _batch(frames_t: torch.Tensor, cfg: VAETrainConfig, g: torch.Generator, device: torch.device,
           gripper_t: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The frames of one step in [-1, 1] (B, 3, H, W), randomly cropped with ``cfg.crop``, and
    their gripper windows (B, 1, H, W) as 0/1 floats (None without ``gripper_t``); drawn from ``g``."""
    h, w = frames_t.shape[1:3]
    idx = torch.randint(0, len(frames_t), (cfg.batch_size,), generator=g)
    x = to_unit(frames_t[idx]).to(device)
    gripper = None if gripper_t is None else gripper_t[idx, None].float().to(device)
    if cfg.crop and cfg.crop < min(h, w):
        top, left = (int(torch.randint(0, n - cfg.crop + 1, (1,), generator=g)) for n in (h, w))
        x = x[..., top : top + cfg.crop, left : left + cfg.crop]
        if gripper is not None:
            gripper = gripper[..., top : top + cfg.crop, left : left + cfg.crop]
    return x, gripper


def _checkpoint(run: Path, vae: Any, optimizer: torch.optim.Optimizer, step: int, cfg: VAETrainConfig,
                train_set: FrameSet, heldout: FrameSet) -> dict[str, Any]:
    """Set the scaling factor, measure the held-out frames, save ``vae/``, the training state and
    the grid; returns the log entry."""
    vae.eval()
    vae.register_to_config(scaling_factor=scaling_factor(vae, train_set.frames))
    metrics, recon = evaluate(vae, heldout)
    vae.train()
    _save_vae_folder(vae, run / VAE_DIR)
    _save_state(run, vae, optimizer, step, cfg)
    save_grid(heldout.frames, recon, run / GRID_FILE)
    return {"step": step, "scaling_factor": vae.config.scaling_factor, **metrics}


def _initial_vae(cfg: VAETrainConfig, h: int, w: int) -> tuple[Any, dict[str, Any]]:
    """The autoencoder to start from (``init_from``'s, or a fresh ``preset`` seeded with ``cfg.seed``)
    and its config; DataError when (h, w) or the crop is not a multiple of its downsampling factor."""
    from diffusers import AutoencoderKL

    if cfg.init_from is not None:
        from freeaction.vae.autoencoder import load_vae

        initial = load_vae(cfg.init_from)
        config = dict(initial.config)
    else:
        channels = {} if cfg.latent_channels is None else {"latent_channels": cfg.latent_channels}
        initial, config = None, vae_preset(cfg.preset, sample_size=int(max(h, w)), **channels)
    f = downsample_factor(config)
    if h % f or w % f or (cfg.crop and cfg.crop % f):
        raise DataError(f"{cfg.dataset}: frames are {h}x{w}, (crop {cfg.crop}) not divisible by the "
                        f"{cfg.init_from or cfg.preset} VAE's factor {f}; pass --size / --crop with multiples of it")
    torch.manual_seed(cfg.seed)
    vae = AutoencoderKL(**config) if initial is None else initial.train()
    return vae, config


def _resume(run: Path, cfg: VAETrainConfig, vae: Any, optimizer: torch.optim.Optimizer, resume: bool) -> int:
    """Load the saved training state of ``run`` into ``vae`` and ``optimizer``; returns its step (0 if none)."""
    saved = _load_state(run) if resume else None
    if saved is None and not resume and (run / STATE_DIR).exists():
        raise InputError(f"{run}: already holds a VAE training state; resume or choose a new output folder")
    if saved is None:
        return 0
    weights, optim_state, meta = saved
    old = meta.get("config", {})
    defaults = VAETrainConfig().to_dict()  # what a state saved before an option existed ran with
    diffs = [f"{k}: {old.get(k, defaults[k])!r} -> {cfg.to_dict()[k]!r}" for k in TRAJECTORY_FIELDS
             if json.dumps(old.get(k, defaults[k])) != json.dumps(cfg.to_dict()[k])]
    if diffs:
        raise InputError(f"{run / STATE_DIR}: saved with other options ({'; '.join(diffs)}); use them again "
                         "or a new output folder")
    try:
        vae.load_state_dict(weights, strict=True)
        optimizer.load_state_dict(optim_state)
    except (RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{run / STATE_DIR}: does not match the {cfg.preset} VAE ({exc})") from exc
    return int(meta["step"])
