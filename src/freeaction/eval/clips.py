"""The test clips an evaluation runs on: which ones, what they are called, their seeds, their data.

- A clip's **key** names it in result rows and file names: ``<episode>@<start frame>`` for a
  short-protocol window, ``<episode>`` for a long-protocol episode. ``<episode>`` is the
  episode's id, qualified with its index in the split (``id#3``) when ids, or the file names
  made of them, repeat; so within a split every key, and every key's :func:`slug`, is unique.
- A clip's **sampler seed** for seed ``s`` is :func:`derive_seed` of ``s`` and its key: the same
  for every method and independent of the batch the clip is sampled in, so differences between
  methods are paired by construction. ``freeaction evaluate`` and ``freeaction quality`` both
  seed this way.
- Datasets without latents are encoded with the model's VAE (the posterior mean, as
  ``freeaction encode`` does), so a VAE is then required.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from freeaction.data import open_dataset
from freeaction.data.base import ClipDataset
from freeaction.data.clip import evenly_spaced
from freeaction.errors import DataError, InputError
from freeaction.eval.effector import EffectorTrack
from freeaction.eval.objects import BlockTrack, RobotPaint, clip_closed_states
from freeaction.eval.results_folder import slug
from freeaction.pipeline import WorldModel


def derive_seed(seed: int, clip_key: str) -> int:
    """The sampler seed of seed ``seed`` on clip ``clip_key`` (same for every method and batch)."""
    digest = hashlib.sha256(f"{int(seed)}|{clip_key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


@dataclass(frozen=True)
class ClipRef:
    """One clip (short protocol) or episode (long protocol) of the split, by position and key."""

    protocol: str
    index: int  # dataset window index (short) or episode index (long)
    key: str
    save_video: bool = False


@dataclass
class TestClip:
    """A clip's true data, loaded once and shared by every method."""

    ref: ClipRef
    actions: torch.Tensor  # (n, A)
    latents: torch.Tensor  # (n + 1, C, h, w), float32, on the CPU
    frames: np.ndarray | None  # (n + 1, H, W, 3) uint8, or None without frames
    start: int
    track: EffectorTrack | None = None
    blocks: BlockTrack | None = None  # the pusher's blocks (object-level metrics), else None
    paint: RobotPaint | None = None  # the painted arm's colours (arm world 2), else None
    gripper_closed: np.ndarray | None = None  # (n + 1,) bool true gripper state (arm data), else None


# -- names ----------------------------------------------------------------------------------------
def episode_names(ids: list[str]) -> list[str]:
    """Each episode's name in clip keys: its id, qualified by its index where ids or their slugs repeat.

    The result is slug-unique: should a qualified name meet another id, every name is prefixed by
    its (unique, underscore-free) index instead."""
    count = Counter(slug(i) for i in ids)
    names = [eid if count[slug(eid)] == 1 else f"{eid}#{i}" for i, eid in enumerate(ids)]
    if len({slug(n) for n in names}) < len(names):
        names = [f"{i:06d}_{eid}" for i, eid in enumerate(ids)]
    return names


def clip_keys(ds: ClipDataset, protocol: str) -> list[str]:
    """The key of every window (short) or episode (long) of the split, in dataset order; unique, and
    so are their slugs (a short key's start frame is digits after the last separator)."""
    names = episode_names([ds.episode_id(i) for i in range(ds.num_episodes)])
    if protocol == "short":
        return [f"{names[i]}@{start}" for i, start in ds.windows]
    return names


# -- choosing -------------------------------------------------------------------------------------
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


