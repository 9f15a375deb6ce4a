"""``freeaction evaluate``: every method on the same clips with the same seeds, resumable and sharded.

The unit of work is (protocol, method, clip): all seeds of one clip under one method, sampled
in one batch together with other clips of the same group, measured
(:mod:`~freeaction.eval.measure`), and written as rows to the results folder
(:mod:`~freeaction.eval.results_folder`) before the next unit starts. Clips
(:mod:`~freeaction.eval.clips`) are loaded once per group and shared by every method; their
sampler seeds depend only on the seed and the clip, so methods are paired by construction.

Reference rows (``references`` in the config, short protocol): ``still`` is measured on the
context frame's latent repeated; ``shuffled`` is the baseline method sampled with the next
chosen clip's actions and the clip's own sampler seeds. Both are written as rows of their own
"method" name, measured like any method's, without videos or FVD/FID features.

Distributed: under ``accelerate launch`` (or torchrun) the clip list is split by rank, clip i
going to rank ``i mod world_size``; each rank writes its own shard; the last rank to finish (rank
0 under a launcher) merges them. A second run into a folder that a run is writing is refused.
Building the report is the caller's: :func:`evaluate` takes it as ``report`` (the ``freeaction
evaluate`` command passes :func:`freeaction.report.build_report`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from freeaction.diffusion.sampler import observe_steps
from freeaction.errors import DataError, InputError
from freeaction.eval.clips import ClipRef, TestClip, derive_seed, load_clip, open_test_split, select, work_list
from freeaction.eval.config import REFERENCES, EvalConfig, check_against_dataset
from freeaction.eval.diversity import diversity
from freeaction.eval.measure import load_gripper_reader, load_tools, reference_metrics, sample_metrics
from freeaction.eval.results_folder import (
    FORMAT,
    FROZEN_FIELDS,
    RUN_FILE,
    ShardWriter,
    all_shards_done,
    check_resumable,
    feature_path,
    lock_share,
    merge_shards,
    read_run,
    video_path,
    weights_digest,
    write_run,
)
from freeaction.eval.scoring import clip_features, scoring_mode
from freeaction.files import atomic_open, atomic_path
from freeaction.media import VideoWriter
from freeaction.method import Method, resolve_method_mu_act, stats_mismatch
from freeaction.pipeline import WorldModel
from freeaction.shipped import resolve_checkpoint


def dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as set by accelerate launch / torchrun (0, 1, 0 otherwise)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def pick_device(name: str, local_rank: int) -> str:
    if name != "auto":
        return name
    return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"


def load_world_model(cfg: EvalConfig, device: str) -> tuple[WorldModel, str | None]:
    """The model of ``cfg`` and the VAE folder it decodes with (``<checkpoint>/vae`` by default)."""
    vae = cfg.vae
    if vae is None and Path(cfg.checkpoint).is_dir() and (Path(cfg.checkpoint) / "vae").is_dir():
        vae = str(Path(cfg.checkpoint) / "vae")
    return WorldModel.load(cfg.checkpoint, vae, device=device, precision=cfg.precision), vae


def generate_in_batches(
    wm: WorldModel, contexts: torch.Tensor, actions: torch.Tensor, seeds: list[int], *, batch_size: int,
    sampler: str, steps: int | None, method: Method | None = None, progress: bool = False, desc: str = "sample",
) -> list[torch.Tensor]:
    """Generate clip i from ``contexts[i]`` (C, h, w) and ``actions[i]`` (n, A) with sampler seed
    ``seeds[i]``, ``batch_size`` clips per sampler call; the latents (n + 1, C, h, w), on the CPU."""
    out: list[torch.Tensor] = []
    starts = range(0, len(seeds), batch_size)
    # the bar moves per sampling step (one batch of a long rollout takes minutes on a CPU)
    with tqdm(desc=desc, unit="step", disable=not progress) as bar, observe_steps(lambda i, t, x: bar.update()):
        for b, i in enumerate(starts):
            bar.set_postfix_str(f"batch {b + 1}/{len(starts)}, {min(i + batch_size, len(seeds))}/{len(seeds)} clips")
            out.extend(wm.generate_batch(contexts[i : i + batch_size], actions[i : i + batch_size], method=method,
                                         sampler=sampler, steps=steps, seeds=seeds[i : i + batch_size]).cpu())
    return out


class Evaluator:
    """Runs one :class:`EvalConfig` (this process's share of it) into ``cfg.out``.

    Holds the share's lock from construction until :meth:`close` (or the ``with`` block's end)."""

    def __init__(self, cfg: EvalConfig, *, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.rank, self.world, local_rank = dist_env()
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.lock = lock_share(self.out, self.rank, self.world)
        try:
            self.device = pick_device(cfg.device, local_rank)
            self.scoring = scoring_mode(cfg.scoring)
            self.wm, self.vae_path = load_world_model(cfg, self.device)
            self.weights = weights_digest(resolve_checkpoint(cfg.checkpoint), self.vae_path)
            self.clip_frames = int(cfg.clip_frames or self.wm.config.num_frames)
            self.ds = open_test_split(self.wm, cfg.dataset, cfg.split, self.clip_frames, resize=cfg.resize,
                                      camera=cfg.camera, source=cfg.source)
            check_against_dataset(cfg, self.clip_frames, len(self.ds))
            self.methods = self._resolve_methods()
            self.idm, self.extractors = load_tools(
                cfg.idm, cfg.fvd_weights, cfg.fid_weights, action_dim=self.wm.config.action_dim,
                has_vae=self.wm.vae is not None, device=self.device, source=cfg.source)
            self.gripper = load_gripper_reader(
                cfg.gripper_reader if self.wm.vae is not None else None, cfg.dataset,
                frame_size=self.wm.frame_size, device=self.device, progress=progress)
            self._write_run_file()
            self.writer = ShardWriter(self.out, self.rank, self.world)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release this share of the results folder."""
        self.lock.release()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup ------------------------------------------------------------------------------------
    def _dataset_stats(self, kind: str, dims: tuple[int, ...] | None) -> dict[str, Any]:
        """Statistics for m(a) = (kind, dims) over the model's window: the dataset's saved ones if
        they match, else computed from its ``train`` split (cached per definition)."""
        num_frames = self.wm.config.num_frames
        saved = getattr(self.ds, "stats", None)
        if saved and saved.get("mu_act") is not None and not stats_mismatch(saved, kind, dims, num_frames):
            return saved
        cache = self._stats_cache = getattr(self, "_stats_cache", {})
        if (kind, dims) not in cache:
            from freeaction.data import compute_stats, open_dataset

            try:
                train = open_dataset(self.cfg.dataset, "train", frames=False, num_frames=num_frames)
                cache[(kind, dims)] = compute_stats(train, kind, dims)
            except DataError as exc:
                raise InputError(
                    f"{self.cfg.source}: a method needs mu_act for m(a) = {kind} (dims {dims}); the "
                    f"checkpoint and dataset statistics have none for it and the train split gives none ({exc}); "
                    "set 'mu_act' in the config or the method's truncation"
                ) from exc
        return cache[(kind, dims)]

    def _resolve_methods(self) -> list[Method]:
        """The config's methods with mu_act chosen by :func:`freeaction.method.resolve_mu_act`."""
        methods = []
        self.method_info: dict[str, dict[str, Any]] = {}
        for method, notes in self.cfg.parse_methods():
            try:
                method.check_action_dim(self.wm.config.action_dim)
                t = method.truncation
                method, _ = resolve_method_mu_act(
                    method, self.cfg.mu_act, None, self.wm.action_stats, self.wm.config.num_frames,
                    compute=lambda t=t: self._dataset_stats(t.magnitude, t.magnitude_dims),
                )
            except ValueError as exc:
                raise InputError(f"{self.cfg.source}: method {method.name!r}: {exc}") from exc
            methods.append(method)
            self.method_info[method.name] = {**method.to_dict(), **notes}
        return methods

    def _write_run_file(self) -> None:
        """Check the folder's ``run.json`` (if any) against this run, then record the union of both."""
        cfg = self.cfg
        settings = {k: getattr(cfg, k) for k in FROZEN_FIELDS}
        settings["seeds"] = cfg.seed_list
        settings["weights_sha256"] = self.weights
        run = {
            "format": FORMAT,
            "settings": settings,
            "vae": self.vae_path,
            "baseline": cfg.baseline,
            "protocols": cfg.protocols,
            "method_order": [m.name for m in self.methods],
            "methods": self.method_info,
            "model": self.wm.config.to_dict(),
            "dataset_format": self.ds.format,
            "idm": cfg.idm,
            "idm_info": getattr(self.idm, "info", None),
            "references": cfg.references,
            "shuffled_method": cfg.baseline if "shuffled" in cfg.references else None,
            "gripper_reader_info": self.gripper.info if self.gripper is not None else None,
            "bootstrap": cfg.bootstrap,
            "sweep": cfg.sweep or None,
            "world_size": self.world,
        }
        if (self.out / RUN_FILE).is_file():
            old = read_run(self.out)
            check_resumable(old, run, self.out, cfg.source)
            run["methods"] = {**old["methods"], **self.method_info}
            was = old.get("shuffled_method")
            if was and run["shuffled_method"] and was != run["shuffled_method"]:
                raise InputError(f"{cfg.source}: {self.out} holds 'shuffled' reference rows sampled with {was!r}; "
                                 f"this config's baseline is {cfg.baseline!r}; use another 'out' folder")
            run["references"] = [r for r in REFERENCES if r in {*old.get("references", []), *cfg.references}]
            run["shuffled_method"] = was or run["shuffled_method"]
        if self.rank == 0:
            write_run(self.out, run)

    # -- work list --------------------------------------------------------------------------------
    def items(self, protocol: str) -> list[ClipRef]:
        """This rank's clips (short) or episodes (long), in order; for the short protocol, also
        records each chosen clip's action donor for the ``shuffled`` reference (the next chosen clip)."""
        if protocol == "short":
            chosen = select(len(self.ds), self.cfg.clips, "clips")
            self.donors = {idx: chosen[(pos + 1) % len(chosen)] for pos, idx in enumerate(chosen)}
            if "shuffled" in self.cfg.references and len(chosen) < 2:
                raise InputError(f"{self.cfg.source}: reference 'shuffled' needs at least 2 clips; "
                                 f"{len(chosen)} chosen")
        else:
            chosen = select(self.ds.num_episodes, self.cfg.episodes, "episodes")
        return work_list(self.ds, protocol, chosen, self.cfg.save_videos, self.rank, self.world)

    def rows_of(self, protocol: str) -> list[str]:
        """The names whose rows each clip of ``protocol`` gets: the methods, then the references."""
        return [m.name for m in self.methods] + (list(self.cfg.references) if protocol == "short" else [])

    def _unit_done(self, item: ClipRef, method: str) -> bool:
        done = self.writer.done
        seeds_done = all(("sample", item.protocol, method, item.key, s) in done for s in self.cfg.seed_list)
        return seeds_done and ("clip", item.protocol, method, item.key, None) in done

    def _groups(self, items: list[ClipRef]) -> Iterator[list[ClipRef]]:
        per = 1 if items and items[0].protocol == "long" else max(1, self.cfg.batch_size // len(self.cfg.seed_list))
        for i in range(0, len(items), per):
            yield items[i : i + per]

    def _load(self, item: ClipRef) -> TestClip:
        return load_clip(self.ds, item, self.wm, self.cfg.long_max_actions)

    # -- saving and measuring ---------------------------------------------------------------------
    def _save_video(self, frames: np.ndarray, item: ClipRef, method: str | None) -> None:
        target = video_path(self.out, item.protocol, item.key, method)
        with atomic_path(target) as tmp, VideoWriter(tmp, fps=4, crf=18) as w:
            w.write(frames)

    def _save_features(self, frames: np.ndarray, item: ClipRef, method: str | None, seed: int | None) -> None:
        for kind, extractor in self.extractors.items():
            target = feature_path(self.out, kind, item.protocol, method, item.key, seed)
            feats = clip_features(self.scoring, extractor, kind, frames, real=method is None)
            with atomic_open(target) as f:
                np.save(f, feats.astype(np.float32))

    def _reference(self, clip: TestClip) -> dict[str, Any]:
        """Floors on the real clip (empty without frames); saves its features and video."""
        if clip.frames is None:
            return {}
        recon = self.wm.decode(clip.latents.to(self.device), quantize=self.scoring.quantize)
        row = reference_metrics(clip, recon, self.idm, self.scoring, self.gripper)
        self._save_features(clip.frames, clip.ref, None, None)
        if clip.ref.save_video:
            self._save_video(clip.frames, clip.ref, None)
        return row

    def _sample(self, method: Method, clips: list[TestClip], actions: list[torch.Tensor] | None = None
                ) -> list[torch.Tensor]:
        """Every seed of every clip under ``method`` (clip-major), with each clip's own actions or ``actions``."""
        seeds = self.cfg.seed_list
        acts = [a for a in (actions or [c.actions for c in clips]) for _ in seeds]
        return generate_in_batches(
            self.wm, torch.stack([c.latents[0] for c in clips for _ in seeds]), torch.stack(acts),
            [derive_seed(s, c.ref.key) for c in clips for s in seeds], batch_size=int(self.cfg.batch_size),
            sampler=self.cfg.sampler, steps=self.cfg.steps, method=method)

    def _run_method(self, method: Method, clips: list[TestClip]) -> None:
        """Sample every seed of every clip under ``method``, measure, write one unit at a time."""
        self._measure(method.name, clips, self._sample(method, clips), keep=True)

    def _run_reference(self, name: str, clips: list[TestClip]) -> None:
        """The reference rows ``name`` (see the module doc) of ``clips``, measured like a method's."""
        n_seeds = len(self.cfg.seed_list)
        if name == "still":
            results = [c.latents[:1].expand_as(c.latents).clone() for c in clips for _ in range(n_seeds)]
        else:
            donors = [self.ds[self.donors[c.ref.index]].actions for c in clips]
            baseline = next(m for m in self.methods if m.name == self.cfg.baseline)
            results = self._sample(baseline, clips, [torch.from_numpy(np.asarray(a)) for a in donors])
        self._measure(name, clips, results, keep=False)

    def _measure(self, name: str, clips: list[TestClip], results: list[torch.Tensor], keep: bool) -> None:
        """Measure every seed's latents of every clip (clip-major ``results``) and write the rows of
        ``name``, one unit at a time; ``keep``: also save features and videos."""
        seeds = self.cfg.seed_list
        for c_i, clip in enumerate(clips):
            lat = results[c_i * len(seeds) : (c_i + 1) * len(seeds)]
            decoded = (self.wm.decode(torch.stack(lat).to(self.device), quantize=self.scoring.quantize)
                       if self.wm.vae is not None else None)
            frames_all = list(decoded) if decoded is not None else [None] * len(seeds)
            rows = []
            for s_i, (seed, gen, frames) in enumerate(zip(seeds, lat, frames_all, strict=True)):
                metrics = sample_metrics(gen, frames, clip, self.idm, self.scoring, self.gripper)
                if frames is not None and keep:
                    self._save_features(frames, clip.ref, name, seed)
                    if clip.ref.save_video and s_i == 0:
                        self._save_video(frames, clip.ref, name)
                metrics["sampler_seed"] = derive_seed(seed, clip.ref.key)
                rows.append(self._row("sample", clip.ref, name, seed, metrics))
            div = diversity(list(lat), frames_all if decoded is not None else None)
            rows.append(self._row("clip", clip.ref, name, None, div))
            self.writer.append(rows)
            self._bar.update(1)

    def _row(self, kind: str, item: ClipRef, method: str | None, seed: int | None, metrics: dict) -> dict[str, Any]:
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
        start = time.perf_counter()
        work = {p: self.items(p) for p in self.cfg.protocols}
        todo = sum(1 for p in work for it in work[p] for name in self.rows_of(p) if not self._unit_done(it, name))
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
                pending = {name: [it for it in group if not self._unit_done(it, name)]
                           for name in self.rows_of(protocol)}
                need_ref = [it for it in group if ("reference", protocol, None, it.key, None) not in self.writer.done]
                needed = {it.key for its in pending.values() for it in its} | {it.key for it in need_ref}
                if not needed:
                    continue
                loaded = {it.key: self._load(it) for it in group if it.key in needed}
                for it in need_ref:
                    self.writer.append([self._row("reference", it, None, None, self._reference(loaded[it.key]))])
                for m in self.methods:
                    if pending[m.name]:
                        self._run_method(m, [loaded[it.key] for it in pending[m.name]])
                        samples += len(pending[m.name]) * len(self.cfg.seed_list)
                for name in self.rows_of(protocol)[len(self.methods):]:
                    if pending[name]:
                        self._run_reference(name, [loaded[it.key] for it in pending[name]])
        self._bar.close()
        self.writer.finish()
        return {
            "rank": self.rank,
            "world_size": self.world,
            "units": todo,
            "samples": samples,
            "rows_written": len(self.writer.done) - written_before,
            "failed_rows": self.writer.failed_rows,
            "seconds": time.perf_counter() - start,
        }


def finish_run(out: str | Path, world: int, rank: int) -> Path | None:
    """After this rank's share: merge the shards once every rank is done; the merged file, or None.

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
    return merge_shards(out)


def evaluate(
    cfg: EvalConfig, *, progress: bool = True, report: Callable[[Path], Any] | None = None
) -> dict[str, Any]:
    """Run ``cfg`` (this process's share), merge when every rank is done, then call ``report`` with the
    results folder (e.g. :func:`freeaction.report.build_report`; None or False: no report)."""
    with Evaluator(cfg, progress=progress) as evaluator:
        summary = evaluator.run()
        merged = finish_run(cfg.out, evaluator.world, evaluator.rank)
    if merged and report:
        report(Path(cfg.out))
    summary["merged"] = str(merged) if merged else None
    return summary
