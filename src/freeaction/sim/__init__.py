"""Simulator-made datasets in IRASim's layout, so the whole pipeline runs with nothing to download.

``make_dataset(kind, out, episodes)`` runs a simulator ``kind`` for ``episodes`` episodes in a
process pool and writes them with :func:`freeaction.data.irasim_layout.write_episode`.

A simulator kind is a module (imported lazily, in the parent and in each worker) with:

- ``generate_episode(index: int, seed: int, size: tuple[int, int], **options)
  -> tuple[np.ndarray, dict]``: RGB uint8 frames (T, H, W, 3) and the annotation without path
  fields (2-D: ``actions`` (T-1, 2); 7-D: ``state`` (T, 6) and ``continuous_gripper_state`` (T,)).
  It must depend only on its arguments (seed it with :func:`episode_rng`).
- ``FPS: int`` (control rate = video frame rate), ``ACTION_DIM: int`` (2 or 7) and
  ``GENERATOR_VERSION: str`` (bump it whenever the episodes it makes change).
- optionally ``frame_rate(options: dict) -> int``: the video frame rate of episodes made with
  these (normalized) options, where a world films faster than it is controlled (else ``FPS``).
- optionally ``normalize_options(options: dict) -> dict``: validates the options (raise
  :class:`freeaction.errors.InputError`) and fills in defaults, so the manifest records them all.

Dataset folder: ``annotation/``, ``videos/`` (see :mod:`freeaction.data.irasim_layout`) and a
``dataset.json`` manifest.
Episode ``i`` has id ``f"{i:06d}"``; its split is a fixed function of ``i`` and the split
fractions (a golden-ratio sequence, :func:`split_of`), except in datasets so small that the sequence
leaves a split with a non-zero fraction empty (:func:`assign_splits`). Runs resume: complete
episodes (JSON present, in whichever split) are skipped, so adding episodes later never moves old
ones; temporary files of a killed run are deleted.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing as mp
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from freeaction.data.irasim_layout import (
    ANNOTATION_DIR,
    SPLITS,
    VIDEO_DIR,
    annotation_relpath,
    clean_temp_files,
    count_episodes,
    episode_exists,
    write_episode,
)
from freeaction.errors import FreeActionError, InputError
from freeaction.files import FolderLock, write_text_atomic

__all__ = [
    "KINDS",
    "FolderLock",
    "SPLITS",
    "MissingDependencyError",
    "assign_splits",
    "episode_id",
    "episode_rng",
    "load_kind",
    "make_dataset",
    "split_of",
    "write_episode",
]

KINDS: dict[str, str] = {
    "pusher": "freeaction.sim.pusher",
    "arm": "freeaction.sim.arm",
}
"""Simulator kind -> module implementing it."""

EXTRAS: dict[str, str] = {"arm": "arm"}
"""Simulator kind -> the pip extra that installs its optional dependencies."""

MANIFEST = "dataset.json"
MANIFEST_FORMAT = "freeaction-sim-dataset/1"
LOCK = ".make_dataset.lock"
_GOLDEN = 0.6180339887498949


class MissingDependencyError(FreeActionError):
    """An optional dependency of the requested feature is not installed."""


def episode_id(index: int) -> str:
    """The id (and file stem) of episode ``index``: six digits, like IRASim's ``000027``."""
    return f"{index:06d}"


