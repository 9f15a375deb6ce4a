"""Does the model use its actions? The action-use check run every ``action_check_every`` steps.

On a fixed batch of validation windows with fixed noise and t, the denoising loss with the true
actions is compared with the loss with actions shuffled across the clips (and with the null
condition). A ratio shuffled/true near 1 means the model ignores its actions, which makes
FreeAction's guidance meaningless; it should rise clearly above 1 as training proceeds.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from freeaction.diffusion.loss import epsilon_errors, moving_cells
from freeaction.diffusion.schedulers import NUM_TRAIN_TIMESTEPS
from freeaction.errors import DataError
from freeaction.train.config import TrainConfig
from freeaction.train.windows import LatentWindows, open_training_data


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


def action_check_for(cfg: TrainConfig, train_reader: Any, device: torch.device) -> ActionCheck:
    """The check of a run: on windows of ``cfg.val_split``, or of the training split when the
    validation split is missing or has fewer than 2 windows."""
    val = train_reader
    if cfg.val_split and cfg.val_split != cfg.split:
        with contextlib.suppress(DataError):
            candidate = open_training_data(cfg, cfg.val_split)
            if len(candidate) >= 2:
                val = candidate
    return ActionCheck(val, cfg.action_check_clips, cfg.seed, device)
