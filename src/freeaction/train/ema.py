"""Exponential moving average of the model weights (IRASim: decay 0.9999, updated every step).

IRASim starts the EMA as a copy of the initial weights and then, after every optimizer step,
``ema = decay * ema + (1 - decay) * weights``. A 0.9999 EMA needs tens of thousands of steps
to forget the random initialisation, which a small model trained for a few thousand steps
never reaches; ``warmup=True`` uses the usual ramp ``min(decay, (1 + n) / (10 + n))`` (n = EMA
updates so far) instead, so the average follows the weights early on.

The shadow weights are float32 copies kept on the model's device; buffers are copied, not
averaged.
"""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """Shadow copy of a model's parameters, updated with :meth:`update` after each step."""

    def __init__(self, model: nn.Module, decay: float = 0.9999, warmup: bool = False) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            k: v.detach().clone().float() for k, v in model.state_dict().items() if v.is_floating_point()
        }

    def current_decay(self) -> float:
        """The decay the next :meth:`update` uses."""
        if not self.warmup:
            return self.decay
        n = self.num_updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """``shadow = d * shadow + (1 - d) * weights`` for parameters; buffers are copied."""
        d = self.current_decay()
        params = dict(model.named_parameters())
        for name, value in model.state_dict().items():
            if name not in self.shadow:
                continue
            if name in params and params[name].requires_grad:
                self.shadow[name].mul_(d).add_(value.detach().float(), alpha=1.0 - d)
            else:
                self.shadow[name].copy_(value.detach())
        self.num_updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged weights, under the model's own state-dict keys (float32)."""
        return dict(self.shadow)

    def weights_for(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """A full state dict for ``model``: averaged floats, the model's own non-float entries."""
        return {k: self.shadow.get(k, v) for k, v in model.state_dict().items()}

    def load_shadow(self, shadow: dict[str, torch.Tensor], num_updates: int) -> None:
        """Restore saved shadow weights (keys and shapes must match the current model)."""
        missing = sorted(set(self.shadow) - set(shadow))
        wrong = sorted(k for k in self.shadow if k in shadow and shadow[k].shape != self.shadow[k].shape)
        if missing or wrong:
            raise ValueError(f"EMA state does not match the model: missing {missing[:4]}, wrong shapes {wrong[:4]}")
        for k in self.shadow:
            self.shadow[k].copy_(shadow[k])
        self.num_updates = int(num_updates)
