"""Load and save world-model checkpoints.

Two formats are read by :func:`load_model`:

- **freeaction checkpoints**: a folder with ``config.json`` and ``model.safetensors`` (what
  :func:`save_model` and ``freeaction train`` write), or a single ``.safetensors`` file whose
  metadata holds the config under ``freeaction_config``.
- **IRASim checkpoints**: the ``.pt`` files IRASim's training writes, a dict with ``model``,
  ``ema`` (preferred) and a pickled ``args``. They are read with a restricted unpickler that
  runs no code from the file (:mod:`freeaction.model.safe_unpickle`).

The architecture comes from the stored config (IRASim's ``args``: ``model`` preset name,
``dataset``, ``extras``, ``video_size``, ``num_frames``, ``learn_sigma``, ``final_frame_ada``)
and from the state-dict shapes; keyword overrides win over both. What cannot be determined
is an error that names the option to pass.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from freeaction.errors import CheckpointError
from freeaction.files import atomic_path, write_json_atomic
from freeaction.model.config import PRESETS, ModelConfig
from freeaction.model.dit import VideoDiT
from freeaction.model.safe_unpickle import safe_torch_load, to_plain

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
SIZES_IN_WEIGHTS = ("hidden_size", "depth", "patch_size", "in_channels", "num_frames")
"""Architecture sizes the weights' shapes fix: a stored config or override that differs is refused
before the model is built (so a ``depth: 1e6`` never allocates a million blocks)."""


def load_model(
    path: str | os.PathLike[str],
    *,
    weights: str = "auto",
    device: str | torch.device = "cpu",
    **overrides: Any,
) -> VideoDiT:
    """Build a :class:`VideoDiT` from a checkpoint and load its weights.

    path: a freeaction checkpoint folder or ``.safetensors`` file, an IRASim ``.pt``, or the name
    of a shipped default model (``"pusher-64"``, ``"arm-64"``).

    weights: for IRASim files, ``"ema"``, ``"model"`` or ``"auto"`` (EMA when present).
    overrides: any :class:`ModelConfig` field, e.g. ``num_heads=4, latent_size=(8, 10)``.
    The returned model is in eval mode; ``model.checkpoint_info`` holds the source, format,
    the stored action statistics (``action_stats``, with ``mu_act``) and IRASim's ``args``.
    """
    from freeaction.shipped import resolve_checkpoint

    path = resolve_checkpoint(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    bad = sorted(set(overrides) - set(ModelConfig.__dataclass_fields__))
    if bad:
        raise CheckpointError(f"unknown model option(s) {bad}; valid: {sorted(ModelConfig.__dataclass_fields__)}")
    if path.is_dir() or path.suffix == ".safetensors":
        state, stored, info = _read_freeaction(path)
    elif path.suffix in PICKLE_SUFFIXES:
        state, stored, info = _read_irasim(path, weights)
    else:
        raise CheckpointError(
            f"{path}: unknown checkpoint format (expected a folder with {CONFIG_FILE} + {WEIGHTS_FILE}, "
            f"a .safetensors file, or an IRASim {'/'.join(PICKLE_SUFFIXES)} file)"
        )
    config = infer_config(state, stored, overrides, source=str(path))
    check_weights(config, state, path)  # before any memory is allocated for the model
    model = VideoDiT(config)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    model.checkpoint_info = info
    return model.to(device).eval()


def save_model(
    model: VideoDiT,
    folder: str | os.PathLike[str],
    *,
    action_stats: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``folder/config.json`` + ``folder/model.safetensors`` atomically (temp + rename).

    ``state_dict`` defaults to the model's own (pass the EMA weights to ship those).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in (state_dict or model.state_dict()).items()}
    config = {"format": "freeaction", "model": model.config.to_dict()}
    if action_stats is not None:
        config["action_stats"] = action_stats
    if extra:
        config.update(extra)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    write_json_atomic(folder / CONFIG_FILE, config, indent=2, sort_keys=True)
    return folder


# -- readers --------------------------------------------------------------------------------------
def _read_freeaction(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    if path.is_dir():
        weights, config_file = path / WEIGHTS_FILE, path / CONFIG_FILE
        if not weights.exists():
            raise CheckpointError(f"{path}: no {WEIGHTS_FILE} in this checkpoint folder")
        if not config_file.exists():
            raise CheckpointError(f"{path}: no {CONFIG_FILE} in this checkpoint folder")
        try:
            config = json.loads(config_file.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{config_file}: malformed JSON ({exc})") from exc
    else:
        weights, config = path, {}
        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
        if "freeaction_config" in meta:
            config = json.loads(meta["freeaction_config"])
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: corrupt or unreadable safetensors file ({exc})") from exc
    stored = dict(config.get("model", {}))
    info = {
        "source": str(path),
        "format": "freeaction",
        "action_stats": config.get("action_stats"),
        "config": config,
    }
    return state, stored, info


def _read_irasim(path: Path, weights: str) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    try:
        ckpt = safe_torch_load(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read this checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, found {type(ckpt).__name__}")
    if weights not in ("auto", "ema", "model"):
        raise CheckpointError(f"weights must be 'auto', 'ema' or 'model', got {weights!r}")
    if weights == "auto":
        key = "ema" if "ema" in ckpt else "model" if "model" in ckpt else None
    else:
        key = weights
        if key not in ckpt:
            raise CheckpointError(f"{path}: no '{key}' entry (has {sorted(map(str, ckpt))})")
    state = ckpt[key] if key else ckpt
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: '{key or 'top level'}' is not a state dict of tensors")
    state = {_strip_prefix(k): v for k, v in state.items()}
    args = to_plain(ckpt.get("args")) or {}
    if not isinstance(args, dict):
        args = {}
    stored = _config_from_irasim_args(args)
    info = {"source": str(path), "format": "irasim", "weights": key, "args": args, "action_stats": None}
    return state, stored, info


def _strip_prefix(key: str) -> str:
    for prefix in ("module.", "_orig_mod."):
        while key.startswith(prefix):
            key = key[len(prefix) :]
    return key


def _config_from_irasim_args(args: dict[str, Any]) -> dict[str, Any]:
    """The ModelConfig fields IRASim's ``args`` determine."""
    out: dict[str, Any] = {}
    name = args.get("model")
    if isinstance(name, str) and name in PRESETS:
        depth, hidden, heads, patch = PRESETS[name]
        out.update(depth=depth, hidden_size=hidden, num_heads=heads, patch_size=patch)
    if args.get("extras") in (3, 5):
        out["condition"] = "frame" if args["extras"] == 3 else "video"
    dataset = args.get("dataset")
    if dataset == "languagetable":
        out.update(action_embedder="linear", action_dim=2)
    elif dataset in ("rt1", "bridge"):
        out.update(action_embedder="mlp", action_dim=7)
    size = args.get("latent_size") or (
        [s // 8 for s in args["video_size"]] if isinstance(args.get("video_size"), list) else None
    )
    if isinstance(size, list) and len(size) == 2:
        out["latent_size"] = tuple(int(s) for s in size)
    for key in ("num_frames", "learn_sigma", "final_frame_ada", "num_heads"):
        if key in args and args[key] is not None:
            out[key] = args[key]
    return out


# -- architecture inference -----------------------------------------------------------------------
def infer_config(
    state: dict[str, torch.Tensor], stored: dict[str, Any], overrides: dict[str, Any], source: str = "checkpoint"
) -> ModelConfig:
    """Stored config + shapes + overrides -> ModelConfig (overrides win, then stored, then shapes)."""
    shapes = _config_from_shapes(state, source)
    merged = {**shapes, **stored, **overrides}
    if "extra" in merged and merged["extra"] is None:
        merged["extra"] = {}
    missing = []
    if "num_heads" not in merged:
        missing.append(
            "num_heads (head count is not visible in the weights; pass num_heads=..., "
            "or CLI --num-heads; IRASim's args.model preset name would give it)"
        )
    if "latent_size" not in merged:
        tokens = int(state["pos_embed"].shape[1])
        p = merged.get("patch_size", 2)
        options = [f"{gh * p}x{tokens // gh * p}" for gh in range(1, tokens + 1) if tokens % gh == 0]
        missing.append(
            f"latent_size ({tokens} tokens per frame fit latent sizes {', '.join(options[:8])}...; "
            "pass latent_size=(h, w), or CLI --latent-size H W)"
        )
    if missing:
        raise CheckpointError(f"{source}: cannot determine " + " and ".join(missing))
    differ = [
        f"{key} {merged[key]!r} (the weights have {shapes[key]!r})"
        for key in SIZES_IN_WEIGHTS
        if merged[key] != shapes[key]
    ]
    if differ:
        raise CheckpointError(f"{source}: the configuration does not match the weights: " + "; ".join(differ))
    try:
        config = ModelConfig.from_dict(merged)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{source}: {exc}") from exc
    n_tokens = int(state["pos_embed"].shape[1]) if "pos_embed" in state else None
    gh, gw = (s // config.patch_size for s in config.latent_size)
    if n_tokens is not None and gh * gw != n_tokens:
        raise CheckpointError(
            f"{source}: latent_size {config.latent_size} gives {gh * gw} tokens per frame, "
            f"but the checkpoint's pos_embed has {n_tokens}"
        )
    return config


def _config_from_shapes(state: dict[str, torch.Tensor], source: str) -> dict[str, Any]:
    required = ("x_embedder.proj.weight", "final_layer.linear.weight", "temp_embed", "pos_embed")
    absent = [k for k in required if k not in state]
    if absent:
        raise CheckpointError(f"{source}: not an IRASim/freeaction video DiT state dict (missing {absent})")
    w = state["x_embedder.proj.weight"]
    hidden, in_channels, patch = int(w.shape[0]), int(w.shape[1]), int(w.shape[2])
    depth = 1 + max((int(m.group(1)) for k in state if (m := re.match(r"blocks\.(\d+)\.", k))), default=-1)
    num_frames = int(state["temp_embed"].shape[1])
    out_channels = int(state["final_layer.linear.weight"].shape[0]) // (patch * patch)
    cfg: dict[str, Any] = {
        "hidden_size": hidden,
        "in_channels": in_channels,
        "patch_size": patch,
        "depth": depth,
        "num_frames": num_frames,
        "learn_sigma": out_channels == 2 * in_channels,
        "mlp_ratio": state["blocks.0.mlp.fc1.weight"].shape[0] / hidden if "blocks.0.mlp.fc1.weight" in state else 4.0,
    }
    if "embed_arm_state.weight" in state:
        cfg["action_embedder"] = "linear"
        cfg["action_dim"] = int(state["embed_arm_state.weight"].shape[1])
        cfg["condition"] = "video" if "mlp.fc1.weight" in state else "frame"
    elif "embed_state.fc1.weight" in state:
        cfg["action_embedder"] = "mlp"
        in_features = int(state["embed_state.fc1.weight"].shape[1])
        # a Video-Ada embedder reads the whole flattened trajectory: (F-1) * A inputs
        if in_features > 16 and in_features % (num_frames - 1) == 0:
            cfg["condition"], cfg["action_dim"] = "video", in_features // (num_frames - 1)
        else:
            cfg["condition"], cfg["action_dim"] = "frame", in_features
    else:
        raise CheckpointError(f"{source}: no action embedder (embed_state / embed_arm_state) in the state dict")
    if "shifted_pos_to_tokens.weight" in state:
        cfg["shifted_positions"] = True
    if "context_attn.0.proj.weight" in state:
        cfg["context_attention"] = True
    return cfg


def check_weights(config: ModelConfig, state: dict[str, torch.Tensor], path: str | os.PathLike[str]) -> None:
    """Raise :class:`CheckpointError` unless ``state`` holds exactly the tensors of the model
    ``config`` describes, with their shapes, floating point and finite. The model is built on
    the ``meta`` device, so nothing is allocated for it."""
    with torch.device("meta"):
        expected = VideoDiT(config).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:6]}{'...' if len(missing) > 6 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:6]}{'...' if len(unexpected) > 6 else ''}")
        if wrong:
            parts.append(
                "shape mismatch "
                + ", ".join(f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in wrong[:4])
            )
        raise CheckpointError(
            f"{path}: checkpoint does not match the model {config.to_dict()}: " + "; ".join(parts)
        )
    not_float = [f"{k} ({v.dtype})" for k, v in state.items() if not v.is_floating_point()]
    if not_float:
        raise CheckpointError(f"{path}: weights must be floating point; found {', '.join(not_float[:6])}")
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path}: non-finite values (NaN/Inf) in {bad[:6]}")
