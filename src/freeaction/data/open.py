"""Open any supported dataset by path: IRASim layout, LeRobotDataset or RLDS shards.

``detect_format(root)`` looks at what is on disk (``annotation/`` -> irasim, ``meta/info.json``
-> lerobot, ``*.tfrecord*`` -> rlds); ``open_dataset(root, split, **options)`` returns the
matching reader; options a reader does not take are refused with an error naming them.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from freeaction.data.base import ClipDataset
from freeaction.data.irasim import IRASimDataset
from freeaction.data.irasim_layout import available_splits, is_irasim_root
from freeaction.data.lerobot import LeRobotDataset, is_lerobot_root, read_info
from freeaction.data.paths import check_not_dangling
from freeaction.data.rlds import RLDSDataset, find_shards, is_rlds_root, shard_split
from freeaction.errors import DataError, InputError

READERS: dict[str, type[ClipDataset]] = {"irasim": IRASimDataset, "lerobot": LeRobotDataset, "rlds": RLDSDataset}


def detect_format(root: Path | str) -> str:
    """``irasim``, ``lerobot`` or ``rlds`` for the dataset at ``root``."""
    root = Path(root)
    if not root.exists():
        check_not_dangling(root)
        raise DataError(f"{root}: no such dataset")
    if root.is_dir() and is_irasim_root(root):
        return "irasim"
    if root.is_dir() and is_lerobot_root(root):
        return "lerobot"
    if (root.is_file() and ".tfrecord" in root.name) or is_rlds_root(root):
        return "rlds"
    raise DataError(
        f"{root}: not a dataset this tool reads (expected annotation/ (IRASim layout), meta/info.json "
        "(LeRobotDataset) or *.tfrecord* shards (RLDS))"
    )


def list_splits(root: Path | str) -> list[str]:
    """The splits the dataset at ``root`` has."""
    fmt = detect_format(root)
    root = Path(root)
    if fmt == "irasim":
        return available_splits(root)
    if fmt == "lerobot":
        splits = list((read_info(root).get("splits") or {}).keys())
        return splits
    shards = [root] if root.is_file() else find_shards(root)
    names = {shard_split(p) for p in shards}
    order = ["train", "val", "validation", "test"]
    found = sorted((n for n in names if n), key=lambda n: (order.index(n) if n in order else 9, n))
    return found or ["train"]


def open_dataset(root: Path | str, split: str = "train", *, format: str | None = None, **options: Any) -> ClipDataset:
    """The reader for ``root`` (format detected unless given), with reader ``options``.

    Common options: ``num_frames``, ``stride``, ``frames``, ``latents``, ``size``, ``skip_bad``.
    ``camera`` is an index for IRASim RT-1/Bridge data and a video key for LeRobot.
    """
    fmt = format or detect_format(root)
    if fmt not in READERS:
        raise InputError(f"unknown dataset format {fmt!r}; choose one of {sorted(READERS)}")
    cls = READERS[fmt]
    opts = {k: v for k, v in options.items() if v is not None}
    if fmt == "irasim" and isinstance(opts.get("camera"), str):
        if not opts["camera"].isdigit():
            raise InputError(f"IRASim datasets choose cameras by index, got camera {opts['camera']!r}")
        opts["camera"] = int(opts["camera"])
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "root", "split"}
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise InputError(f"option(s) {unknown} do not apply to {fmt} datasets (accepted: {sorted(accepted)})")
    return cls(root, split, **opts)


def describe_dataset(root: Path | str, **options: Any) -> dict[str, Any]:
    """``data info``: format and, for every split, its reader's description."""
    out: dict[str, Any] = {"root": str(Path(root).resolve()), "format": detect_format(root), "splits": {}}
    for split in list_splits(root):
        ds = open_dataset(root, split, frames=False, **options)
        d = ds.describe()
        out["splits"][split] = d
        out.setdefault("skipped", []).extend(f"{s.path}: {s.reason}" for s in ds.skipped)
    return json.loads(json.dumps(out, default=str))
