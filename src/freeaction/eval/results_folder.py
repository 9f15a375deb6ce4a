"""The results folder of ``freeaction evaluate``: its layout, its files, and who may write them.

This module is the one owner of the format; the runner writes through it and the report reads
through it. Layout::

    run.json                          the settings, methods and model the rows were made with
    shards/rank000-of-001.jsonl       rows written by one process (rank r of world size w)
    shards/rank000-of-001.done        written when that process finished its share
    shards/rank000-of-001.lock        held while that process runs (a second run is refused)
    results.jsonl                     every row of every shard, deduplicated and sorted (merge)
    videos/<protocol>/<clip>/<method>.mp4     saved videos (``_truth.mp4``: the real clip)
    features/<kind>/<protocol>/<method>/<clip>_<seed>.npy   FVD/FID features (``_real``: real clips)

Clip and method names become file names through :func:`slug`; the evaluation refuses method
names whose slugs coincide, and clip keys are made slug-unique by :mod:`freeaction.eval.clips`.

Every row is one JSON object on one line, keyed by ``(kind, protocol, method, clip, seed)``:

- ``kind: "sample"``: the metrics of one generated video (one method, clip and seed);
- ``kind: "clip"``: per (method, clip) quantities over its seeds (diversity), ``seed: null``;
- ``kind: "reference"``: per-clip floors measured on the real video (``method: null``).

A metric that came out NaN or infinite is written as ``null`` and named in the row's
``failed`` list, so the report can count it instead of averaging over fewer clips unseen.

Rows are written with one ``write`` + ``flush`` + ``fsync`` per unit of work, so a process
killed at any moment loses at most the unit in flight. When a process opens its shard again
it cuts off a torn last line; readers skip one too. A resumed run skips the keys present in
*any* shard (so it may even resume with another number of processes) and writes only the rows
that are missing, so no row is lost or duplicated.

``run.json`` records the settings in :data:`FROZEN_FIELDS` and a sha256 of the weights; a run
into a folder whose ``run.json`` disagrees is refused by :func:`check_resumable`, naming the
field, both values and the fix.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock

from freeaction.diffusion.schedulers import DEFAULT_STEPS
from freeaction.errors import InputError
from freeaction.files import is_locked, try_lock
from freeaction.method import Method, migrate_legacy

FORMAT = "freeaction-eval/1"
RUN_FILE = "run.json"
SHARD_DIR = "shards"
MERGED = "results.jsonl"
TRUTH = "_truth"  # file stem of a clip's real video
REAL = "_real"  # feature folder of the real clips
# run.json settings that must not change between a run and its resumption
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
FROZEN_DEFAULTS = {"scoring": "freeaction"}  # what a run.json without the field was made with
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")

Key = tuple[str, str, str | None, str, int | None]
_SHARD_RE = re.compile(r"rank(\d+)-of-(\d+)\.jsonl$")


# -- names and paths ------------------------------------------------------------------------------
def slug(text: str) -> str:
    """A file-name-safe form of a clip or method name (never starts with ``_``: no clash with TRUTH/REAL)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "x"


def slug_clashes(names: Iterable[str]) -> list[list[str]]:
    """Groups of distinct names that share one file name (``"a b"`` and ``"a_b"``)."""
    by_slug: dict[str, list[str]] = {}
    for n in dict.fromkeys(names):
        by_slug.setdefault(slug(n), []).append(n)
    return [group for group in by_slug.values() if len(group) > 1]


def video_path(out: str | Path, protocol: str, clip: str, method: str | None) -> Path:
    """``videos/<protocol>/<clip>/<method>.mp4``; ``method=None`` is the real clip (``_truth.mp4``)."""
    return Path(out) / "videos" / protocol / slug(clip) / f"{TRUTH if method is None else slug(method)}.mp4"


def feature_folder(out: str | Path, kind: str, protocol: str, method: str | None) -> Path:
    """Where the FVD/FID features of one method (``None``: the real clips) are saved."""
    return Path(out) / "features" / kind / protocol / (REAL if method is None else slug(method))


def feature_path(out: str | Path, kind: str, protocol: str, method: str | None, clip: str, seed: int | None) -> Path:
    return feature_folder(out, kind, protocol, method) / f"{slug(clip)}_{seed}.npy"


# -- run.json -------------------------------------------------------------------------------------
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


