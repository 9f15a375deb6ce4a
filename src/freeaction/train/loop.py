"""The training loop of ``freeaction train``: IRASim's recipe on pre-encoded latents, via accelerate.

    from freeaction.train import TrainConfig, train
    summary = train(TrainConfig(dataset="data/pusher", out="runs/p", model="tiny", num_frames=8))

Each step: set the lr, the diffusion loss of one batch of windows
(:func:`freeaction.diffusion.loss.diffusion_loss`), backward, gradient clipping, AdamW step,
EMA update; then, at their intervals, a log entry, the action-use check
(:mod:`freeaction.train.action_check`) and a checkpoint (:mod:`freeaction.train.checkpoint`).
The windows and random draws of a step depend only on (seed, step, rank)
(:mod:`freeaction.train.windows`), so a run resumed from a checkpoint repeats, bit for bit on
the same machine, what the uninterrupted run did.

Runs on one CPU, one GPU or several processes (``accelerate launch --num_processes N
[--cpu] -m freeaction.cli train ...``; DistributedDataParallel averages the gradients, so all
ranks hold the same weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from freeaction.diffusion.loss import diffusion_loss, draw_step
from freeaction.errors import CheckpointError, InputError
from freeaction.files import FolderLock, clean_temp_files
from freeaction.method.mu_act import stats_mismatch
from freeaction.train.action_check import action_check_for
from freeaction.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from freeaction.train.config import TrainConfig, config_differences
from freeaction.train.ema import EMA
from freeaction.train.export import export_model, vae_of_dataset
from freeaction.train.log import LossMeter, open_log, plot_log, start_entry
from freeaction.train.model import build_model
from freeaction.train.windows import (
    LatentWindows,
    check_nonempty,
    open_training_data,
    step_generator,
    window_loader,
)
from freeaction.training import learning_rate

TRAIN_LOCK = ".train.lock"
"""Lock file of a run folder while a ``train`` writes into it (a second run on it is refused)."""


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
    if not accelerator.is_main_process:  # the main process holds the run folder's lock for all
        return _train(cfg, run, accelerator, resume, allow_config_change)
    run.mkdir(parents=True, exist_ok=True)
    with FolderLock(run, TRAIN_LOCK, "train"):
        return _train(cfg, run, accelerator, resume, allow_config_change)


def _train(
    cfg: TrainConfig, run: Path, accelerator: Any, resume: bool | str, allow_config_change: bool
) -> dict[str, Any]:
    device, world, main = accelerator.device, accelerator.num_processes, accelerator.is_main_process

    # data, model, EMA and optimizer: new, or as the checkpoint left them
    reader = open_training_data(cfg)
    check_nonempty(reader, cfg)
    first = LatentWindows(reader, cache=False)[0]
    state = _checkpoint_to_resume(run, resume, accelerator)
    model = build_model(cfg, first[0], reader.action_dim, resuming=state.path if state is not None else None)
    action_stats = action_stats_for(reader, cfg)
    ema = EMA(model, cfg.ema_decay, cfg.ema_warmup)
    if state is not None:
        _check_same_run(state, cfg, world, allow_config_change)
        _load_weights(state, model, ema)
    start = state.step if state is not None else 0
    model.to(device)  # before the optimizer: load_state_dict puts its state on the parameters' device
    for k, v in ema.shadow.items():
        ema.shadow[k] = v.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=cfg.adam_betas, eps=cfg.adam_eps, weight_decay=cfg.weight_decay
    )
    if state is not None:
        _load_optimizer(state, optimizer)
    model, optimizer = accelerator.prepare(model, optimizer)
    raw_model = accelerator.unwrap_model(model)

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
            keep_every=cfg.keep_every,
        )
        plot_log(run)

    step, last = _train_steps(cfg, accelerator, model, optimizer, ema, reader, start, save)

    summary: dict[str, Any] = {"run": str(run), "step": step, "world_size": world, "resumed_from": start}
    if main:
        summary.update(_finish(run, cfg, last))
        summary["mu_act"] = action_stats.get("mu_act")
    accelerator.wait_for_everyone()
    return summary


def _train_steps(cfg: TrainConfig, accelerator: Any, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 ema: EMA, reader: Any, start: int,
                 save: Callable[[int, dict[str, Any]], None]) -> tuple[int, dict[str, Any]]:
    """Steps ``start``..``cfg.max_steps - 1``; returns the step reached and the last log entry."""
    device, rank, main = accelerator.device, accelerator.process_index, accelerator.is_main_process
    raw_model = accelerator.unwrap_model(model)
    autocast_dtype = torch.bfloat16 if cfg.bf16 else None
    loss_options = dict(min_snr_gamma=cfg.min_snr_gamma, moving_weight=cfg.moving_weight,
                        moving_threshold=cfg.moving_threshold, autocast_dtype=autocast_dtype)
    # the compiled forward shares the model's parameters; checkpoints, EMA and the action check use the model
    forward = torch.compile(model) if cfg.compile else model
    loader = window_loader(reader, cfg, accelerator.num_processes, rank, start, cfg.max_steps,
                           pin_memory=device.type == "cuda")
    check = action_check_for(cfg, reader, device) if main and cfg.action_check_every else None
    log = open_log(Path(cfg.out), start, cfg, main)
    log.write(start_entry(start, device, accelerator.num_processes))
    meter = LossMeter(device, start, cfg.batch_size * accelerator.num_processes)
    bar = tqdm(total=cfg.max_steps, initial=start, disable=not (main and cfg.progress), unit="step",
               dynamic_ncols=True)
    step, last, ratio = start, {}, math.nan
    try:
        for x0, actions in loader:
            x0, actions = x0.to(device, non_blocking=True), actions.to(device, non_blocking=True)
            lr = learning_rate(step, cfg.lr, cfg.warmup_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            t, noise, null = draw_step(step_generator(cfg.seed, step, rank), tuple(x0.shape), cfg.null_prob)
            loss = diffusion_loss(forward, x0, actions, t.to(device), noise.to(device), null.to(device),
                                  **loss_options)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower lr or disable bf16")
            accelerator.backward(loss)
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip) if cfg.grad_clip else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ema.update(raw_model)
            step += 1
            meter.add(loss)

            if step % cfg.log_every == 0 or step == cfg.max_steps:
                last = meter.entry(step, lr, grad_norm, accelerator)
                log.write(last)
                bar.set_postfix(loss=f"{last['loss']:.4f}", samples_s=f"{last['samples_per_s']:.1f}",
                                action_ratio=f"{ratio:.3f}")
            if check is not None and (step % cfg.action_check_every == 0 or step == cfg.max_steps):
                result = {"step": step, **check(raw_model, autocast_dtype)}
                ratio = result["action_ratio"]
                log.write(result)
                last = {**last, **result}
            if step % cfg.save_every == 0 or step == cfg.max_steps:
                if main:
                    save(step, last)
                accelerator.wait_for_everyone()
            bar.update(1)
    finally:
        bar.close()
        log.close()
    return step, last


def _finish(run: Path, cfg: TrainConfig, last: dict[str, Any]) -> dict[str, Any]:
    """Export the last checkpoint's model and redraw the plot; returns their paths and the last log entry."""
    out: dict[str, Any] = {}
    final = latest_checkpoint(run)
    if final is not None:
        out["model"] = str(export_model(run, final, cfg.vae or vae_of_dataset(cfg.dataset)))
    plot = plot_log(run)
    out["plot"] = str(plot) if plot else None
    out.update({k: v for k, v in last.items() if k != "step"})
    return out


