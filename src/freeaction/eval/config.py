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
    sampler: pndm                          # default: what the model folder recommends (a shipped
    steps: 50                              #   model's shipped.json), else IRASim's PNDM 50
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
      - {name: fa_late, guidance: {type: freeaction, window: [0.0, 0.5]}}
    idm: models/pusher_idm.safetensors     # optional: action adherence (freeaction eval train-idm)
    fvd_weights: null                      # optional local TorchScript I3D
    fid_weights: null                      # optional local TorchScript Inception
    references: [still, shuffled]          # optional reference rows (short protocol): "nothing
                                           #   moves" and the baseline with another clip's actions
    gripper_reader: auto                   # auto: for arm-simulator data <dataset>/gripper_reader/ (trained
                                           #   when missing) | a reader's .safetensors | null (no gripper metric)
    save_videos: 8                         # clips whose videos are kept for the report
    bootstrap: {resamples: 10000, confidence: 0.95, seed: 0}
    scoring: freeaction                    # freeaction | irasim (IRASim's scripts reproduced;
                                           #   see freeaction.eval.scoring)

A method is a standard name or a mapping read by :meth:`freeaction.method.Method.from_dict`
(keys = the option names of its guidance and truncation classes; unknown keys are refused).
``mu_act`` (FreeAction's truncation centre) is chosen by :func:`freeaction.method.resolve_mu_act`:
the method's own ``truncation.mu_act``, else the config's ``mu_act``, else the checkpoint's
statistics when they were made with the method's m(a) definition and the model's window, else
the dataset's saved statistics if they match, else statistics computed from the dataset's
``train`` split for that definition. The value used is recorded with the results.

``references`` adds rows measured exactly like a method's, beside the methods in the table, so
every metric has its floor: ``still`` ("nothing moves": every future frame is the context
frame's latent, decoded) and ``shuffled`` (the baseline method with the actions of the next
chosen clip, cyclically, and the same sampler seeds: only the actions differ). They apply to the
short protocol only (long episodes differ in length) and need at least two clips for ``shuffled``.

``sampler`` and ``steps`` not given are filled in by :func:`validate` exactly as ``freeaction
quality`` and ``freeaction generate`` fill them (:func:`freeaction.shipped.resolve_sampler`): the
model folder's recommendation, else :data:`~freeaction.shipped.IRASIM_SAMPLER`; a sampler given
without steps gets the recommended steps if it is the recommended sampler, else its usual count.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freeaction import config_values as values
from freeaction.config_files import config_from_mapping, read_mapping
from freeaction.errors import InputError
from freeaction.eval.results_folder import slug, slug_clashes
from freeaction.eval.scoring import SCORING_MODES
from freeaction.method import STANDARD_METHODS, Method
from freeaction.method.options import number
from freeaction.shipped import IRASIM_SAMPLER, resolve_sampler

PROTOCOLS = ("short", "long")
REFERENCES = {"still": "nothing moves", "shuffled": "shuffled actions"}
"""The reference rows ``references`` may ask for, by row name, with the label the report shows."""
MAX_CLIP_FRAMES = 100_000  # a bound on the short-protocol clip length before any dataset is read
ANNOTATION_KEYS = ("axis", "value")  # written by the sweep on the methods it makes


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
    sampler: str | None = None  # None: the model folder's recommendation (see the module doc)
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
    references: list[str] = field(default_factory=list)
    gripper_reader: str | None = "auto"
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

    def parse_methods(self) -> list[tuple[Method, dict[str, Any]]]:
        """Each method (standard names expanded by :meth:`Method.from_dict`) with its annotations
        (the sweep's ``axis`` and ``value``, which do not change sampling)."""
        out = []
        for m in self.methods:
            d = {"name": m} if isinstance(m, str) else m
            notes = {k: d[k] for k in ANNOTATION_KEYS if k in d}
            out.append((Method.from_dict({k: v for k, v in d.items() if k not in ANNOTATION_KEYS}), notes))
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


def _whole(
    source: str,
    name: str,
    value: Any,
    *,
    lo: int,
    hi: int | None = None,
    optional: bool = False,
    why: str = "",
) -> Any:
    """``value`` as an int in [lo, hi] (None passes when ``optional``), else an error naming ``name``."""
    if value is None and optional:
        return None
    try:
        return values.whole(f"'{name}'", value, lo=lo, hi=hi)
    except InputError as exc:
        raise InputError(f"{source}: {exc}{why}") from None


def check_bootstrap(options: Any, source: str) -> dict[str, Any]:
    """The ``bootstrap`` mapping with each given option checked and converted: ``resamples`` a
    whole number >= 1, ``confidence`` a fraction in (0, 1), ``seed`` a whole number >= 0."""
    if not isinstance(options, dict):
        raise InputError(f"{source}: 'bootstrap' must be a mapping of resamples, confidence, seed, got {options!r}")
    unknown = set(options) - {"resamples", "confidence", "seed"}
    if unknown:
        raise InputError(f"{source}: unknown 'bootstrap' option(s) {sorted(unknown)} (resamples, confidence, seed)")
    out = dict(options)
    if "resamples" in out:
        out["resamples"] = _whole(source, "bootstrap.resamples", out["resamples"], lo=1)
    if "seed" in out:
        out["seed"] = _whole(source, "bootstrap.seed", out["seed"], lo=0)
    if "confidence" in out:
        try:
            out["confidence"] = values.real("'bootstrap.confidence'", out["confidence"], lo=0.0, hi=1.0, lo_open=True)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from exc
        if out["confidence"] >= 1.0:
            raise InputError(
                f"{source}: 'bootstrap.confidence' must be below 1 (e.g. 0.95), got {options['confidence']!r}"
            )
    return out


def check_against_dataset(cfg: EvalConfig, clip_frames: int, num_clips: int) -> None:
    """Refuse a short protocol when the dataset holds no clip of ``clip_frames`` frames, so a run
    never ends in an empty table."""
    if "short" in cfg.protocols and num_clips == 0:
        raise InputError(
            f"{cfg.source}: 'clip_frames' is {clip_frames}, but no episode of split {cfg.split!r} of "
            f"{cfg.dataset} is that long; use shorter clips"
        )


def _check_methods(cfg: EvalConfig) -> None:
    if not isinstance(cfg.methods, list) or not cfg.methods:
        raise InputError(f"{cfg.source}: 'methods' must be a non-empty list")
    names = []
    for i, m in enumerate(cfg.methods):
        if isinstance(m, str) and m not in STANDARD_METHODS:
            raise InputError(
                f"{cfg.source}: methods[{i}]: unknown standard method {m!r} (standard: {sorted(STANDARD_METHODS)}; "
                "or give {name, guidance, truncation})"
            )
        if not isinstance(m, (str, dict)):
            raise InputError(f"{cfg.source}: methods[{i}] must be a name or a mapping, got {m!r}")
        d = {"name": m} if isinstance(m, str) else {k: v for k, v in m.items() if k not in ANNOTATION_KEYS}
        try:
            names.append(Method.from_dict(d).name)
        except InputError as exc:
            raise InputError(f"{cfg.source}: methods[{i}] ({d.get('name', '?')!r}): {exc}") from exc
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"{cfg.source}: method names must be unique; repeated: {dup}")
    if cfg.baseline not in names:
        raise InputError(f"{cfg.source}: baseline {cfg.baseline!r} is not one of the methods {names}")
    taken = sorted(set(names) & set(cfg.references))
    if taken:
        raise InputError(f"{cfg.source}: method name(s) {taken} are reference rows' names; rename the method(s)")


