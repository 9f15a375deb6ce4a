"""The model a run trains: a fresh preset sized from the data, ``init_from`` weights (grown by
``model_options`` where asked), or the architecture of the checkpoint being resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from freeaction.errors import DataError, InputError
from freeaction.model import ModelConfig, VideoDiT, load_model, preset
from freeaction.train.checkpoint import MODEL_DIR
from freeaction.train.config import TrainConfig


def build_model(cfg: TrainConfig, latents: torch.Tensor, action_dim: int, resuming: Path | None = None) -> VideoDiT:
    """The model to train: from ``init_from`` weights, or a fresh preset sized from the data.
    ``resuming``: a checkpoint the run continues from, whose saved model gives the architecture
    (its weights are replaced by the checkpoint's, so ``init_from`` need not exist any more)."""
    if resuming is not None:
        model = load_model(resuming / MODEL_DIR)
    elif cfg.init_from:
        model = _from_init_weights(cfg)
    else:
        model = _fresh_model(cfg, latents, action_dim)
    if model.config.learn_sigma:
        raise InputError("learn_sigma models are not trained here (IRASim's variance loss is not implemented)")
    check_data_matches(model.config, latents, action_dim, cfg.dataset)
    return model.train()


def _from_init_weights(cfg: TrainConfig) -> VideoDiT:
    """``init_from``'s model with ``model_options`` applied; growable options add new modules."""
    grow = {k: v for k, v in cfg.model_options.items() if k in VideoDiT.GROWABLE}
    model = load_model(cfg.init_from, **{k: v for k, v in cfg.model_options.items() if k not in grow})
    grow = {k: v for k, v in grow.items() if getattr(model.config, k) != v}
    if grow:
        torch.manual_seed(cfg.seed)
        try:
            model = model.grown(**grow)
        except ValueError as exc:
            raise InputError(f"init_from {cfg.init_from} with model_options {grow}: {exc}") from exc
    return model


def _fresh_model(cfg: TrainConfig, latents: torch.Tensor, action_dim: int) -> VideoDiT:
    """A new ``cfg.model`` preset for latents shaped like ``latents`` (F, C, h, w) and these actions."""
    _, c, h, w = latents.shape
    opts: dict[str, Any] = {"latent_size": (h, w), **cfg.model_options}
    opts.setdefault("action_embedder", "linear" if action_dim == 2 else "mlp")  # IRASim's choice
    try:
        model_config = preset(cfg.model, action_dim=action_dim, in_channels=c, num_frames=cfg.num_frames, **opts)
    except (ValueError, TypeError) as exc:
        raise InputError(f"model {cfg.model!r} with options {cfg.model_options}: {exc}") from exc
    torch.manual_seed(cfg.seed)
    return VideoDiT(model_config)


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
