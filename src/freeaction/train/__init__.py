"""Training the world model: the loop (accelerate), its config, the training windows and their
order, the action-use check, the run's log, EMA and atomic, resumable checkpoints."""

from freeaction.train.action_check import ActionCheck
from freeaction.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from freeaction.train.config import TrainConfig, load_config, merge
from freeaction.train.ema import EMA
from freeaction.train.export import export_model
from freeaction.train.log import plot_log
from freeaction.train.loop import train

__all__ = [
    "EMA",
    "ActionCheck",
    "TrainConfig",
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