def read_run(out: str | Path) -> dict[str, Any]:
    """``run.json`` of a results folder (an error naming the folder when there is none)."""
    path = Path(out) / RUN_FILE
    if not path.is_file():
        raise InputError(f"{out}: no {RUN_FILE} (not a results folder of freeaction evaluate)")
    return json.loads(path.read_text())


def _effective_steps(settings: dict[str, Any]) -> Any:
    """Recorded steps, with ``null`` (the sampler's usual count, as earlier runs recorded it) made explicit."""
    steps = settings.get("steps")
    return DEFAULT_STEPS.get(settings.get("sampler"), 50) if steps is None else steps


def recorded_method(d: dict[str, Any]) -> Method | None:
    """The method a ``run.json`` entry records (earlier versions' keys migrated), None if unreadable."""
    try:
        return Method.from_dict(migrate_legacy({k: d[k] for k in ("name", "guidance", "truncation") if k in d}))
    except ValueError:
        return None


def check_resumable(old: dict[str, Any], new: dict[str, Any], out: str | Path, source: str) -> None:
    """Refuse to add ``new``'s rows to a folder whose ``run.json`` is ``old`` unless they agree on the
    format, the weights, every frozen setting, each shared method's options and the file names."""
    fix = "use another 'out' folder (or delete the old results)"
    if old.get("format") != FORMAT:
        raise InputError(
            f"{source}: {out} holds results of format {old.get('format')!r}; this version reads and writes "
            f"{FORMAT!r}; {fix}"
        )
    was, now = old["settings"].get("weights_sha256"), new["settings"]["weights_sha256"]
    if was != now:
        raise InputError(
            f"{source}: {out} holds results made with other weights than {new['settings']['checkpoint']}'s now "
            f"(sha256 {was[:12] if was else 'not recorded'} there, {now[:12]} now); {fix}"
        )
    for k in FROZEN_FIELDS:
        have, want = old["settings"].get(k, FROZEN_DEFAULTS.get(k)), new["settings"][k]
        if k == "steps":
            have, want = _effective_steps(old["settings"]), _effective_steps(new["settings"])
        if json.dumps(have) != json.dumps(want):
            why = ""
            if k in ("sampler", "steps"):
                why = (f" (a config without 'sampler'/'steps' samples as the model folder recommends; set "
                       f"'sampler: {old['settings'].get('sampler')}' and 'steps: {_effective_steps(old['settings'])}'"
                       " to resume)")
            raise InputError(
                f"{source}: {out} holds results made with {k} = {have!r}, this config has {want!r}{why}; {fix}"
            )
    for name, spec in new["methods"].items():
        prev = old["methods"].get(name)
        if prev is not None and recorded_method(prev) != recorded_method(spec):
            raise InputError(f"{source}: method {name!r} was run in {out} with other options ({prev}); "
                             "rename it or use another 'out' folder")
    clashes = slug_clashes([*old["methods"], *new["methods"]])
    if clashes:
        raise InputError(f"{source}: method names {clashes[0]} would share one file name in {out} "
                         f"({slug(clashes[0][0])!r}); rename one or use another 'out' folder")


def write_run(out: str | Path, run: dict[str, Any]) -> None:
    """Write ``run.json`` atomically (the previous one stays whole until the new one replaces it)."""
    path = Path(out) / RUN_FILE
    tmp = path.with_name(f".{RUN_FILE}.tmp")
    tmp.write_text(json.dumps(run, indent=1, sort_keys=True))
    os.replace(tmp, path)


# -- one writer per share -------------------------------------------------------------------------
def lock_share(out: str | Path, rank: int, world: int) -> FileLock:
    """Lock this process's share of ``out`` (rank ``rank`` of ``world``), refusing a second run into the
    same folder: one with the same share, or one running with another number of processes."""
    lock_file = shard_path(out, rank, world).with_suffix(".lock")
    lock = try_lock(lock_file, f"{out} (rank {rank} of {world}) is in use by another process (lock {lock_file}); "
                               "wait for it or stop it")
    for other in (Path(out) / SHARD_DIR).glob("rank*-of-*.lock"):
        if not other.name.endswith(f"-of-{world:03d}.lock") and is_locked(other):
            lock.release()
            raise InputError(f"{out} is in use by another evaluation with another number of processes "
                             f"(lock {other}); wait for it or stop it")
    return lock


