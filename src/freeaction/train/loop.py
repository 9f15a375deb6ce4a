"""The training loop of ``freeaction train``: IRASim's recipe on pre-encoded latents, via accelerate.

    from freeaction.train import TrainConfig, train
    summary = train(TrainConfig(dataset="data/pusher", out="runs/p", model="tiny", num_frames=8))

One step (SPEC 2): a batch of windows of ``num_frames`` scaled latents and their
``num_frames - 1`` actions; t uniform in [0, 1000); x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps for
every frame, then frame 0 is put back clean; the model predicts eps from (x_t, t, actions) with
the learned null condition in place of the actions for a ``null_prob`` fraction of samples;
the loss is the MSE on frames 1..F-1 (optionally Min-SNR-gamma weighted per sample and with
extra weight on latent cells that move); AdamW, gradient clipping, EMA.

Runs on one CPU, one GPU or several processes (``accelerate launch --num_processes N
[--cpu] -m freeaction.cli train ...``; DistributedDataParallel averages the gradients, so all
ranks hold the same weights).

Exact resumption: nothing random is carried from step to step. The windows of step s are
fixed by (seed, s) (a fresh permutation of the windows per epoch, walked in order by the
global batch) and the noise, t and null-condition draws of step s come from a generator
seeded with (seed, s, rank). A run resumed from the checkpoint of step k therefore repeats,
bit for bit on the same machine, what the uninterrupted run did after step k.

Action-use tracking: every ``action_check_every`` steps, on a fixed batch of validation
windows with fixed noise and t, the denoising loss with the true actions is compared with the
loss with actions shuffled across the clips (and with the null condition). A ratio
shuffled/true near 1 means the model ignores its actions, which makes FreeAction's guidance
meaningless; it should rise clearly above 1 as training proceeds.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from freeaction.data.irasim_layout import ENCODE_MARKER, is_irasim_root
from freeaction.diffusion.schedulers import BETA_END, BETA_START, NUM_TRAIN_TIMESTEPS
from freeaction.errors import CheckpointError, DataError, InputError
from freeaction.files import atomic_open, clean_temp_files, recover_dir, write_dir_atomic, write_text_atomic
from freeaction.model import ModelConfig, VideoDiT, load_model, preset
from freeaction.train.checkpoint import MODEL_DIR, latest_checkpoint, load_checkpoint, save_checkpoint
from freeaction.train.config import TrainConfig, config_differences
from freeaction.train.ema import EMA
from freeaction.vae.autoencoder import vae_folder

LOG_FILE = "log.jsonl"
PLOT_FILE = "loss.png"
CONFIG_FILE = "train_config.yaml"


# -- diffusion ------------------------------------------------------------------------------------
def noise_schedule() -> tuple[torch.Tensor, torch.Tensor]:
    """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) for t = 0..999, computed in float64 as IRASim does."""
    betas = np.linspace(BETA_START, BETA_END, NUM_TRAIN_TIMESTEPS, dtype=np.float64)
    alpha_bar = np.cumprod(1.0 - betas)
    return torch.from_numpy(np.sqrt(alpha_bar)), torch.from_numpy(np.sqrt(1.0 - alpha_bar))


_SQRT_AB, _SQRT_1MAB = noise_schedule()


def diffusion_loss(
    model: torch.nn.Module,
    x0: torch.Tensor,
    actions: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    null: torch.Tensor | None = None,
    *,
    min_snr_gamma: float | None = None,
    moving_weight: float = 1.0,
    moving_threshold: float = 0.1,
    autocast_dtype: torch.dtype | None = None,
    reduce: bool = True,
) -> torch.Tensor:
    """The epsilon-prediction loss on frames 1..F-1 with a clean frame 0 (IRASim's ``mask_frame_num=1``).

    x0: (B, F, C, h, w) scaled latents; actions: (B, F-1, A); t: (B,) integer timesteps;
    noise: like x0; null: (B,) bool, samples whose condition is replaced by the null embedding.
    Returns the mean loss, or the per-sample losses (B,) with ``reduce=False``.
    """
    err = epsilon_errors(model, x0, actions, t, noise, null, autocast_dtype=autocast_dtype)
    if moving_weight != 1.0:
        err = err * (1.0 + (moving_weight - 1.0) * moving_cells(x0, moving_threshold).float())
    per_sample = err.mean(dim=(1, 2, 3, 4))
    if min_snr_gamma is not None:
        snr = (_SQRT_AB[t.cpu()].float().to(x0.device) / _SQRT_1MAB[t.cpu()].float().to(x0.device)).pow(2)
        per_sample = per_sample * snr.clamp(max=min_snr_gamma) / snr
    return per_sample.mean() if reduce else per_sample


def epsilon_errors(
    model: torch.nn.Module,
    x0: torch.Tensor,
    actions: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    null: torch.Tensor | None = None,
    *,
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Squared epsilon errors (B, F-1, C, h, w) of frames 1..F-1, noised to ``t`` with a clean frame 0."""
    sa = _SQRT_AB[t.cpu()].float().to(x0.device).view(-1, 1, 1, 1, 1)
    s1 = _SQRT_1MAB[t.cpu()].float().to(x0.device).view(-1, 1, 1, 1, 1)
    x_t = sa * x0 + s1 * noise
    x_t = torch.cat([x0[:, :1], x_t[:, 1:]], dim=1)
    ctx = torch.autocast(x0.device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
    with ctx:
        eps = model(x_t, t, actions, null_condition=null)
    return (eps.float()[:, 1:, : x0.shape[2]] - noise[:, 1:]).pow(2)


def moving_cells(x0: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """(B, F-1, 1, h, w) bool: latent cells of frames 1..F-1 that changed from the previous frame
    (mean absolute change over channels above ``threshold``)."""
    return (x0[:, 1:] - x0[:, :-1]).abs().mean(dim=2, keepdim=True) > threshold


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The generator of step ``step`` on ``rank``: t, noise and null-condition draws."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(step)) * 1024 + int(rank))


def draw_step(
    g: torch.Generator, shape: tuple[int, ...], null_prob: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, noise, null) for one local batch of latents of ``shape``."""
    b = shape[0]
    t = torch.randint(0, NUM_TRAIN_TIMESTEPS, (b,), generator=g)
    noise = torch.randn(shape, generator=g)
    null = torch.rand(b, generator=g) < null_prob
    return t, noise, null


# -- data -----------------------------------------------------------------------------------------
class LatentWindows(Dataset):
    """(latents (F, C, h, w), actions (F-1, A)) windows of a reader that holds latents."""

    def __init__(self, reader: Any, cache: bool = True) -> None:
        self.reader = reader
        self.num_frames = reader.num_frames
        self.cache: dict[int, tuple[torch.Tensor, np.ndarray]] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cache is None:
            clip = self.reader[k]
            return clip.latents.float(), torch.from_numpy(clip.actions)
        i, start = self.reader.windows[k]
        if i not in self.cache:
            episode = self.reader.episode(i)
            self.cache[i] = (episode.latents.float(), episode.actions)
        lat, act = self.cache[i]
        n = self.num_frames
        return lat[start : start + n], torch.from_numpy(np.ascontiguousarray(act[start : start + n - 1]))


class WindowOrder:
    """Window index at a position of the endless stream: a fresh permutation per epoch."""

    def __init__(self, num_windows: int, seed: int) -> None:
        self.n = int(num_windows)
        self.seed = int(seed)
        self._perms: dict[int, torch.Tensor] = {}

    def __call__(self, position: int) -> int:
        epoch, k = divmod(int(position), self.n)
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._perms[epoch] = torch.randperm(self.n, generator=g)
        return int(self._perms[epoch][k])


class StepBatches:
    """Batch sampler: the local batch indices of steps ``start``..``stop - 1`` on ``rank``."""

    def __init__(self, order: WindowOrder, batch_size: int, world_size: int, rank: int, start: int, stop: int):
        self.order, self.b, self.world, self.rank = order, batch_size, world_size, rank
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        g = self.b * self.world
        for step in range(self.start, self.stop):
            base = step * g + self.rank * self.b
            yield [self.order(base + j) for j in range(self.b)]


def open_training_data(cfg: TrainConfig, split: str | None = None) -> Any:
    """The IRASim-layout reader of ``split`` (default the training split), loading latents."""
    from freeaction.data.irasim import IRASimDataset

    if not Path(cfg.dataset).exists():
        raise DataError(f"{cfg.dataset}: no such dataset")
    if not is_irasim_root(cfg.dataset):
        raise DataError(
            f"{cfg.dataset}: training reads pre-encoded latents, which only the IRASim layout (annotation/, "
            "latent_videos/) holds; convert the dataset (`freeaction data convert`) and run `freeaction encode`"
        )
    return IRASimDataset(
        cfg.dataset, split or cfg.split, num_frames=cfg.num_frames, stride=cfg.stride, frames=False, latents=True
    )


def check_nonempty(reader: Any, cfg: TrainConfig) -> None:
    if reader.num_episodes == 0:
        raise DataError(f"{cfg.dataset}: split {reader.split!r} has no episodes; nothing to train on")
    if len(reader) == 0:
        longest = max(reader.window_frames(i) for i in range(reader.num_episodes))
        raise DataError(
            f"{cfg.dataset}: split {reader.split!r} has no window of {cfg.num_frames} frames "
            f"({reader.num_episodes} episodes, the longest has {longest} usable frames); "
            "lower num_frames or add longer episodes"
        )


def check_data_matches(config: ModelConfig, latents: torch.Tensor, action_dim: int, source: str) -> None:
    """DataError when windows of this dataset cannot be fed to a model of ``config``."""
    _, c, h, w = latents.shape
    problems = []
    if action_dim != config.action_dim:
        problems.append(f"actions are {action_dim}-D but the model takes {config.action_dim}-D actions")
    if c != config.in_channels or (h, w) != tuple(config.latent_size):
        problems.append(
            f"latents are {c}x{h}x{w} (channels x height x width) but the model takes "
            f"{config.in_channels}x{config.latent_size[0]}x{config.latent_size[1]} "
            "(encode the dataset with a matching VAE/frame size, or set model_options.latent_size)"
        )
    if len(latents) > config.num_frames or (config.condition == "video" and len(latents) != config.num_frames):
        problems.append(f"windows have {len(latents)} frames but the model takes {config.num_frames}")
    if problems:
        raise DataError(f"{source}: dataset does not match the model: " + "; ".join(problems))


def build_model(cfg: TrainConfig, latents: torch.Tensor, action_dim: int, resuming: Path | None = None) -> VideoDiT:
    """The model to train: from ``init_from`` weights, or a fresh preset sized from the data.
    ``resuming``: a checkpoint the run continues from, whose saved model gives the architecture
    (its weights are replaced by the checkpoint's, so ``init_from`` need not exist any more)."""
    if resuming is not None:
        model = load_model(resuming / MODEL_DIR)
    elif cfg.init_from:
        grow = {k: v for k, v in cfg.model_options.items() if k in VideoDiT.GROWABLE}
        model = load_model(cfg.init_from, **{k: v for k, v in cfg.model_options.items() if k not in grow})
        grow = {k: v for k, v in grow.items() if getattr(model.config, k) != v}
        if grow:
            torch.manual_seed(cfg.seed)
            try:
                model = model.grown(**grow)
            except ValueError as exc:
                raise InputError(f"init_from {cfg.init_from} with model_options {grow}: {exc}") from exc
    else:
        _, c, h, w = latents.shape
        opts: dict[str, Any] = {"latent_size": (h, w), **cfg.model_options}
        opts.setdefault("action_embedder", "linear" if action_dim == 2 else "mlp")  # IRASim's choice
        try:
            model_config = preset(cfg.model, action_dim=action_dim, in_channels=c, num_frames=cfg.num_frames, **opts)
        except (ValueError, TypeError) as exc:
            raise InputError(f"model {cfg.model!r} with options {cfg.model_options}: {exc}") from exc
        torch.manual_seed(cfg.seed)
        model = VideoDiT(model_config)
    if model.config.learn_sigma:
        raise InputError("learn_sigma models are not trained here (IRASim's variance loss is not implemented)")
    check_data_matches(model.config, latents, action_dim, cfg.dataset)
    return model.train()


def action_stats_for(reader: Any, cfg: TrainConfig) -> dict[str, Any]:
    """The dataset's saved statistics if they were made for these windows, else computed now."""
    from freeaction.data.stats import compute_stats

    stats = getattr(reader, "stats", None)
    if stats and stats.get("num_frames") == cfg.num_frames and stats.get("split") == cfg.split:
        return stats
    return compute_stats(reader)


def vae_of_dataset(dataset: str | Path) -> str | None:
    """The VAE folder ``freeaction encode`` recorded for this dataset, if it still exists."""
    marker = Path(dataset) / ENCODE_MARKER
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
        vae = json.loads(marker.read_text(encoding="utf-8")).get("vae")
        if vae and Path(vae).is_dir():
            return str(vae)
    return None


# -- action-use check -----------------------------------------------------------------------------
class ActionCheck:
    """Denoising loss with true vs shuffled actions on a fixed batch (same noise, same t).

    ``action_ratio`` is over every latent cell; ``action_ratio_moving`` only over the cells that
    change between consecutive frames (what the actions decide; a few percent of a robot scene),
    so it shows action use long before the whole-frame ratio moves.
    """

    def __init__(self, reader: Any, clips: int, seed: int, device: torch.device) -> None:
        k = min(clips, len(reader))
        idx = sorted({int(round(v)) for v in np.linspace(0, len(reader) - 1, k)})
        data = LatentWindows(reader, cache=False)
        items = [data[i] for i in idx]
        self.x0 = torch.stack([a for a, _ in items]).to(device)
        self.actions = torch.stack([b for _, b in items]).to(device)
        n = len(idx)
        g = torch.Generator().manual_seed(int(seed) + 4242)
        self.noise = torch.randn(self.x0.shape, generator=g).to(device)
        # stratified t over [0, 1000) so every noise level is represented
        self.t = ((torch.arange(n) + 0.5) * NUM_TRAIN_TIMESTEPS / n).long().to(device)
        # pair every clip with one half the batch away (evenly spaced clips: another episode)
        self.shuffled = torch.roll(self.actions, shifts=max(n // 2, 1), dims=0)
        self.moving = moving_cells(self.x0)

    def _errors(self, model: torch.nn.Module, actions: torch.Tensor, null: torch.Tensor | None,
                autocast_dtype: torch.dtype | None) -> tuple[float, float]:
        """(loss over all cells, as ``diffusion_loss``; loss over the moving cells) from one forward."""
        err = epsilon_errors(model, self.x0, actions, self.t, self.noise, null, autocast_dtype=autocast_dtype)
        per_cell = err.mean(dim=2, keepdim=True)
        moving = float((per_cell * self.moving).sum() / self.moving.sum().clamp(min=1))
        return err.mean(dim=(1, 2, 3, 4)).mean().item(), moving

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, autocast_dtype: torch.dtype | None = None) -> dict[str, float]:
        was_training = model.training
        model.eval()
        true, moving_true = self._errors(model, self.actions, None, autocast_dtype)
        shuffled, moving_shuffled = self._errors(model, self.shuffled, None, autocast_dtype)
        null = torch.ones(len(self.x0), dtype=torch.bool, device=self.x0.device)
        uncond, _ = self._errors(model, self.actions, null, autocast_dtype)
        result = {
            "val_loss": true,
            "val_loss_shuffled": shuffled,
            "val_loss_null": uncond,
            "action_ratio": shuffled / max(true, 1e-12),
        }
        if bool(self.moving.any()):
            result["action_ratio_moving"] = moving_shuffled / max(moving_true, 1e-12)
        model.train(was_training)
        return result


# -- logs and plots -------------------------------------------------------------------------------
def read_log(run: Path) -> list[dict[str, Any]]:
    path = Path(run) / LOG_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def train_seconds(run: Path, up_to_step: int | None = None) -> float:
    """Wall time of the optimizer steps up to ``up_to_step``, summed from the log's throughput
    (each entry covers the steps since the previous one); resumptions and pauses between
    sessions do not count, evaluation and checkpoint writing inside an interval do."""
    import yaml

    cfg_file = Path(run) / CONFIG_FILE
    batch = int(yaml.safe_load(cfg_file.read_text(encoding="utf-8"))["batch_size"]) if cfg_file.is_file() else 1
    latest = latest_checkpoint(Path(run))
    world = 1
    if latest is not None:
        with contextlib.suppress(OSError, ValueError):
            world = int(json.loads((latest / "train_state.json").read_text(encoding="utf-8")).get("world_size", 1))
    total, prev = 0.0, 0
    for e in read_log(run):
        if "samples_per_s" not in e or (up_to_step is not None and e["step"] > up_to_step):
            continue
        total += (e["step"] - prev) * batch * world / max(float(e["samples_per_s"]), 1e-9)
        prev = e["step"]
    return total


def truncate_log(run: Path, step: int) -> None:
    """Keep only the log entries up to ``step`` (a resumed run rewrites what came after)."""
    entries = [e for e in read_log(run) if e.get("step", 0) <= step]
    write_text_atomic(Path(run) / LOG_FILE, "".join(json.dumps(e) + "\n" for e in entries))


def plot_log(run: Path, out: Path | None = None) -> Path | None:
    """Loss curve (log scale, with a running mean) and the action ratio on a second axis."""
    entries = read_log(run)
    train = [e for e in entries if "loss" in e]
    checks = [e for e in entries if "action_ratio" in e]
    if not train and not checks:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        steps = np.array([e["step"] for e in train])
        loss = np.array([e["loss"] for e in train])
        ax.plot(steps, loss, color="#4c72b0", alpha=0.35, lw=1, label="train loss")
        k = max(1, len(loss) // 30)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, color="#4c72b0", lw=2, label=f"running mean ({k})")
    if checks:
        ax.plot([e["step"] for e in checks], [e["val_loss"] for e in checks], "o-", color="#55a868",
                ms=3, label="val loss (true actions)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("epsilon MSE")
    lines, labels = ax.get_legend_handles_labels()
    if checks:
        ax2 = ax.twinx()
        ax2.plot([e["step"] for e in checks], [e["action_ratio"] for e in checks], "s-", color="#c44e52",
                 ms=3, label="action ratio (shuffled / true)")
        moving = [e for e in checks if "action_ratio_moving" in e]
        if moving:
            ax2.plot([e["step"] for e in moving], [e["action_ratio_moving"] for e in moving], "^-", color="#dd8452",
                     ms=3, label="action ratio, moving cells")
        ax2.axhline(1.0, color="#c44e52", ls=":", lw=1)
        ax2.set_ylabel("loss ratio, shuffled / true actions")
        l2, lb2 = ax2.get_legend_handles_labels()
        lines, labels = lines + l2, labels + lb2
    ax.legend(lines, labels, loc="upper right", fontsize=8)
    ax.set_title(Path(run).name)
    fig.tight_layout()
    out = out or Path(run) / PLOT_FILE
    with atomic_open(out) as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out


# -- the loop -------------------------------------------------------------------------------------
def _accelerator(cfg: TrainConfig) -> Any:
    from accelerate import Accelerator

    if cfg.device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    # without cpu=True, accelerate does not form a process group of CPU processes (torchrun,
    # accelerate launch with MPI) and every process would train alone into the same folder
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    return Accelerator(cpu=cpu, mixed_precision="no")


def train(cfg: TrainConfig, *, resume: bool | str = "auto", allow_config_change: bool = False) -> dict[str, Any]:
    """Train (or continue training) a world model; returns a summary of the run.

    resume: ``"auto"`` continues from the newest checkpoint in ``cfg.out`` if there is one;
        ``True`` requires one; ``False`` refuses a run folder that already has checkpoints;
        a path resumes from that checkpoint folder.
    allow_config_change: resume even if trajectory-changing options differ from the saved ones.
    """
    cfg.validate()
    run = Path(cfg.out)
    accelerator = _accelerator(cfg)
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process
    autocast_dtype = torch.bfloat16 if cfg.bf16 else None

    # data and model
    reader = open_training_data(cfg)
    check_nonempty(reader, cfg)
    first = LatentWindows(reader, cache=False)[0]

    # resume
    state = None
    if main:
        run.mkdir(parents=True, exist_ok=True)
        clean_temp_files(run / "checkpoints")
    accelerator.wait_for_everyone()
    if isinstance(resume, (str, Path)) and resume != "auto":
        state = load_checkpoint(Path(resume))
    elif resume in ("auto", True):
        latest = latest_checkpoint(run)
        if latest is not None:
            state = load_checkpoint(latest)
        elif resume is True:
            raise InputError(f"{run}: no checkpoint to resume from")
    elif latest_checkpoint(run) is not None:
        raise InputError(f"{run}: already holds checkpoints; resume, or choose a new output folder")
    model = build_model(cfg, first[0], reader.action_dim, resuming=state.path if state is not None else None)
    action_stats = action_stats_for(reader, cfg)
    ema = EMA(model, cfg.ema_decay, cfg.ema_warmup)
    start = 0
    if state is not None:
        diffs = config_differences(state.meta.get("config", {}), cfg)
        saved_world = state.meta.get("world_size", world)
        if saved_world != world:
            diffs.append(f"world size: {saved_world} -> {world} processes")
        if diffs and not allow_config_change:
            raise InputError(
                f"{state.path}: the run was made with other options, so resuming would not continue it: "
                + "; ".join(diffs) + " (use the saved options, a new output folder, or --allow-config-change)"
            )
        try:
            model.load_state_dict(state.model, strict=True)
            ema.load_shadow(state.ema, state.ema_updates)
        except (RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{state.path}: does not match the model being trained ({exc})") from exc
        start = state.step

    model.to(device)  # before the optimizer: load_state_dict puts its state on the parameters' device
    for k, v in ema.shadow.items():
        ema.shadow[k] = v.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps, weight_decay=cfg.weight_decay
    )
    if state is not None:
        try:
            optimizer.load_state_dict(state.optimizer)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{state.path}: optimizer state does not match the model ({exc})") from exc
        if "torch_cpu" in state.rng:
            torch.set_rng_state(state.rng["torch_cpu"])
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model)

    data = LatentWindows(reader, cache=cfg.cache_latents)
    order = WindowOrder(len(data), cfg.seed)
    batches = StepBatches(order, cfg.batch_size, world, rank, start, cfg.max_steps)
    loader = DataLoader(data, batch_sampler=batches, num_workers=cfg.num_workers,
                        persistent_workers=False, pin_memory=device.type == "cuda")

    check = None
    if main and cfg.action_check_every:
        val = reader
        if cfg.val_split and cfg.val_split != cfg.split:
            with contextlib.suppress(DataError):
                candidate = open_training_data(cfg, cfg.val_split)
                if len(candidate) >= 2:
                    val = candidate
        check = ActionCheck(val, cfg.action_check_clips, cfg.seed, device)

    if main:
        import yaml

        (run / CONFIG_FILE).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
        truncate_log(run, start)
    log = open(run / LOG_FILE, "a", encoding="utf-8") if main else None  # noqa: SIM115

    def save(step: int, last: dict[str, Any]) -> None:
        save_checkpoint(
            run,
            step,
            model=raw_model,
            ema_weights=ema.weights_for(raw_model),
            ema_updates=ema.num_updates,
            optimizer_state=optimizer.state_dict(),
            config=cfg.to_dict(),
            action_stats=action_stats,
            extra={"world_size": world, "dataset": str(Path(cfg.dataset).resolve()), "last_log": last},
            keep=cfg.keep_checkpoints,
        )
        plot_log(run)

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.max_steps, initial=start, disable=not (main and cfg.progress), unit="step",
               dynamic_ncols=True)
    global_batch = cfg.batch_size * world
    step, last, ratio = start, {}, math.nan
    loss_sum, loss_n, t_mark, step_mark = torch.zeros((), device=device), 0, time.perf_counter(), start
    try:
        for x0, actions in loader:
            x0, actions = x0.to(device, non_blocking=True), actions.to(device, non_blocking=True)
            t, noise, null = draw_step(step_generator(cfg.seed, step, rank), tuple(x0.shape), cfg.null_prob)
            lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else cfg.lr
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = diffusion_loss(
                model, x0, actions, t.to(device), noise.to(device), null.to(device),
                min_snr_gamma=cfg.min_snr_gamma, moving_weight=cfg.moving_weight,
                moving_threshold=cfg.moving_threshold, autocast_dtype=autocast_dtype,
            )
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower lr or disable bf16")
            accelerator.backward(loss)
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip) if cfg.grad_clip else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ema.update(raw_model)
            step += 1
            loss_sum += loss.detach()
            loss_n += 1

            if step % cfg.log_every == 0 or step == cfg.max_steps:
                mean_loss = accelerator.reduce(loss_sum / loss_n, reduction="mean").item()
                now = time.perf_counter()
                sps = (step - step_mark) * global_batch / max(now - t_mark, 1e-9)
                last = {"step": step, "loss": mean_loss, "lr": lr, "samples_per_s": sps}
                if grad_norm is not None:
                    last["grad_norm"] = float(grad_norm)
                loss_sum.zero_()
                loss_n, t_mark, step_mark = 0, now, step
                if log is not None:
                    log.write(json.dumps(last) + "\n")
                    log.flush()
                bar.set_postfix(loss=f"{mean_loss:.4f}", samples_s=f"{sps:.1f}", action_ratio=f"{ratio:.3f}")
            if check is not None and (step % cfg.action_check_every == 0 or step == cfg.max_steps):
                result = {"step": step, **check(raw_model, autocast_dtype)}
                ratio = result["action_ratio"]
                log.write(json.dumps(result) + "\n")
                log.flush()
                last = {**last, **result}
            if step % cfg.save_every == 0 or step == cfg.max_steps:
                if main:
                    save(step, last)
                accelerator.wait_for_everyone()
            bar.update(1)
    finally:
        bar.close()
        if log is not None:
            log.close()

    summary: dict[str, Any] = {"run": str(run), "step": step, "world_size": world, "resumed_from": start}
    if main:
        final = latest_checkpoint(run)
        if final is not None:
            summary["model"] = str(export_model(run, final, cfg.vae or vae_of_dataset(cfg.dataset)))
        plot = plot_log(run)
        summary["plot"] = str(plot) if plot else None
        summary.update({k: v for k, v in last.items() if k != "step"})
        summary["mu_act"] = action_stats.get("mu_act")
    accelerator.wait_for_everyone()
    return summary


def export_model(run: Path, checkpoint: Path, vae: str | None = None) -> Path:
    """``run/model``: the checkpoint's EMA model (+ the VAE in ``vae/``), what ``generate`` loads."""
    final = Path(run) / MODEL_DIR
    recover_dir(final)

    def write(tmp: Path) -> None:
        for f in (checkpoint / MODEL_DIR).iterdir():
            shutil.copy2(f, tmp / f.name)
        if vae:
            shutil.copytree(vae_folder(vae), tmp / "vae", ignore=shutil.ignore_patterns("train_state*", ".*"))

    return write_dir_atomic(final, write)
