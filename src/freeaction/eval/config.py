"""The evaluation config file (YAML or TOML) of ``freeaction evaluate`` / ``freeaction sweep``.

Relative paths in the file are relative to the folder that holds the file. Example (YAML)::

    checkpoint: runs/pusher/checkpoint     # freeaction folder/.safetensors, IRASim .pt, or pusher-64 / arm-64
    vae: runs/pusher/checkpoint/vae        # diffusers AutoencoderKL folder (default: <checkpoint>/vae)
    dataset: data/pusher                   # IRASim layout, LeRobot or RLDS
    split: test
    clip_frames: 16                        # short-protocol clip = 1 context frame + 15 actions (default:
                                           #   the model's window; a longer clip is rolled out in chunks)
    out: results/pusher                    # results folder (CLI --out overrides)
    clips: all                             # all | N (the first N) | [3, 17, 42] (indices)
    episodes: 4                            # for the long protocol: all | N | [indices]
    seeds: 3                               # N (seeds 0..N-1) or a list of seeds
    sampler: pndm
    steps: 50
    precision: fp32                        # fp32 | bf16 | fp16
    device: auto                           # auto | cpu | cuda | cuda:1 ...
    batch_size: 16                         # samples per sampler call
    protocols: [short, long]
    baseline: unguided                     # the method every other one is compared with
    methods:
      - unguided
      - freeaction
      - {name: cfg_null_2, guidance: {type: "null", scale: 1.0}}
      - {name: fa_tau_fixed, guidance: {type: freeaction}, truncation: {type: fixed, tau: 1.0}}
    idm: models/pusher_idm.safetensors     # optional: action adherence (freeaction eval train-idm)
    fvd_weights: null                      # optional local TorchScript I3D
    fid_weights: null                      # optional local TorchScript Inception
    save_videos: 8                         # clips whose videos are kept for the report
    bootstrap: {resamples: 10000, confidence: 0.95, seed: 0}
    scoring: freeaction                    # freeaction | irasim (IRASim's scripts reproduced;
                                           #   see freeaction.eval.scoring)

``mu_act`` (FreeAction's truncation centre) is taken, in this order, from the method's own
``truncation.mu_act``, the config's ``mu_act``, the checkpoint's or dataset's statistics when
they were made with the method's m(a) definition, and otherwise computed from the dataset's
``train`` split for that definition. The value used is recorded with the results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freeaction.config_files import read_mapping
from freeaction.errors import InputError
from freeaction.eval.scoring import SCORING_MODES
from freeaction.methods import STANDARD_METHODS

PROTOCOLS = ("short", "long")


@dataclass
class EvalConfig:
    """Everything one evaluation run needs. See the module doc for the file format."""

    checkpoint: str = ""
    dataset: str = ""
    vae: str | None = None
    split: str = "test"
    clip_frames: int | None = None  # short-protocol clip length; None = the model's num_frames
    out: str = "eval_results"
    clips: Any = "all"
    episodes: Any = "all"
    seeds: Any = 1
    sampler: str = "pndm"
    steps: int | None = None
    precision: str = "fp32"
    device: str = "auto"
    batch_size: int = 8
    protocols: list[str] = field(default_factory=lambda: ["short"])
    baseline: str = "unguided"
    methods: list[Any] = field(default_factory=lambda: ["unguided", "freeaction"])
    mu_act: float | None = None
    resize: list[int] | None = None
    camera: int | None = None
    idm: str | None = None
    fvd_weights: str | None = None
    fid_weights: str | None = None
    save_videos: int = 8
    long_max_actions: int | None = None
    scoring: str = "freeaction"
    bootstrap: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    source: str = "options"

    # -- derived ----------------------------------------------------------------------------------
    @property
    def seed_list(self) -> list[int]:
        if isinstance(self.seeds, int):
            return list(range(self.seeds))
        return [int(s) for s in self.seeds]

    def method_dicts(self) -> list[dict[str, Any]]:
        """The methods as ``{"name", "guidance", "truncation"}`` dicts (standard names expanded)."""
        out = []
        for m in self.methods:
            if isinstance(m, str):
                std = STANDARD_METHODS[m]
                out.append({"name": std.name, "guidance": dict(std.guidance), "truncation": dict(std.truncation)})
            else:
                if set(m) == {"name"} and m["name"] in STANDARD_METHODS:
                    std = STANDARD_METHODS[m["name"]]
                    m = {"name": std.name, "guidance": dict(std.guidance), "truncation": dict(std.truncation)}
                out.append(
                    {
                        "name": m["name"],
                        "guidance": dict(m.get("guidance") or {"type": "none"}),
                        "truncation": dict(m.get("truncation") or {"type": "none"}),
                        **{k: v for k, v in m.items() if k not in ("name", "guidance", "truncation")},
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)




def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _selection(name: str, value: Any, source: str) -> Any:
    if value == "all" or value is None:
        return "all"
    if isinstance(value, bool):
        raise InputError(f"{source}: {name!r} must be 'all', a count or a list of indices, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise InputError(f"{source}: {name!r} must be at least 1, got {value}")
        return value
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if len(set(value)) != len(value) or min(value) < 0:
            raise InputError(f"{source}: {name!r} lists must hold distinct indices >= 0, got {value}")
        return value
    raise InputError(f"{source}: {name!r} must be 'all', a count or a non-empty list of indices, got {value!r}")


def _check_methods(cfg: EvalConfig) -> None:
    from freeaction.eval.methods import resolve_method

    if not isinstance(cfg.methods, list) or not cfg.methods:
        raise InputError(f"{cfg.source}: 'methods' must be a non-empty list")
    names = []
    for i, m in enumerate(cfg.methods):
        if isinstance(m, str):
            if m not in STANDARD_METHODS:
                raise InputError(
                    f"{cfg.source}: methods[{i}]: unknown standard method {m!r} (standard: {sorted(STANDARD_METHODS)}; "
                    "or give {name, guidance, truncation})"
                )
            names.append(m)
            continue
        if not isinstance(m, dict):
            raise InputError(f"{cfg.source}: methods[{i}] must be a name or a mapping, got {m!r}")
        try:
            resolve_method(m, mu_act=1.0)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{cfg.source}: methods[{i}] ({m.get('name', '?')!r}): {exc}") from exc
        names.append(str(m["name"]))
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"{cfg.source}: method names must be unique; repeated: {dup}")
    if cfg.baseline not in names:
        raise InputError(f"{cfg.source}: baseline {cfg.baseline!r} is not one of the methods {names}")


def validate(cfg: EvalConfig, check_files: bool = True) -> EvalConfig:
    """Check every field; missing files are named with the field that names them."""
    src = cfg.source
    if not cfg.checkpoint:
        raise InputError(f"{src}: 'checkpoint' is required (a freeaction checkpoint folder or an IRASim .pt)")
    if not cfg.dataset:
        raise InputError(f"{src}: 'dataset' is required (a dataset root)")
    if check_files:
        from freeaction.shipped import SHIPPED_MODELS, shipped_model_path

        if Path(cfg.checkpoint).name in SHIPPED_MODELS and not Path(cfg.checkpoint).exists():
            shipped_model_path(Path(cfg.checkpoint).name)  # explains that it is not installed
        for name in ("checkpoint", "dataset", "vae", "idm", "fvd_weights", "fid_weights"):
            value = getattr(cfg, name)
            if value is not None and not Path(value).exists():
                raise InputError(f"{src}: {name!r} names {value}, which does not exist")
    bad = [p for p in cfg.protocols if p not in PROTOCOLS] if isinstance(cfg.protocols, list) else [cfg.protocols]
    if bad or not cfg.protocols:
        raise InputError(f"{src}: 'protocols' must be a non-empty list of {list(PROTOCOLS)}, got {cfg.protocols!r}")
    cfg.clips = _selection("clips", cfg.clips, src)
    cfg.episodes = _selection("episodes", cfg.episodes, src)
    seeds = cfg.seeds
    if not (
        (isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1)
        or (
            isinstance(seeds, list)
            and seeds
            and all(isinstance(s, int) for s in seeds)
            and len(set(seeds)) == len(seeds)
        )
    ):
        raise InputError(f"{src}: 'seeds' must be a count >= 1 or a list of distinct ints, got {seeds!r}")
    from freeaction.diffusion.schedulers import SCHEDULERS
    from freeaction.pipeline import PRECISIONS

    if cfg.sampler not in SCHEDULERS:
        raise InputError(f"{src}: unknown sampler {cfg.sampler!r}; choose one of {sorted(SCHEDULERS)}")
    if cfg.precision not in PRECISIONS:
        raise InputError(f"{src}: unknown precision {cfg.precision!r}; choose one of {sorted(PRECISIONS)}")
    if cfg.steps is not None and int(cfg.steps) < 1:
        raise InputError(f"{src}: 'steps' must be at least 1, got {cfg.steps}")
    if cfg.clip_frames is not None and (isinstance(cfg.clip_frames, bool) or int(cfg.clip_frames) < 2):
        raise InputError(f"{src}: 'clip_frames' must be at least 2 (context + actions), got {cfg.clip_frames!r}")
    if int(cfg.batch_size) < 1:
        raise InputError(f"{src}: 'batch_size' must be at least 1, got {cfg.batch_size}")
    if cfg.resize is not None and (len(cfg.resize) != 2 or min(int(v) for v in cfg.resize) < 8):
        raise InputError(f"{src}: 'resize' must be [height, width], got {cfg.resize!r}")
    if cfg.scoring not in SCORING_MODES:
        raise InputError(f"{src}: 'scoring' must be one of {', '.join(SCORING_MODES)}, got {cfg.scoring!r}")
    unknown_boot = set(cfg.bootstrap) - {"resamples", "confidence", "seed"}
    if unknown_boot:
        raise InputError(f"{src}: unknown 'bootstrap' option(s) {sorted(unknown_boot)} (resamples, confidence, seed)")
    _check_methods(cfg)
    return cfg


def config_from_dict(data: dict[str, Any], *, base: Path | None = None, source: str = "options") -> EvalConfig:
    """An :class:`EvalConfig` from a mapping; unknown keys are refused by name."""
    known = {f.name for f in dataclasses.fields(EvalConfig)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{source}: unknown option(s) {unknown}; known: {sorted(known)}")
    cfg = EvalConfig(**data, source=source)
    base = base or Path.cwd()
    from freeaction.shipped import available_models, shipped_model_path

    if cfg.checkpoint in available_models() and not (base / cfg.checkpoint).exists():
        cfg.checkpoint = str(shipped_model_path(cfg.checkpoint))
    for name in ("checkpoint", "dataset", "vae", "idm", "fvd_weights", "fid_weights", "out"):
        setattr(cfg, name, _resolve(base, getattr(cfg, name)))
    if isinstance(cfg.protocols, str):
        cfg.protocols = [cfg.protocols]
    return cfg


def load_eval_config(path: str | Path, check_files: bool = True, **overrides: Any) -> EvalConfig:
    """Read, resolve and validate a config file; non-None ``overrides`` (CLI flags) win."""
    path = Path(path)
    data = read_mapping(path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    cfg = config_from_dict(data, base=path.resolve().parent, source=str(path))
    for k in ("out", "fvd_weights", "fid_weights", "idm"):  # CLI paths are relative to the working directory
        if overrides.get(k) is not None:
            setattr(cfg, k, str(Path(overrides[k]).expanduser().resolve()))
    return validate(cfg, check_files=check_files)