def episode_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of episode ``index`` of a dataset made with ``seed``."""
    return np.random.default_rng([int(seed), int(index)])


def _check_fractions(split_fractions: Sequence[float]) -> tuple[float, float, float]:
    fr = tuple(float(f) for f in split_fractions)
    if len(fr) != 3 or any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise InputError(f"split_fractions must be three non-negative numbers (train, val, test) "
                         f"summing to 1, got {tuple(split_fractions)}")
    return fr  # type: ignore[return-value]


def split_of(index: int, split_fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> str:
    """The split of episode ``index``: ``frac(index * golden ratio)`` against the cumulative fractions.

    Deterministic, independent of the number of episodes, and close to the requested fractions
    for any prefix 0..N-1.
    """
    train, val, _ = _check_fractions(split_fractions)
    u = (index * _GOLDEN) % 1.0
    if u < train:
        return "train"
    if u < train + val:
        return "val"
    return "test"


def assign_splits(episodes: int, split_fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> list[str]:
    """The split of each of episodes 0..episodes-1: :func:`split_of`, except that with 3 or more
    episodes every split with a non-zero fraction gets at least one.

    The golden-ratio sequence reaches every split only after a few episodes (with the default
    fractions the first test episode is number 8), so a small dataset would have an empty test
    split. A split left empty takes the highest-numbered episode of the largest split (test first,
    then val, then train). Datasets large enough for the sequence to fill every split are assigned
    exactly as :func:`split_of` says. With fewer than 3 episodes some split must stay empty.
    """
    splits = [split_of(i, split_fractions) for i in range(int(episodes))]
    if len(splits) < len(SPLITS):
        return splits
    wanted = [s for s, f in zip(SPLITS, _check_fractions(split_fractions), strict=True) if f > 0]
    for missing in reversed(wanted):
        if missing in splits:
            continue
        donor = max(SPLITS, key=splits.count)
        last = max(i for i, s in enumerate(splits) if s == donor)
        splits[last] = missing
    return splits


def load_kind(kind: str) -> ModuleType:
    """Import the module of simulator ``kind``, with a clear error for a missing optional dependency."""
    if kind not in KINDS:
        raise InputError(f"unknown simulator kind {kind!r}; choose one of {sorted(KINDS)}")
    name = KINDS[kind]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise MissingDependencyError(f"simulator kind {kind!r} is not part of this install "
                                         f"(module {name} not found)") from exc
        extra = EXTRAS.get(kind)
        hint = f": pip install 'freeaction[{extra}]'" if extra else ""
        raise MissingDependencyError(
            f"simulator kind {kind!r} needs the Python package {exc.name!r}, which is not installed{hint}"
        ) from exc


def frame_rate(module: ModuleType, options: dict) -> int:
    """The video frame rate of a simulator kind's episodes made with (normalized) ``options``."""
    rate = getattr(module, "frame_rate", None)
    return int(rate(options)) if rate is not None else int(module.FPS)


def _settings(module: ModuleType, kind: str, size: tuple[int, int], seed: int,
              fractions: tuple[float, float, float], options: dict) -> dict[str, Any]:
    """The manifest fields that a dataset folder is bound to."""
    return {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "generator_version": str(module.GENERATOR_VERSION),
        "size": [int(size[0]), int(size[1])],
        "fps": frame_rate(module, options),
        "action_dim": int(module.ACTION_DIM),
        "seed": int(seed),
        "split_fractions": list(fractions),
        "options": options,
    }


def _check_folder(root: Path, settings: dict[str, Any]) -> None:
    """Refuse to add episodes to a folder made with other settings (or not by make_dataset)."""
    path = root / MANIFEST
    if not path.is_file():
        if any((root / sub).exists() for sub in (ANNOTATION_DIR, VIDEO_DIR)):
            raise InputError(f"{root} already holds a dataset without {MANIFEST}; "
                             "choose an empty or new folder")
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable dataset manifest: {exc}") from exc
    diffs = [f"{k}: folder has {old.get(k)!r}, requested {v!r}"
             for k, v in settings.items() if old.get(k) != v]
    if diffs:
        raise InputError(f"{root} was made with other settings; use another folder or the same "
                         "settings. Differences: " + "; ".join(diffs))


def _make_one(task: tuple[str, str, int, int, tuple[int, int], str, dict]) -> tuple[int, int]:
    """Worker: generate and write one episode. Returns (index, frames written)."""
    module_name, root, index, seed, size, split, options = task
    module = importlib.import_module(module_name)
    frames, annotation = module.generate_episode(index, seed, size, **options)
    write_episode(Path(root), split, episode_id(index), frames, annotation, frame_rate(module, options))
    return index, int(frames.shape[0])


