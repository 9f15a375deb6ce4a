"""``freeaction evaluate``: every method on the same clips with the same seeds, resumable and sharded.

The unit of work is (protocol, method, clip): all seeds of one clip under one method, sampled
in one batch together with other clips of the same group, measured, and written as rows
(:mod:`freeaction.eval.results`) before the next unit starts. Clips are loaded (and encoded,
when the dataset has no latents) once per group and shared by every method.

Pairing: the sampler seed of (clip, seed s) is a hash of ``s`` and the clip's identity, the
same for every method and independent of which other clips share the batch, so differences
between methods are paired by construction.

Distributed: under ``accelerate launch`` (or torchrun) the clip list is split by rank, clip i
going to rank ``i mod world_size``; each rank writes its own shard; rank 0 merges them and
builds the report when every rank is done (``--merge`` does it later by hand).

Datasets without latents: the true frames are encoded with the model's VAE on the fly (the
posterior mean, as ``freeaction encode`` does), so a VAE is then required.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freeaction.errors import DataError, InputError
from freeaction.eval.config import EvalConfig
from freeaction.eval.diversity import diversity
from freeaction.eval.effector import EffectorTrack
from freeaction.eval.methods import magnitude_definition, method_spec, needs_mu_act, resolve_method
from freeaction.eval.results import ShardWriter, all_shards_done, merge_shards
from freeaction.eval.scoring import clip_features, scoring_mode
from freeaction.methods import Method
from freeaction.shipped import resolve_checkpoint

RUN_FILE = "run.json"
TRUTH = "_truth"  # file stem of a clip's real video
REAL = "_real"  # feature folder of the real clips
# run.json fields that must not change between a run and its resumption
FROZEN_FIELDS = (
    "checkpoint",
    "dataset",
    "split",
    "clip_frames",
    "seeds",
    "sampler",
    "steps",
    "precision",
    "resize",
    "camera",
    "long_max_actions",
    "scoring",
)
FROZEN_DEFAULTS = {"scoring": "freeaction"}  # the value a run.json without the field was made with


WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def weights_digest(*paths: str | Path | None) -> str:
    """sha256 over the weight files of checkpoints / VAE folders (a file, or a folder's files with a
    weight suffix, recursively), so a resumed run notices weights replaced under the same path (a
    shipped model shipped again, a checkpoint folder overwritten)."""
    h = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        p = Path(path)
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
        for f in files:
            h.update(f"{f.relative_to(p) if f != p else f.name}\0".encode())
            with open(f, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                    h.update(block)
    return h.hexdigest()


def derive_seed(seed: int, clip_key: str) -> int:
    """The sampler seed of seed ``seed`` on clip ``clip_key`` (same for every method and batch)."""
    digest = hashlib.sha256(f"{int(seed)}|{clip_key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def slug(text: str) -> str:
    """A file-name-safe form of a clip or method name."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "x"


def dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as set by accelerate launch / torchrun (0, 1, 0 otherwise)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def pick_device(name: str, local_rank: int) -> str:
    if name != "auto":
        return name
    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def select(n: int, selection: Any, what: str) -> list[int]:
    """Indices chosen by ``all`` / a count (the first N) / a list, checked against ``n`` items."""
    if selection == "all":
        return list(range(n))
    if isinstance(selection, int):
        return list(range(min(selection, n)))
    bad = [i for i in selection if i >= n]
    if bad:
        raise InputError(f"{what} {bad} out of range: the split has {n}")
    return list(selection)


@dataclass
class Item:
    """One clip (short) or episode (long) to evaluate."""

    protocol: str
    index: int  # dataset clip index (short) or episode index (long)
    key: str
    save_video: bool


@dataclass
class Loaded:
    """A clip's true data, loaded once and shared by every method."""

    item: Item
    actions: torch.Tensor
    latents: torch.Tensor
    frames: np.ndarray | None
    start: int
    track: EffectorTrack | None = None
    reference: dict[str, Any] = field(default_factory=dict)


