"""The video DiT, its configuration and presets, and checkpoint loading."""

from freeaction.model.checkpoint import load_model, save_model
from freeaction.model.config import PRESETS, ModelConfig, preset
from freeaction.model.dit import VideoDiT

__all__ = ["PRESETS", "ModelConfig", "VideoDiT", "load_model", "preset", "save_model"]