def make_dataset(
    kind: str,
    out: Path | str,
    episodes: int,
    seed: int = 0,
    workers: int = 2,
    size: tuple[int, int] = (64, 64),
    split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    progress: bool = True,
    **kind_options: Any,
) -> dict[str, Any]:
    """Make (or finish) a simulator dataset of episodes 0..episodes-1 under ``out``.

    Args:
        kind: simulator, one of :data:`KINDS` (``"pusher"``, ``"arm"``).
        out: dataset root folder (created if missing).
        episodes: number of episodes; episode ``i`` depends only on ``(seed, i)`` and the
            options, never on ``workers``.
        seed: dataset seed.
        workers: processes (spawned); 1 runs in this process.
        size: frame (height, width) in pixels.
        split_fractions: (train, val, test) fractions, see :func:`split_of`.
        progress: show a tqdm progress bar.
        **kind_options: passed to the kind's ``generate_episode`` (e.g. ``frames=48`` for pusher).

    Returns:
        ``{"root", "written", "skipped", "frames", "seconds", "frames_per_second", "splits"}``;
        ``frames`` counts the frames written by this run; ``splits`` counts the episodes now in
        each split.

    Raises:
        InputError: bad arguments, or a folder made with other kind/size/seed/options.
        MissingDependencyError: the kind needs an optional package (``pip install freeaction[arm]``).
    """
    if int(episodes) < 0:
        raise InputError(f"episodes must be >= 0, got {episodes}")
    if int(workers) < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    if len(size) != 2 or min(int(s) for s in size) < 8:
        raise InputError(f"size must be (height, width) with both >= 8, got {tuple(size)}")
    size = (int(size[0]), int(size[1]))
    fractions = _check_fractions(split_fractions)
    module = load_kind(kind)
    normalize = getattr(module, "normalize_options", None)
    options = dict(normalize(dict(kind_options)) if normalize else kind_options)
    try:
        json.dumps(options)
    except TypeError as exc:
        raise InputError(f"{kind} options must be JSON values: {exc}") from exc
    settings = _settings(module, kind, size, seed, fractions, options)

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _check_folder(root, settings)
    start = time.perf_counter()
    with FolderLock(root, LOCK, "make_dataset"):
        clean_temp_files(root)
        write_text_atomic(root / MANIFEST, json.dumps({**settings, "complete": False}, indent=1))
        todo, skipped = [], 0
        for i, split in enumerate(assign_splits(int(episodes), fractions)):
            if _made(root, i):
                skipped += 1
            else:
                todo.append((module.__name__, str(root), i, int(seed), size, split, options))
        frames = _run(todo, int(workers), skipped, int(episodes), progress, kind)
        splits = count_episodes(root)
        manifest = {**settings, "complete": all(_made(root, i) for i in range(int(episodes))),
            "episodes": sum(splits.values()), "splits": splits,
            "annotation_pattern": annotation_relpath("{split}", "{episode_id}")}
        write_text_atomic(root / MANIFEST, json.dumps(manifest, indent=1))
    seconds = time.perf_counter() - start
    return {"root": str(root), "written": len(todo), "skipped": skipped, "frames": frames,
            "seconds": seconds, "frames_per_second": frames / seconds if seconds > 0 else 0.0,
            "splits": splits}


def _made(root: Path, index: int) -> bool:
    """Whether episode ``index`` is complete in any split (a run with fewer episodes may have put
    it in another split than :func:`assign_splits` would now; it stays there)."""
    return any(episode_exists(root, split, episode_id(index)) for split in SPLITS)


def _run(todo: list, workers: int, skipped: int, total: int, progress: bool, kind: str) -> int:
    """Run the episode tasks, in this process or a spawn pool; return the frames written."""
    from tqdm import tqdm

    frames = 0
    with tqdm(total=total, initial=skipped, disable=not progress, unit="ep", desc=f"sim {kind}") as bar:
        if workers == 1 or len(todo) <= 1:
            for task in todo:
                frames += _make_one(task)[1]
                bar.update(1)
            return frames
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(todo))) as pool:
            for _, n in pool.imap_unordered(_make_one, todo, chunksize=1):
                frames += n
                bar.update(1)
    return frames