class Evaluator:
    """Runs one :class:`EvalConfig` (this process's share of it)."""

    def __init__(self, cfg: EvalConfig, *, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.rank, self.world, local_rank = dist_env()
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.device = pick_device(cfg.device, local_rank)
        self.scoring = scoring_mode(cfg.scoring)
        self._load_model()
        self._open_data()
        self.methods = self._resolve_methods()
        self._load_extras()
        self._write_run_file()
        self.writer = ShardWriter(self.out, self.rank, self.world)

    # -- setup ------------------------------------------------------------------------------------
    def _load_model(self) -> None:
        from freeaction.pipeline import WorldModel

        cfg = self.cfg
        vae = cfg.vae
        if vae is None and Path(cfg.checkpoint).is_dir() and (Path(cfg.checkpoint) / "vae").is_dir():
            vae = str(Path(cfg.checkpoint) / "vae")
        self.wm = WorldModel.load(cfg.checkpoint, vae, device=self.device, precision=cfg.precision)
        self.vae_path = vae
        self.weights = weights_digest(resolve_checkpoint(cfg.checkpoint), vae)

    def _open_data(self) -> None:
        from freeaction.data import open_dataset

        cfg, mc = self.cfg, self.wm.config
        self.clip_frames = int(cfg.clip_frames or mc.num_frames)
        opts: dict[str, Any] = {"num_frames": self.clip_frames, "frames": self.wm.vae is not None}
        if cfg.resize:
            opts["size"] = tuple(int(v) for v in cfg.resize)
        if cfg.camera is not None:
            opts["camera"] = cfg.camera
        self.ds = open_dataset(cfg.dataset, cfg.split, **opts)
        if self.ds.num_episodes == 0:
            raise DataError(f"{cfg.dataset}: split {cfg.split!r} has no episodes")
        if self.ds.action_dim != mc.action_dim:
            raise InputError(
                f"{cfg.source}: the model takes {mc.action_dim}-D actions but dataset {cfg.dataset} "
                f"(split {cfg.split!r}) has {self.ds.action_dim}-D actions"
            )
        has_latents = getattr(self.ds, "load_latents", False)
        if not has_latents and self.wm.vae is None:
            raise InputError(
                f"{cfg.source}: dataset {cfg.dataset} has no pre-encoded latents and no VAE is given: set 'vae' "
                "(the true frames are then encoded on the fly) or run `freeaction encode DATASET`"
            )
        probe = self.ds.episode(0)
        if self.wm.vae is not None and probe.frames is not None:
            have, want = tuple(probe.frames.shape[1:3]), tuple(self.wm.frame_size)
            if have != want:
                raise InputError(
                    f"{cfg.source}: dataset frames are {have[1]}x{have[0]} (WxH) but the model + VAE make "
                    f"{want[1]}x{want[0]} frames; set 'resize: [{want[0]}, {want[1]}]' or use a matching model"
                )
        if probe.latents is not None:
            have_l = tuple(probe.latents.shape[1:])
            want_l = (mc.in_channels, *mc.latent_size)
            if have_l != want_l:
                raise InputError(
                    f"{cfg.source}: dataset latents are {have_l} (C, h, w) but the model takes {want_l}; "
                    "the dataset was encoded for another model/VAE"
                )

    def _mu_act(self, spec: dict[str, Any]) -> float | None:
        """mu_act for a method's m(a) definition (see :mod:`freeaction.eval.config`)."""
        if not needs_mu_act(spec):
            return None
        if self.cfg.mu_act is not None:
            return float(self.cfg.mu_act)
        kind, dims = magnitude_definition(spec)
        want = {"magnitude": kind, "dims": None if dims is None else list(dims)}
        for stats in (self.wm.action_stats, getattr(self.ds, "stats", None)):
            if stats and stats.get("mu_act") is not None:
                have = {"magnitude": stats.get("magnitude", "l2"), "dims": stats.get("dims")}
                # m(a) is taken over one chunk of F-1 actions: stats of other windows do not apply
                same_window = stats.get("num_frames") in (None, self.wm.config.num_frames)
                if have == want and same_window:
                    return float(stats["mu_act"])
        cache = self._mu_cache = getattr(self, "_mu_cache", {})
        if (kind, dims) not in cache:
            from freeaction.data import compute_stats, open_dataset

            try:
                train = open_dataset(self.cfg.dataset, "train", frames=False, num_frames=self.wm.config.num_frames)
                cache[(kind, dims)] = float(compute_stats(train, kind, dims)["mu_act"])
            except DataError as exc:
                raise InputError(
                    f"{self.cfg.source}: method {spec['name']!r} needs mu_act for m(a) = {kind} (dims {dims}); the "
                    f"checkpoint and dataset statistics have none for it and the train split gives none ({exc}); "
                    "set 'mu_act' in the config or the method's truncation"
                ) from exc
        return cache[(kind, dims)]

    def _resolve_methods(self) -> list[Method]:
        methods = []
        self.method_info: dict[str, dict[str, Any]] = {}
        for spec in self.cfg.method_dicts():
            try:
                m = resolve_method(spec, self._mu_act(spec))
            except ValueError as exc:
                raise InputError(f"{self.cfg.source}: method {spec.get('name')!r}: {exc}") from exc
            methods.append(m)
            self.method_info[m.name] = {**method_spec(m), **{k: spec[k] for k in ("axis", "value") if k in spec}}
        return methods

    def _load_extras(self) -> None:
        from freeaction.eval.frechet import FeatureExtractor

        cfg = self.cfg
        self.idm = None
        if cfg.idm:
            from freeaction.eval.inverse_dynamics import load_idm

            self.idm = load_idm(cfg.idm, self.device)
            if self.idm.config.action_dim != self.wm.config.action_dim:
                raise InputError(
                    f"{cfg.source}: 'idm' {cfg.idm} predicts {self.idm.config.action_dim}-D actions; "
                    f"the model takes {self.wm.config.action_dim}-D"
                )
        self.extractors = {}
        for kind, path in (("fvd", cfg.fvd_weights), ("fid", cfg.fid_weights)):
            if path:
                if self.wm.vae is None:
                    raise InputError(f"{cfg.source}: {kind} needs decoded frames: set 'vae'")
                self.extractors[kind] = FeatureExtractor(path, kind, self.device)

    def _write_run_file(self) -> None:
        cfg = self.cfg
        info = {k: getattr(cfg, k) for k in FROZEN_FIELDS}
        info["seeds"] = cfg.seed_list
        info["steps"] = cfg.steps
        path = self.out / RUN_FILE
        old = json.loads(path.read_text()) if path.is_file() else None
        info["weights_sha256"] = self.weights
        if old and old["settings"].get("weights_sha256") != self.weights:
            was = old["settings"].get("weights_sha256")
            raise InputError(
                f"{cfg.source}: {self.out} holds results made with other weights than {cfg.checkpoint}'s now "
                f"(sha256 {was[:12] if was else 'not recorded'} there, {self.weights[:12]} now); use another 'out' "
                "folder (or delete the old results)"
            )
        if old:
            for k in FROZEN_FIELDS:
                if json.dumps(old["settings"].get(k, FROZEN_DEFAULTS.get(k))) != json.dumps(info[k]):
                    raise InputError(
                        f"{cfg.source}: {self.out} holds results made with {k} = {old['settings'].get(k)!r}, this "
                        f"config has {info[k]!r}; use another 'out' folder (or delete the old results)"
                    )
            for name, spec in self.method_info.items():
                prev = old["methods"].get(name)
                if prev is not None and {k: prev[k] for k in ("guidance", "truncation")} != {
                    k: spec[k] for k in ("guidance", "truncation")
                }:
                    raise InputError(
                        f"{cfg.source}: method {name!r} was run in {self.out} with other options ({prev}); "
                        "rename it or use another 'out' folder"
                    )
        methods = {**(old or {}).get("methods", {}), **self.method_info}
        run = {
            "format": "freeaction-eval/1",
            "settings": info,
            "vae": self.vae_path,
            "baseline": cfg.baseline,
            "protocols": cfg.protocols,
            "method_order": [m.name for m in self.methods],
            "methods": methods,
            "model": self.wm.config.to_dict(),
            "dataset_format": self.ds.format,
            "idm": cfg.idm,
            "idm_info": getattr(self.idm, "info", None),
            "bootstrap": cfg.bootstrap,
            "sweep": cfg.sweep or None,
            "world_size": self.world,
        }
        if self.rank == 0:
            tmp = path.with_name(f".{RUN_FILE}.tmp")
            tmp.write_text(json.dumps(run, indent=1, sort_keys=True))
            os.replace(tmp, path)

    # -- work list --------------------------------------------------------------------------------
    def items(self, protocol: str) -> list[Item]:
        """This rank's clips (short) or episodes (long), in order."""
        cfg = self.cfg
        if protocol == "short":
            chosen = select(len(self.ds), cfg.clips, "clips")
            keys = [f"{self.ds.episode_id(self.ds.windows[k][0])}@{self.ds.windows[k][1]}" for k in chosen]
        else:
            chosen = select(self.ds.num_episodes, cfg.episodes, "episodes")
            keys = [f"{self.ds.episode_id(k)}" for k in chosen]
        n_save = min(int(cfg.save_videos), len(chosen))
        saved = set(np.linspace(0, len(chosen) - 1, n_save).round().astype(int).tolist()) if n_save else set()
        return [
            Item(protocol, idx, key, pos in saved)
            for pos, (idx, key) in enumerate(zip(chosen, keys, strict=True))
            if pos % self.world == self.rank
        ]

    def _unit_done(self, item: Item, method: str) -> bool:
        done = self.writer.done
        seeds_done = all(("sample", item.protocol, method, item.key, s) in done for s in self.cfg.seed_list)
        return seeds_done and ("clip", item.protocol, method, item.key, None) in done

    def _groups(self, items: list[Item]) -> Iterator[list[Item]]:
        per = 1 if items and items[0].protocol == "long" else max(1, self.cfg.batch_size // len(self.cfg.seed_list))
        for i in range(0, len(items), per):
            yield items[i : i + per]

    # -- loading and measuring --------------------------------------------------------------------
    def _load(self, item: Item) -> Loaded:
        clip = self.ds[item.index] if item.protocol == "short" else self.ds.episode(item.index)
        actions, frames, start = clip.actions, clip.frames, clip.start
        if item.protocol == "long" and self.cfg.long_max_actions:
            n = int(self.cfg.long_max_actions)
            actions, frames = actions[:n], None if frames is None else frames[: n + 1]
        latents = clip.latents
        if latents is None:
            latents = self.wm.encode(frames).cpu()
        latents = latents[: len(actions) + 1].float()
        loaded = Loaded(item, torch.from_numpy(np.asarray(actions)), latents, frames, start)
        if frames is not None:
            loaded.track = EffectorTrack.from_clip_meta(clip.meta, tuple(frames.shape[1:3]))
        return loaded

    def _frame_metrics(self, frames: np.ndarray | None, clip: Loaded) -> dict[str, Any]:
        """Metrics that read a video's frames: adherence (IDM), effector error."""
        out: dict[str, Any] = {}
        if frames is None:
            return out
        if self.idm is not None:
            out["idm_error"] = self.idm.error(frames, clip.actions.numpy())
        if clip.track is not None:
            out.update(clip.track.error(frames, clip.start))
        return out

    def _reference(self, clip: Loaded) -> dict[str, Any] | None:
        """Floors measured on the real video: IDM / effector error, VAE reconstruction PSNR/SSIM."""
        row: dict[str, Any] = {}
        if clip.frames is not None:
            row.update(self._frame_metrics(clip.frames, clip))
            recon = self.wm.decode(clip.latents.to(self.device), quantize=self.scoring.quantize)
            scores = self.scoring.frame_metrics(clip.item.protocol, recon, clip.frames)
            row.update({f"vae_{k}": v for k, v in scores.items() if not k.endswith("_per_frame")})
            for kind, extractor in self.extractors.items():
                feats = clip_features(self.scoring, extractor, kind, clip.frames, real=True)
                self._save_features(feats, clip.item, REAL, None, kind)
            if clip.item.save_video:
                self._save_video(clip.frames, clip.item, TRUTH)
        return row

    def _save_video(self, frames: np.ndarray, item: Item, name: str) -> None:
        """``videos/<protocol>/<clip>/<method>.mp4`` (``_truth.mp4``: the real video)."""
        from freeaction.media import VideoWriter

        stem = name if name == TRUTH else slug(name)  # slugs never start with "_": no clash with TRUTH
        target = self.out / "videos" / item.protocol / slug(item.key) / f"{stem}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with VideoWriter(tmp, fps=4, crf=18) as w:
            w.write(frames)
        os.replace(tmp, target)

    def _save_features(self, feats: np.ndarray, item: Item, method: str, seed: int | None, kind: str) -> None:
        folder = method if method == REAL else slug(method)
        target = self.out / "features" / kind / item.protocol / folder / f"{slug(item.key)}_{seed}.npy"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp.npy")
        np.save(tmp, feats.astype(np.float32))
        os.replace(tmp, target)

    def _run_method(self, method: Method, clips: list[Loaded]) -> None:
        """Sample every seed of every clip under ``method``, measure, write one unit at a time."""
        seeds = self.cfg.seed_list
        jobs = [(c, s) for c in clips for s in seeds]
        results: list[torch.Tensor] = []
        bs = int(self.cfg.batch_size)
        for i in range(0, len(jobs), bs):
            part = jobs[i : i + bs]
            out = self.wm.generate_batch(
                torch.stack([c.latents[0] for c, _ in part]),
                torch.stack([c.actions for c, _ in part]),
                method=method,
                sampler=self.cfg.sampler,
                steps=self.cfg.steps,
                seeds=[derive_seed(s, c.item.key) for c, s in part],
            )
            results.extend(out.cpu())
        for c_i, clip in enumerate(clips):
            lat = results[c_i * len(seeds) : (c_i + 1) * len(seeds)]
            rows = []
            decoded = (
                self.wm.decode(torch.stack(lat).to(self.device), quantize=self.scoring.quantize)
                if self.wm.vae is not None
                else None
            )
            frames_all = list(decoded) if decoded is not None else [None] * len(seeds)
            for s_i, (seed, gen, frames) in enumerate(zip(seeds, lat, frames_all, strict=True)):
                score = self.scoring.short if clip.item.protocol == "short" else self.scoring.long
                metrics: dict[str, Any] = score(gen, clip.latents, frames, clip.frames)
                metrics.update(self._frame_metrics(frames, clip))
                for kind, extractor in self.extractors.items():
                    feats = clip_features(self.scoring, extractor, kind, frames, real=False)
                    self._save_features(feats, clip.item, method.name, seed, kind)
                if clip.item.save_video and s_i == 0 and frames is not None:
                    self._save_video(frames, clip.item, method.name)
                metrics["sampler_seed"] = derive_seed(seed, clip.item.key)
                rows.append(self._row("sample", clip.item, method.name, seed, metrics))
            div = diversity(list(lat), frames_all if decoded is not None else None)
            rows.append(self._row("clip", clip.item, method.name, None, div))
            self.writer.append(rows)
            self._bar.update(1)

    def _row(self, kind: str, item: Item, method: str | None, seed: int | None, metrics: dict) -> dict[str, Any]:
        return {
            "kind": kind,
            "protocol": item.protocol,
            "method": method,
            "clip": item.key,
            "clip_index": item.index,
            "seed": seed,
            **metrics,
        }

    # -- the run ----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Evaluate this rank's share; returns counts and timing."""
        from tqdm.auto import tqdm

        start = time.perf_counter()
        work = {p: self.items(p) for p in self.cfg.protocols}
        todo = sum(1 for p in work for it in work[p] for m in self.methods if not self._unit_done(it, m.name))
        written_before = len(self.writer.done)
        self._bar = tqdm(
            total=todo,
            desc=f"evaluate (rank {self.rank}/{self.world})" if self.world > 1 else "evaluate",
            unit="clip-method",
            disable=not self.progress,
        )
        samples = 0
        for protocol, items in work.items():
            for group in self._groups(items):
                pending = {m.name: [it for it in group if not self._unit_done(it, m.name)] for m in self.methods}
                need_ref = [it for it in group if ("reference", protocol, None, it.key, None) not in self.writer.done]
                needed = {it.key for its in pending.values() for it in its} | {it.key for it in need_ref}
                if not needed:
                    continue
                loaded = {it.key: self._load(it) for it in group if it.key in needed}
                for it in need_ref:
                    ref = self._reference(loaded[it.key])
                    self.writer.append([self._row("reference", it, None, None, ref or {})])
                for m in self.methods:
                    if pending[m.name]:
                        self._run_method(m, [loaded[it.key] for it in pending[m.name]])
                        samples += len(pending[m.name]) * len(self.cfg.seed_list)
        self._bar.close()
        self.writer.finish()
        return {
            "rank": self.rank,
            "world_size": self.world,
            "units": todo,
            "samples": samples,
            "rows_written": len(self.writer.done) - written_before,
            "seconds": time.perf_counter() - start,
        }


def finish_run(out: str | Path, world: int, rank: int, *, report: bool = True) -> Path | None:
    """After this rank's share: merge the shards (and build the report) once every rank is done.

    Under a torch.distributed launch every rank waits for the others and rank 0 merges; without
    one (independent processes), whichever rank sees every shard done merges.
    """
    if world > 1 and os.environ.get("MASTER_ADDR"):
        try:
            from accelerate import PartialState

            PartialState().wait_for_everyone()
        except Exception:  # a failed barrier only delays the merge to `--merge`
            pass
        if rank != 0:
            return None
    if not all_shards_done(out, world):
        return None
    merged = merge_shards(out)
    if report:
        from freeaction.report import build_report

        build_report(out)
    return merged


def evaluate(cfg: EvalConfig, *, progress: bool = True, report: bool = True) -> dict[str, Any]:
    """Run ``cfg`` (this process's share), then merge and report when every rank is done."""
    evaluator = Evaluator(cfg, progress=progress)
    summary = evaluator.run()
    merged = finish_run(cfg.out, evaluator.world, evaluator.rank, report=report)
    summary["merged"] = str(merged) if merged else None
    return summary