# -- setting up -----------------------------------------------------------------------------------
def _accelerator(cfg: TrainConfig) -> Any:
    from accelerate import Accelerator

    if cfg.device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    # without cpu=True, accelerate does not form a process group of CPU processes (torchrun,
    # accelerate launch with MPI) and every process would train alone into the same folder
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    return Accelerator(cpu=cpu, mixed_precision="no")


def _checkpoint_to_resume(run: Path, resume: bool | str, accelerator: Any) -> TrainState | None:
    """The checkpoint the run continues from (see :func:`train`'s ``resume``), or None for a new run."""
    if accelerator.is_main_process:
        run.mkdir(parents=True, exist_ok=True)
        clean_temp_files(run / "checkpoints")
    accelerator.wait_for_everyone()
    if isinstance(resume, (str, Path)) and resume != "auto":
        return load_checkpoint(Path(resume))
    if resume in ("auto", True):
        latest = latest_checkpoint(run)
        if latest is not None:
            return load_checkpoint(latest)
        if resume is True:
            raise InputError(f"{run}: no checkpoint to resume from")
    elif latest_checkpoint(run) is not None:
        raise InputError(f"{run}: already holds checkpoints; resume, or choose a new output folder")
    return None


def _check_same_run(state: TrainState, cfg: TrainConfig, world: int, allow_config_change: bool) -> None:
    """InputError when the options that shape the run differ from the checkpoint's (unless allowed)."""
    diffs = config_differences(state.meta.get("config", {}), cfg)
    saved_world = state.meta.get("world_size", world)
    if saved_world != world:
        diffs.append(f"world size: {saved_world} -> {world} processes")
    if diffs and not allow_config_change:
        raise InputError(
            f"{state.path}: the run was made with other options, so resuming would not continue it: "
            + "; ".join(diffs) + " (use the saved options, a new output folder, or --allow-config-change)"
        )


def _load_weights(state: TrainState, model: torch.nn.Module, ema: EMA) -> None:
    """The checkpoint's raw weights into ``model`` and its EMA weights into ``ema``."""
    try:
        model.load_state_dict(state.model, strict=True)
        ema.load_shadow(state.ema, state.ema_updates)
    except (RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{state.path}: does not match the model being trained ({exc})") from exc


def _load_optimizer(state: TrainState, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer's state and the global torch RNG as the checkpoint saved them."""
    try:
        optimizer.load_state_dict(state.optimizer)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{state.path}: optimizer state does not match the model ({exc})") from exc
    if "torch_cpu" in state.rng:
        torch.set_rng_state(state.rng["torch_cpu"])


def action_stats_for(reader: Any, cfg: TrainConfig) -> dict[str, Any]:
    """The statistics the checkpoint records for ``mu_act``: the dataset's saved ones if they were
    made on this split for the default m(a) and these windows (:func:`stats_mismatch`), else computed now."""
    from freeaction.data.stats import compute_stats

    stats = getattr(reader, "stats", None)
    if (
        stats
        and stats.get("num_frames") == cfg.num_frames
        and stats.get("split") == cfg.split
        and not stats_mismatch(stats, "l2", None, cfg.num_frames)
    ):
        return stats
    return compute_stats(reader)
