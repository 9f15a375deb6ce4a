"""Training: the world-model loop (accelerate), its config, EMA and atomic, resumable checkpoints."""

from freeaction.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from freeaction.train.config import TrainConfig, load_config, merge
from freeaction.train.ema import EMA
from freeaction.train.loop import ActionCheck, diffusion_loss, export_model, plot_log, train

__all__ = [
    "EMA",
    "ActionCheck",
    "TrainConfig",
    "diffusion_loss",
    "export_model",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_config",
    "merge",
    "plot_log",
    "save_checkpoint",
    "train",
]
