"""Append-only, crash-safe result rows: one JSONL shard per process, merged at the end.

Layout of a results folder::

    run.json                         the settings and methods the rows were made with
    shards/rank000-of-001.jsonl      rows written by one process (rank r of world size w)
    shards/rank000-of-001.done       written when that process finished its share
    results.jsonl                    every row of every shard, deduplicated and sorted (merge)

Every row is one JSON object on one line, keyed by ``(kind, protocol, method, clip, seed)``:

- ``kind: "sample"``: the metrics of one generated video (one method, clip and seed);
- ``kind: "clip"``: per (method, clip) quantities over its seeds (diversity), ``seed: null``;
- ``kind: "reference"``: per-clip floors measured on the real video (``method: null``).

Rows are written with one ``write`` + ``flush`` + ``fsync`` per unit of work, so a process
killed at any moment loses at most the unit in flight. When a process opens its shard again
it cuts off a torn last line; readers skip one too. A resumed run skips the keys present in
*any* shard (so it may even resume with another number of processes) and writes only the rows
that are missing, so no row is lost or duplicated.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from freeaction.files import atomic_open

Key = tuple[str, str, str | None, str, int | None]

SHARD_DIR = "shards"
MERGED = "results.jsonl"
_SHARD_RE = re.compile(r"rank(\d+)-of-(\d+)\.jsonl$")


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
        self._repair()
        self.done: set[Key] = set()
        for p in [*shard_files(out), self.out / MERGED]:
            self.done.update(row_key(r) for r in read_rows(p))
        self.done_marker.unlink(missing_ok=True)

    @property
    def done_marker(self) -> Path:
        return self.path.with_suffix(".done")

    def _repair(self) -> None:
        """Cut a torn last line (no trailing newline) left by a killed run."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with self.path.open("r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())

    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        """Write the rows whose keys are new, in one write + fsync; returns how many were written."""
        new = [r for r in rows if row_key(r) not in self.done]
        if not new:
            return 0
        text = "".join(json.dumps(_clean(r), sort_keys=True, allow_nan=False) + "\n" for r in new)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text)
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
    with atomic_open(target, "w") as f:
        for r in sorted(rows.values(), key=_sort_key):
            f.write(json.dumps(r, sort_keys=True) + "\n")
    return target


def load_results(out: str | Path) -> list[dict[str, Any]]:
    """The merged rows of a results folder (merging the shards first when they are newer)."""
    out = Path(out)
    merged, shards = out / MERGED, shard_files(out)
    if not merged.is_file() and not shards:
        from freeaction.errors import InputError

        raise InputError(f"{out}: no results here (expected {MERGED} or {SHARD_DIR}/*.jsonl of freeaction evaluate)")
    if not merged.is_file() or any(p.stat().st_mtime >= merged.stat().st_mtime for p in shards):
        merge_shards(out)
    return read_rows(merged)
