"""Training configuration: IRASim's recipe by default, every hyper-parameter settable.

A :class:`TrainConfig` comes from defaults, then a YAML or TOML file (``load_config``), then
command-line flags (``merge``). The defaults are IRASim's (docs/method.md §2): epsilon MSE on frames
1..F-1 with the clean frame 0 in the input, t uniform over 1000 steps of linear betas
1e-4..0.02, AdamW lr 1e-4 without weight decay, gradient clipping at 0.1, EMA 0.9999, the null
condition replacing a sample's actions with probability 0.1. Options that are *off* by
default: linear lr warm-up, EMA warm-up, Min-SNR-gamma loss weighting and extra loss weight on
latent cells that move (both helped small models learn to use actions in the issue's probes),
bf16 autocast.

Example file (YAML; TOML uses the same keys)::

    dataset: data/pusher
    out: runs/pusher-small
    model: small
    model_options: {hidden_size: 128, depth: 8, num_heads: 4}
    num_frames: 8
    lr: 1.0e-3
    warmup_steps: 500
    ema_decay: 0.999
    ema_warmup: true
    min_snr_gamma: 5
    moving_weight: 5
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freeaction import config_files
from freeaction import config_values as values
from freeaction.config_files import config_from_mapping, option, read_mapping
from freeaction.errors import InputError

MODEL_OPTION_KEYS = (
    "hidden_size",
    "depth",
    "num_heads",
    "patch_size",
    "mlp_ratio",
    "condition",
    "action_embedder",
    "final_frame_ada",
    "latent_size",
    "shifted_positions",
    "context_attention",
)


@dataclass
class TrainConfig:
    """Everything ``freeaction train`` needs. See the module doc for the defaults' origin."""

    # data
    dataset: str = option("", help="IRASim-layout dataset with latent_videos/")
    split: str = option("train", help="training split")
    val_split: str | None = option("val", help="split of the action-use check (the training split when absent)")
    num_frames: int = option(16, help="window length = the model's num_frames: 1 context + num_frames-1 generated "
                             "frames")
    stride: int = option(1, help="window start interval in the training split")
    cache_latents: bool = option(True, help="keep each episode's latents in memory after the first read")
    num_workers: int = option(0, help="DataLoader worker processes")
    # model
    model: str = option("small", help="size preset (tiny, small, IRASim-S/2, ...; freeaction.model.PRESETS)")
    model_options: dict[str, Any] = option(factory=dict, help="ModelConfig overrides (hidden_size, depth, ...)")
    init_from: str | None = option(None, help="start from these weights (a freeaction or IRASim checkpoint)")
    # optimisation
    batch_size: int = option(8, help="clips per process and step")
    max_steps: int = option(10000, help="train until this step")
    lr: float = option(1e-4, help="AdamW learning rate")
    weight_decay: float = option(0.0, help="AdamW weight decay")
    adam_betas: tuple[float, float] = option((0.9, 0.999), help="AdamW betas")
    adam_eps: float = option(1e-8, help="AdamW epsilon")
    warmup_steps: int = option(0, help="linear learning-rate warm-up steps")
    grad_clip: float = option(0.1, help="gradient-norm clipping, 0 = off")
    ema_decay: float = option(0.9999, help="EMA decay (small, short runs want ~0.999 with ema_warmup)")
    ema_warmup: bool = option(False, help="ramp the EMA decay up as (1+n)/(10+n)")
    null_prob: float = option(0.1, help="probability of the null condition per sample")
    min_snr_gamma: float | None = option(None, help="Min-SNR-gamma loss weighting (off when not set; e.g. 5)")
    moving_weight: float = option(1.0, help="loss weight of latent cells that move, 1 = off (e.g. 5)")
    moving_threshold: float = option(0.1, help="mean |z_k - z_k-1| over channels above which a cell moves")
    bf16: bool = option(False, help="bf16 autocast for the model's forward pass")
    compile: bool = option(False, help="torch.compile the training forward pass (slow first step; then ~1.25x "
                           "samples/s on CPU: benchmarks/bench_train.py --compile)")
    seed: int = option(0, help="seed of the initialisation, data order and noise")
    # output
    out: str = option("", help="run folder (checkpoints, log, loss curve, final model)")
    save_every: int = option(1000, help="checkpoint interval in steps")
    keep_checkpoints: int = option(3, help="checkpoints kept")
    keep_every: int = option(0, help="also keep every checkpoint whose step is a multiple of this, for a learning "
                             "curve (`freeaction curve`); 0 = none")
    log_every: int = option(10, help="loss log interval in steps")
    action_check_every: int = option(500, help="interval of the true-vs-shuffled-actions check, 0 = off")
    action_check_clips: int = option(16, help="validation clips in that check")
    vae: str | None = option(None, help="VAE folder to ship next to the model, so WorldModel.load finds it "
                             "(default: the one `freeaction encode` recorded)")
    device: str = option("auto", help="auto, cpu or cuda")
    progress: bool = option(True, help="show a progress bar")

    def __post_init__(self) -> None:
        """Check every option by its type and range and store the converted value; all problems
        are named in one :class:`InputError`."""
        problems = []
        for name, check in OPTION_CHECKS.items():
            try:
                setattr(self, name, check(name, getattr(self, name)))
            except InputError as exc:
                problems.append(str(exc))
        if not isinstance(self.model_options, dict) and self.model_options is not None:
            problems.append(f"model_options must be a mapping, got {self.model_options!r}")
        if problems:
            raise InputError("invalid training config: " + "; ".join(problems))
        self.model_options = dict(self.model_options or {})
        if "latent_size" in self.model_options and self.model_options["latent_size"] is not None:
            self.model_options["latent_size"] = tuple(int(v) for v in self.model_options["latent_size"])

    def validate(self) -> None:
        """Raise :class:`InputError` naming every missing or inconsistent value (each value on its
        own was checked when the config was made)."""
        problems = []
        if not self.dataset:
            problems.append("dataset is required")
        if not self.out:
            problems.append("out (the run folder) is required")
        if self.action_check_every and self.action_check_clips < 2:
            problems.append(f"action_check_clips must be >= 2 (actions are shuffled across clips), got "
                            f"{self.action_check_clips}")
        unknown = sorted(set(self.model_options) - set(MODEL_OPTION_KEYS))
        if unknown:
            problems.append(f"unknown model_options {unknown}; valid: {list(MODEL_OPTION_KEYS)}")
        if problems:
            raise InputError("invalid training config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["adam_betas"] = list(self.adam_betas)
        if "latent_size" in d["model_options"]:
            d["model_options"]["latent_size"] = list(d["model_options"]["latent_size"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> TrainConfig:
        """A config from a mapping (a file's, or the flags'); unknown keys are refused by name."""
        try:
            return config_from_mapping(cls, d, origin=source, what="training option")
        except InputError as exc:
            raise exc if str(exc).startswith(f"{source}:") else InputError(f"{source}: {exc}") from exc


def _betas(name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{name} must be two numbers [beta1, beta2], got {value!r}")
    b1, b2 = (values.real(f"{name}[{i}]", b, lo=0.0, hi=1.0) for i, b in enumerate(value))
    if b1 >= 1.0 or b2 >= 1.0:
        raise InputError(f"{name} must each be below 1, got {value!r}")
    return b1, b2


def _whole(lo: int) -> Callable[[str, Any], int]:
    return lambda name, value: values.whole(name, value, lo=lo)


def _real(lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> Callable[[str, Any], float]:
    return lambda name, value: values.real(name, value, lo=lo, hi=hi, lo_open=lo_open)


def _optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else check(name, value)


def _text(name: str, value: Any) -> str | None:
    return values.text(name, value)


OPTION_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "dataset": _text,
    "split": _text,
    "val_split": _optional(_text),
    "num_frames": _whole(2),
    "stride": _whole(1),
    "cache_latents": values.flag,
    "num_workers": _whole(0),
    "model": _text,
    "init_from": _optional(_text),
    "batch_size": _whole(1),
    "max_steps": _whole(1),
    "lr": _real(0.0, lo_open=True),
    "weight_decay": _real(0.0),
    "adam_betas": _betas,
    "adam_eps": _real(0.0, lo_open=True),
    "warmup_steps": _whole(0),
    "grad_clip": _real(0.0),
    "ema_decay": _real(0.0, 1.0),
    "ema_warmup": values.flag,
    "null_prob": _real(0.0, 1.0),
    "min_snr_gamma": _optional(_real(0.0, lo_open=True)),
    "moving_weight": _real(0.0, lo_open=True),
    "moving_threshold": _real(0.0),
    "bf16": values.flag,
    "compile": values.flag,
    "seed": _whole(0),
    "out": _text,
    "save_every": _whole(1),
    "keep_checkpoints": _whole(1),
    "keep_every": _whole(0),
    "log_every": _whole(1),
    "action_check_every": _whole(0),
    "action_check_clips": _whole(1),
    "vae": _optional(_text),
    "device": _text,
    "progress": values.flag,
}
"""Each option's check: type and range, returning the value to store (see :mod:`freeaction.config_values`)."""


# Options that change what the run computes: a resumed run must use the same values, or it
# would not reproduce an uninterrupted one. Everything else (length, logging, paths,
# device, workers, compile) may change between a run and its resumption; device and compile
# change only the last bits of the arithmetic, not what is drawn or computed.
TRAJECTORY_FIELDS = (
    "split",
    "num_frames",
    "stride",
    "model",
    "model_options",
    "init_from",
    "batch_size",
    "lr",
    "weight_decay",
    "adam_betas",
    "adam_eps",
    "warmup_steps",
    "grad_clip",
    "ema_decay",
    "ema_warmup",
    "null_prob",
    "min_snr_gamma",
    "moving_weight",
    "moving_threshold",
    "bf16",
    "seed",
)


def config_differences(saved: dict[str, Any], current: TrainConfig) -> list[str]:
    """``name: saved -> current`` for each trajectory field that differs."""
    now = current.to_dict()
    out = []
    for name in TRAJECTORY_FIELDS:
        a, b = saved.get(name), now.get(name)
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            out.append(f"{name}: {a!r} -> {b!r}")
    return out


def load_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, then the file at ``path``, then ``overrides`` whose value is not None."""
    base: dict[str, Any] = read_mapping(path) if path else {}
    return merge(TrainConfig.from_dict(base, source=str(path or "defaults")), **overrides)


def merge(config: TrainConfig, **overrides: Any) -> TrainConfig:
    """A copy of ``config`` with the non-None ``overrides``; ``model_options`` are merged key by key."""
    d = config.to_dict()
    for key, value in overrides.items():
        if value is None:
            continue
        key = key.replace("-", "_")
        if key == "model_options":
            d["model_options"] = {**d["model_options"], **value}
        else:
            d[key] = value
    return TrainConfig.from_dict(d, source="options")


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """``["lr=1e-3", "model_options.depth=8"]`` -> overrides (values parsed as YAML)."""
    return config_files.parse_set(items, nested=("model_options",))


__all__ = [
    "MODEL_OPTION_KEYS",
    "TRAJECTORY_FIELDS",
    "TrainConfig",
    "config_differences",
    "load_config",
    "merge",
    "parse_set",
]