# -- rows -----------------------------------------------------------------------------------------
def row_key(row: dict[str, Any]) -> Key:
    return (row["kind"], row["protocol"], row.get("method"), row["clip"], row.get("seed"))


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (JSON has no NaN/Inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def failed_metrics(metrics: dict[str, Any]) -> list[str]:
    """The names of the metrics that came out NaN or infinite (scalars, or lists holding one)."""
    def bad(v: Any) -> bool:
        if isinstance(v, float):
            return not math.isfinite(v)
        return isinstance(v, list | tuple) and any(bad(x) for x in v)

    return sorted(k for k, v in metrics.items() if bad(v))


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The complete rows of a JSONL file (a torn or unparsable line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # torn last line of a killed writer
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def cut_torn_line(path: str | Path) -> None:
    """Cut a torn last line (no trailing newline) that a killed writer left at the end of a JSONL
    file, so the next row starts a line of its own."""
    path = Path(path)
    if not path.is_file():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())


def shard_path(out: str | Path, rank: int, world: int) -> Path:
    return Path(out) / SHARD_DIR / f"rank{rank:03d}-of-{world:03d}.jsonl"


def shard_files(out: str | Path) -> list[Path]:
    return sorted(p for p in (Path(out) / SHARD_DIR).glob("rank*-of-*.jsonl") if _SHARD_RE.search(p.name))


class ShardWriter:
    """This process's shard: append rows durably; knows every key already written by anyone."""

    def __init__(self, out: str | Path, rank: int = 0, world: int = 1) -> None:
        self.out = Path(out)
        self.rank, self.world = rank, world
        self.path = shard_path(out, rank, world)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cut_torn_line(self.path)
        self.done: set[Key] = set()
        self.failed_rows = 0  # rows this writer wrote with a failed (NaN/inf) metric
        for p in [*shard_files(out), self.out / MERGED]:
            self.done.update(row_key(r) for r in read_rows(p))
        self.done_marker.unlink(missing_ok=True)

    @property
    def done_marker(self) -> Path:
        return self.path.with_suffix(".done")


    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        """Write the rows whose keys are new, in one write + fsync; returns how many were written.

        A row whose metrics include NaN/inf gets them listed under ``failed`` (and written as null)."""
        new = [r for r in rows if row_key(r) not in self.done]
        if not new:
            return 0
        lines = []
        for r in new:
            failed = failed_metrics(r)
            if failed:
                self.failed_rows += 1
            lines.append(json.dumps(_clean({**r, "failed": failed} if failed else r), sort_keys=True,
                                    allow_nan=False) + "\n")
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
        self.done.update(row_key(r) for r in new)
        return len(new)

    def finish(self) -> None:
        """Mark this process's share as complete."""
        self.done_marker.write_text("done\n")


def all_shards_done(out: str | Path, world: int) -> bool:
    return all(shard_path(out, r, world).with_suffix(".done").is_file() for r in range(world))


def _sort_key(row: dict[str, Any]) -> tuple:
    return (
        row["protocol"],
        row["kind"],
        row.get("method") or "",
        row.get("clip_index", 0),
        row["clip"],
        -1 if row.get("seed") is None else row["seed"],
    )


def merge_shards(out: str | Path) -> Path:
    """Every shard's rows (and an earlier merge's), deduplicated by key, sorted, into ``results.jsonl``."""
    out = Path(out)
    rows: dict[Key, dict[str, Any]] = {}
    for p in [out / MERGED, *shard_files(out)]:
        for r in read_rows(p):
            rows.setdefault(row_key(r), r)
    target = out / MERGED
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in sorted(rows.values(), key=_sort_key):
            f.write(json.dumps(r, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def load_results(out: str | Path) -> list[dict[str, Any]]:
    """The merged rows of a results folder (merging the shards first when they are newer)."""
    out = Path(out)
    merged, shards = out / MERGED, shard_files(out)
    if not merged.is_file() and not shards:
        raise InputError(f"{out}: no results here (expected {MERGED} or {SHARD_DIR}/*.jsonl of freeaction evaluate)")
    if not merged.is_file() or any(p.stat().st_mtime >= merged.stat().st_mtime for p in shards):
        merge_shards(out)
    return read_rows(merged)