def _check_references(cfg: EvalConfig) -> None:
    refs = cfg.references
    if not isinstance(refs, list) or any(r not in REFERENCES for r in refs) or len(set(refs)) != len(refs):
        raise InputError(f"{cfg.source}: 'references' must be a list of distinct names from {list(REFERENCES)}, "
                         f"got {refs!r}")


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

    cfg.steps = _whole(src, "steps", cfg.steps, lo=1, optional=True)
    cfg.sampler, cfg.steps = resolve_sampler(cfg.checkpoint, cfg.sampler, cfg.steps, IRASIM_SAMPLER)
    if cfg.sampler not in SCHEDULERS:
        raise InputError(f"{src}: unknown sampler {cfg.sampler!r}; choose one of {sorted(SCHEDULERS)}")
    if cfg.precision not in PRECISIONS:
        raise InputError(f"{src}: unknown precision {cfg.precision!r}; choose one of {sorted(PRECISIONS)}")
    cfg.clip_frames = _whole(src, "clip_frames", cfg.clip_frames, lo=2, hi=MAX_CLIP_FRAMES, optional=True,
                             why=" (context + actions)")
    cfg.long_max_actions = _whole(src, "long_max_actions", cfg.long_max_actions, lo=1, optional=True,
                                  why=" (null: whole episodes)")
    cfg.batch_size = _whole(src, "batch_size", cfg.batch_size, lo=1)
    cfg.save_videos = _whole(src, "save_videos", cfg.save_videos, lo=0)
    if cfg.camera is not None:
        cfg.camera = _whole(src, "camera", cfg.camera, lo=0)
    if cfg.resize is not None:
        if not isinstance(cfg.resize, list) or len(cfg.resize) != 2:
            raise InputError(f"{src}: 'resize' must be [height, width], got {cfg.resize!r}")
        cfg.resize = [_whole(src, "resize", v, lo=8) for v in cfg.resize]
    cfg.bootstrap = check_bootstrap(cfg.bootstrap, src)
    if cfg.scoring not in SCORING_MODES:
        raise InputError(f"{src}: 'scoring' must be one of {', '.join(SCORING_MODES)}, got {cfg.scoring!r}")
    _check_references(cfg)
    _check_methods(cfg)
    if cfg.gripper_reader not in (None, "auto") and check_files and not Path(cfg.gripper_reader).is_file():
        raise InputError(f"{src}: 'gripper_reader' names {cfg.gripper_reader}, which does not exist "
                         "(give a reader's .safetensors, auto or null)")
    if cfg.mu_act is not None:
        try:
            cfg.mu_act = number("'mu_act'", cfg.mu_act)
        except InputError as exc:
            raise InputError(f"{src}: {exc}") from exc
    clashes = slug_clashes(method.name for method, _ in cfg.parse_methods())
    if clashes:
        raise InputError(f"{src}: method names {clashes[0]} would share one file name ({slug(clashes[0][0])!r}); "
                         "rename one")
    return cfg


def config_from_dict(data: dict[str, Any], *, base: Path | None = None, source: str = "options") -> EvalConfig:
    """An :class:`EvalConfig` from a mapping (:func:`~freeaction.config_files.config_from_mapping`:
    unknown keys are refused by name, ``-`` may stand for ``_``)."""
    cfg = config_from_mapping(EvalConfig, data, origin=source, internal=("source",), source=source)
    base = base or Path.cwd()
    from freeaction.shipped import available_models, shipped_model_path

    if cfg.checkpoint in available_models() and not (base / cfg.checkpoint).exists():
        cfg.checkpoint = str(shipped_model_path(cfg.checkpoint))
    for name in ("checkpoint", "dataset", "vae", "idm", "fvd_weights", "fid_weights", "out"):
        setattr(cfg, name, _resolve(base, getattr(cfg, name)))
    if cfg.gripper_reader not in (None, "auto"):
        cfg.gripper_reader = _resolve(base, cfg.gripper_reader)
    if isinstance(cfg.protocols, str):
        cfg.protocols = [cfg.protocols]
    if isinstance(cfg.references, str):
        cfg.references = [cfg.references]
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