def work_list(
    ds: ClipDataset, protocol: str, chosen: list[int], save_videos: int, rank: int = 0, world: int = 1
) -> list[ClipRef]:
    """This rank's share of the ``chosen`` clips (clip i of the list goes to rank ``i mod world``);
    ``save_videos`` of them, spread over the list, keep their videos."""
    keys = clip_keys(ds, protocol)
    n_save = min(int(save_videos), len(chosen))
    saved = set(evenly_spaced(len(chosen), n_save).tolist()) if n_save else set()
    return [
        ClipRef(protocol, idx, keys[idx], pos in saved)
        for pos, idx in enumerate(chosen)
        if pos % world == rank
    ]


# -- loading --------------------------------------------------------------------------------------
def open_test_split(
    wm: WorldModel,
    dataset: str,
    split: str,
    clip_frames: int,
    *,
    resize: list[int] | None = None,
    camera: int | None = None,
    source: str = "options",
) -> ClipDataset:
    """The split, read as clips of ``clip_frames`` frames, checked against the model: action size,
    frame size (with a VAE), latent shape, and latents or a VAE to make them."""
    mc = wm.config
    opts: dict[str, Any] = {"num_frames": clip_frames, "frames": wm.vae is not None}
    if resize:
        opts["size"] = tuple(int(v) for v in resize)
    if camera is not None:
        opts["camera"] = camera
    ds = open_dataset(dataset, split, **opts)
    if ds.num_episodes == 0:
        raise DataError(f"{dataset}: split {split!r} has no episodes")
    if ds.action_dim != mc.action_dim:
        raise InputError(
            f"{source}: the model takes {mc.action_dim}-D actions but dataset {dataset} "
            f"(split {split!r}) has {ds.action_dim}-D actions"
        )
    if not getattr(ds, "load_latents", False) and wm.vae is None:
        raise InputError(
            f"{source}: dataset {dataset} has no pre-encoded latents and no VAE is given: set 'vae' "
            "(the true frames are then encoded on the fly) or run `freeaction encode DATASET`"
        )
    probe = ds.episode(0)
    if wm.vae is not None and probe.frames is not None:
        have, want = tuple(probe.frames.shape[1:3]), tuple(wm.frame_size)
        if have != want:
            raise InputError(
                f"{source}: dataset frames are {have[1]}x{have[0]} (WxH) but the model + VAE make "
                f"{want[1]}x{want[0]} frames; set 'resize: [{want[0]}, {want[1]}]' or use a matching model"
            )
    if probe.latents is not None:
        have_l, want_l = tuple(probe.latents.shape[1:]), (mc.in_channels, *mc.latent_size)
        if have_l != want_l:
            raise InputError(
                f"{source}: dataset latents are {have_l} (C, h, w) but the model takes {want_l}; "
                "the dataset was encoded for another model/VAE"
            )
    return ds


def load_clip(ds: ClipDataset, ref: ClipRef, wm: WorldModel, long_max_actions: int | None = None) -> TestClip:
    """The clip's actions, latents (encoded when the dataset has none), frames, effector track and
    what the object metrics read from its annotation (blocks, robot paint, gripper states);
    a long-protocol episode is cut to ``long_max_actions`` actions when given."""
    clip = ds[ref.index] if ref.protocol == "short" else ds.episode(ref.index)
    actions, frames = clip.actions, clip.frames
    if ref.protocol == "long" and long_max_actions:
        n = int(long_max_actions)
        actions, frames = actions[:n], None if frames is None else frames[: n + 1]
    latents = clip.latents
    if latents is None:
        latents = wm.encode(frames).cpu()
    latents = latents[: len(actions) + 1].float()
    size = None if frames is None else tuple(frames.shape[1:3])
    track = None if size is None else EffectorTrack.from_clip_meta(clip.meta, size)
    blocks = None if size is None else BlockTrack.from_clip_meta(clip.meta, size)
    paint = None if size is None else RobotPaint.from_clip_meta(clip.meta)
    closed = None if size is None else clip_closed_states(clip.meta, clip.start, len(frames))
    return TestClip(ref, torch.from_numpy(np.asarray(actions)), latents, frames, clip.start, track, blocks, paint,
                    closed)
