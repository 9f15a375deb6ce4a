"""Architecture options of the video DiT, and the size presets.

IRASim's presets (``IRASim-XL/2`` etc.) are reproduced under their own names so that an IRASim
checkpoint's ``args.model`` maps to the right head count. The ``tiny``/``small`` presets are for
CPU work (tests, the shipped default models).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Condition = Literal["frame", "video", "trajectory"]

# Bounds on the architecture sizes, far above any published video DiT (IRASim-XL: hidden 1152,
# depth 28, 16 frames), so that a malformed config fails here instead of allocating terabytes.
SIZE_BOUNDS = {
    "action_dim": 4096,
    "patch_size": 64,
    "in_channels": 1024,
    "hidden_size": 16384,
    "depth": 512,
    "num_heads": 1024,
    "num_frames": 4096,
}
MAX_LATENT_SIDE = 4096
MAX_MLP_RATIO = 64.0
ActionEmbedder = Literal["mlp", "linear"]


@dataclass
class ModelConfig:
    """Everything needed to build a :class:`~freeaction.model.dit.VideoDiT`.

    condition: ``"frame"`` is IRASim's Frame-Ada (``extras=3``): each action is embedded on its
        own and conditions the spatial block of the frame it leads to. ``"video"`` is Video-Ada
        (``extras=5``): one embedding of the whole trajectory conditions every block.
        ``"trajectory"`` is freeaction's stronger variant of Frame-Ada (not in IRASim): frame k is
        conditioned on its action *and* the cumulative displacement a_1 + ... + a_k from the
        context frame; that embedding is added to frame k's tokens and conditions the spatial,
        temporal and final layers of frame k. Small models trained on CPU learn to use their
        actions much sooner with it (the shipped default models use it).
    action_embedder: ``"mlp"`` is IRASim's RT-1/Bridge embedder (Linear, tanh-GELU, Linear);
        ``"linear"`` is its Language-Table embedder (two Linears, no nonlinearity between).
    final_frame_ada: also condition the final layer on the per-frame action (IRASim's released
        Frame-Ada checkpoints were trained without it).
    shifted_positions: (``"trajectory"`` only; freeaction's, not in IRASim) frame k's tokens also
        get, through a zero-initialised linear, the sin-cos position table shifted by a learned
        linear map of the cumulative displacement a_1 + ... + a_k onto the token grid: token p of
        frame k carries the position p - S(a_1 + ... + a_k) it moved from. Spatial attention can
        then fetch what the context frame held where a moving part started, a product of action
        and position that adaLN and additive embeddings can only approximate. Zero-initialised,
        so adding it to a trained model leaves that model's function unchanged.
    context_attention: (freeaction's, not in IRASim) after every spatial block, each frame's tokens
        also attend to the context frame's (frame 0's) tokens, at every position: a moved object's
        look can be fetched from wherever the context frame held it in one step, where spatial and
        temporal attention alone need two (the context frame's tokens reach another frame only at
        their own position). Its output projection starts at zero, so adding it to a trained model
        leaves that model's function unchanged.
    """

    action_dim: int = 7
    condition: Condition = "frame"
    action_embedder: ActionEmbedder = "mlp"
    latent_size: tuple[int, int] = (32, 40)
    patch_size: int = 2
    in_channels: int = 4
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    mlp_ratio: float = 4.0
    num_frames: int = 16
    learn_sigma: bool = False
    final_frame_ada: bool = False
    shifted_positions: bool = False
    context_attention: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        for name, largest in SIZE_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
                problems.append(f"{name} must be a whole number, got {value!r}")
            elif not 1 <= value <= largest:
                problems.append(f"{name} must be in [1, {largest}], got {value!r}")
            else:
                setattr(self, name, int(value))
        if problems:  # sizes first: the checks below assume them
            raise ValueError("invalid model config: " + "; ".join(problems))
        try:
            self.latent_size = tuple(int(v) for v in self.latent_size)  # type: ignore[assignment]
        except (TypeError, ValueError):
            raise ValueError(f"invalid model config: latent_size must be two whole numbers, got "
                             f"{self.latent_size!r}") from None
        if any(not 1 <= v <= MAX_LATENT_SIDE for v in self.latent_size):
            problems.append(f"latent_size sides must be in [1, {MAX_LATENT_SIDE}], got {self.latent_size}")
        if isinstance(self.mlp_ratio, bool) or not isinstance(self.mlp_ratio, (int, float)) or not (
            0 < self.mlp_ratio <= MAX_MLP_RATIO
        ):
            problems.append(f"mlp_ratio must be a number in (0, {MAX_MLP_RATIO}], got {self.mlp_ratio!r}")
        if self.condition not in ("frame", "video", "trajectory"):
            problems.append(f"condition must be 'frame', 'video' or 'trajectory', got {self.condition!r}")
        if self.action_embedder not in ("mlp", "linear"):
            problems.append(f"action_embedder must be 'mlp' or 'linear', got {self.action_embedder!r}")
        if self.hidden_size % self.num_heads:
            problems.append(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.hidden_size % 4:
            problems.append(f"hidden_size {self.hidden_size} must be divisible by 4 (2-D sin-cos table)")
        if self.depth % 2:
            problems.append(f"depth {self.depth} must be even (spatial/temporal block pairs)")
        if len(self.latent_size) != 2 or any(s % self.patch_size for s in self.latent_size):
            problems.append(f"latent_size {self.latent_size} must be two multiples of patch_size {self.patch_size}")
        if self.shifted_positions and self.condition != "trajectory":
            problems.append(f"shifted_positions needs condition 'trajectory', got {self.condition!r}")
        if self.num_frames < 2:
            problems.append(f"num_frames must be at least 2, got {self.num_frames}")
        if problems:
            raise ValueError("invalid model config: " + "; ".join(problems))

    @property
    def out_channels(self) -> int:
        return self.in_channels * 2 if self.learn_sigma else self.in_channels

    @property
    def num_actions(self) -> int:
        return self.num_frames - 1

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["latent_size"] = list(self.latent_size)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown}")
        return cls(**d)


# name -> (depth, hidden_size, num_heads, patch_size)
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "IRASim-XL/2": (28, 1152, 16, 2),
    "IRASim-XL/4": (28, 1152, 16, 4),
    "IRASim-XL/8": (28, 1152, 16, 8),
    "IRASim-L/2": (24, 1024, 16, 2),
    "IRASim-L/4": (24, 1024, 16, 4),
    "IRASim-L/8": (24, 1024, 16, 8),
    "IRASim-B/2": (12, 768, 12, 2),
    "IRASim-B/4": (12, 768, 12, 4),
    "IRASim-B/8": (12, 768, 12, 8),
    "IRASim-S/2": (12, 384, 6, 2),
    "IRASim-S/4": (12, 384, 6, 4),
    "IRASim-S/8": (12, 384, 6, 8),
    # CPU-sized presets for tests and the shipped default models
    "small": (8, 192, 6, 2),
    "tiny": (4, 64, 4, 2),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A :class:`ModelConfig` from a preset name, e.g. ``preset("IRASim-XL/2", action_dim=2)``."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
    depth, hidden, heads, patch = PRESETS[name]
    kwargs: dict[str, Any] = {"depth": depth, "hidden_size": hidden, "num_heads": heads, "patch_size": patch}
    kwargs.update(overrides)
    return ModelConfig(**kwargs)
