"""The arm's gripper, open or closed, read from a frame by a small learned classifier.

At 64x64 the Panda's fingers are 1-2 px wide and their whole 8 cm opening spans about 5 px, so
no colour rule tells an open gripper from a closed one. :class:`GripperReader` is a tiny CNN
trained on the TRUE frames of an arm dataset's train split, with labels from the annotation's
``continuous_gripper_state`` (``1 - finger opening / 0.08 m``: 0 open, 1 closed, ~0.23-0.33
holding a cube): a frame is **closed** when that state exceeds :data:`CLOSED_ABOVE`. Where the
gripper is painted (arm world 2) the reader looks only at a window around its paint
(:func:`gripper_windows`), which reads world-2 test frames better than the whole frame does
(docs/evaluation.md §7 gives the figures, and the autoencoder's ceiling).

- **gripper agreement** of a generated clip: the share of its frames 1..n whose read state
  equals the true state of the same frame (:func:`gripper_agreement`). The reader's own
  accuracy on the true frames of the test split (``test_accuracy`` in its JSON) is the ceiling
  a perfect world model reaches; ``test_majority`` (the share of the commoner state) is what
  reading every frame as that state would score.
- Storage: weights as ``<name>.safetensors`` and the configuration and training facts as
  ``<name>.json`` beside it (never a pickle). :func:`reader_for_dataset` keeps one per frame size
  in ``<dataset>/gripper_reader/`` and trains it there when it is missing; ``auto`` in
  ``evaluate`` and ``quality`` uses it for the arm simulator's datasets only
  (:func:`arm_sim_dataset`: other data, e.g. RT-1's, may record a gripper state of another meaning).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from freeaction.data import list_splits, open_dataset
from freeaction.data.paint import RGB, as_paints, gripper_window_corners, gripper_window_side, recorded_gripper_paints
from freeaction.data.video import resize_frames
from freeaction.errors import DataError, InputError
from freeaction.files import atomic_open, atomic_path
from freeaction.sim import MANIFEST, MANIFEST_FORMAT

FORMAT = "freeaction-gripper-reader/1"
CLOSED_ABOVE = 0.1
"""A frame's gripper is closed when ``continuous_gripper_state`` (0 open .. 1 closed) exceeds this:
fingers less than 7.2 cm apart, i.e. closing, holding a cube (~0.23-0.33) or shut (1)."""
SHIFT_PX = 3
"""Largest training shift (px): without it the reader learns the training episodes' scenes
(99% on train frames, 68% on test frames of 60 world-2 episodes); with it 85% / 83%."""
CACHE_FOLDER = "gripper_reader"
"""Folder of a dataset that holds its readers, one per frame size (``64x64.safetensors`` / ``.json``)."""


@dataclass
class GripperReaderConfig:
    """Input size and width of the reader."""

    size: tuple[int, int] = (64, 64)  # frames are resized to (H, W) first
    width: int = 16
    crop: int = 0
    """0: read the whole frame; > 0: read a ``crop`` x ``crop`` window (px of the resized frame)
    around the gripper's paint, enlarged 2x (:func:`gripper_windows`)."""
    gripper_rgb: tuple[RGB, ...] | None = None
    """The gripper's paints (RGB in 0..1) that ``crop`` finds it by: its own, and in arm world 5 its
    hand's while closed (one RGB triple is taken as the only paint)."""

    def __post_init__(self) -> None:
        if self.crop < 0 or self.crop > min(self.size):
            raise InputError(f"crop must be 0 (the whole frame) or 1..{min(self.size)} px, got {self.crop}")
        if self.gripper_rgb is not None:
            try:
                self.gripper_rgb = as_paints(self.gripper_rgb)
            except ValueError as exc:
                raise InputError(f"gripper_rgb: {exc}") from exc
        if self.crop and self.gripper_rgb is None:
            raise InputError("crop needs the gripper's paint (gripper_rgb: 3 values in 0..1, or a list of such) "
                             "to find the gripper by")


def gripper_windows(frames: torch.Tensor, rgb: RGB | tuple[RGB, ...], crop: int) -> torch.Tensor:
    """uint8 frames (N, 3, H, W) -> uint8 (N, 3, 2 crop, 2 crop): each frame's ``crop`` x ``crop``
    gripper window (:func:`freeaction.data.paint.gripper_window_corners`: centred ``crop // 6`` px
    below the centroid of the paint(s) ``rgb``, the frame's centre where no paint shows), edges
    repeated, enlarged 2x bilinearly so the reader's first stride-2 layer keeps every pixel."""
    x = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    corners = gripper_window_corners(x.transpose(0, 2, 3, 1), rgb, crop) + crop
    padded = np.pad(x, ((0, 0), (0, 0), (crop, crop), (crop, crop)), mode="edge")
    out = np.empty((len(x), 3, crop, crop), np.uint8)
    for i, (top, left) in enumerate(corners):
        out[i] = padded[i, :, top : top + crop, left : left + crop]
    big = F.interpolate(torch.from_numpy(out).float(), scale_factor=2, mode="bilinear", align_corners=False)
    return big.round().clamp(0, 255).to(torch.uint8)


class GripperReader(nn.Module):
    """One RGB frame (or the window around its gripper) -> 3 stride-2 convs -> mean and max pooled
    -> logit of "closed"."""

    def __init__(self, config: GripperReaderConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        chans = [3, w, 2 * w, 4 * w]
        layers: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.GroupNorm(4, cout), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(8 * w, 1)
        self.info: dict[str, Any] = {}

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 frames (N, 3, H, W) at ``config.size`` -> what :meth:`forward` reads: the frames,
        or the windows around their gripper when ``config.crop`` is set."""
        if not self.config.crop:
            return frames
        return gripper_windows(frames, self.config.gripper_rgb, self.config.crop)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8-valued (B, 3, h, w) prepared frames (:meth:`prepare`) -> logits (B,) of the gripper being closed."""
        h = self.features(frames.float() / 127.5 - 1)
        return self.head(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)).squeeze(1)

    def read(self, frames: np.ndarray, batch: int = 256) -> np.ndarray:
        """RGB uint8 (T, H, W, 3) -> (T,) bool, True where the gripper reads closed."""
        x = torch.from_numpy(np.ascontiguousarray(resize_frames(np.asarray(frames), self.config.size)))
        x = self.prepare(x.permute(0, 3, 1, 2))
        device = next(self.parameters()).device
        with torch.no_grad():
            logits = torch.cat([self(x[i : i + batch].to(device)).cpu() for i in range(0, len(x), batch)])
        return (logits > 0).numpy()


def closed_states(annotation: dict[str, Any]) -> np.ndarray | None:
    """(T,) bool: the gripper closed in each frame of an episode's annotation; None when it
    records no ``continuous_gripper_state`` (not arm data)."""
    state = annotation.get("continuous_gripper_state")
    if state is None:
        return None
    state = np.asarray(state, np.float64).ravel()
    if not np.isfinite(state).all():
        raise DataError("continuous_gripper_state holds non-finite values")
    return state > CLOSED_ABOVE


def clip_closed_states(meta: dict[str, Any], start: int, n_frames: int) -> np.ndarray | None:
    """(n_frames,) bool: the true gripper state of a clip's frames (episode frames ``start ..``),
    read from its annotation file; None when the clip has no annotation or no gripper state."""
    path = meta.get("annotation")
    if not path or not Path(path).is_file():
        return None
    states = closed_states(json.loads(Path(path).read_text(encoding="utf-8")))
    if states is None:
        return None
    if len(states) < start + n_frames:
        raise DataError(f"{path}: continuous_gripper_state has {len(states)} frames; the clip needs "
                        f"{start}..{start + n_frames}")
    return states[start : start + n_frames]


def arm_sim_dataset(root: str | Path) -> bool:
    """Whether ``root`` is a dataset made by the arm simulator (its manifest says kind ``arm``):
    the data whose ``continuous_gripper_state`` this module's labels are defined on."""
    try:
        manifest = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT and manifest.get("kind") == "arm"


def gripper_agreement(reader: GripperReader, frames: np.ndarray, closed: np.ndarray) -> float:
    """Share of frames 1..n of a clip (uint8 (n+1, H, W, 3)) read as the true state ``closed`` (n+1,)."""
    closed = np.asarray(closed, bool)
    if len(closed) != len(frames):
        raise InputError(f"{len(frames)} frames but {len(closed)} gripper states")
    return float((reader.read(np.asarray(frames)[1:]) == closed[1:]).mean())


# -- storage --------------------------------------------------------------------------------------
def save_reader(reader: GripperReader, path: str | Path) -> Path:
    """Write ``path`` (``.safetensors``: the weights) and the same name with ``.json`` (the
    configuration and ``reader.info``)."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in reader.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    with atomic_open(path.with_suffix(".json"), "w") as f:
        json.dump({"format": FORMAT, "config": asdict(reader.config), "info": reader.info}, f, indent=1)
    return path


def load_reader(path: str | Path, device: str | torch.device = "cpu") -> GripperReader:
    """A reader written by :func:`save_reader` (give the ``.safetensors`` or the ``.json`` path)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = Path(path).with_suffix(".safetensors")
    described = weights.with_suffix(".json")
    if not weights.is_file() or not described.is_file():
        raise InputError(f"gripper reader not found: {weights} and {described.name} beside it are both needed")
    meta = json.loads(described.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise InputError(f"{described}: not a gripper reader (format {meta.get('format')!r}, expected {FORMAT})")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{weights}: not a safetensors file ({exc})") from exc
    cfg = meta["config"]
    rgb = cfg.get("gripper_rgb")
    reader = GripperReader(GripperReaderConfig(size=tuple(cfg["size"]), width=int(cfg["width"]),
                                               crop=int(cfg.get("crop", 0)), gripper_rgb=rgb or None))
    reader.load_state_dict(state)
    reader.info = meta.get("info", {})
    return reader.to(device).eval()


# -- training -------------------------------------------------------------------------------------
def labelled_frames(
    root: str | Path, split: str, size: tuple[int, int], *, episodes: int | None = None, frame_stride: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The frames of a split's episodes, resized to ``size`` (uint8 (N, 3, H, W)), and their true
    gripper state (bool (N,)): the first ``episodes`` episodes (all when None), every
    ``frame_stride``-th frame of each. Raises :class:`DataError` when the split has no gripper labels."""
    if episodes is not None and episodes < 1:
        raise InputError(f"episodes must be >= 1 or None, got {episodes}")
    if frame_stride < 1:
        raise InputError(f"frame_stride must be >= 1, got {frame_stride}")
    ds = open_dataset(root, split, frames=True, latents=False)
    frames, labels = [], []
    for i in range(min(ds.num_episodes, episodes or ds.num_episodes)):
        ep = ds.episode(i)
        closed = clip_closed_states(ep.meta, ep.start, len(ep.frames))
        if closed is None:
            raise DataError(f"{root}: episode {ds.episode_id(i)} of split {split!r} records no gripper state "
                            "(continuous_gripper_state); the gripper reader needs arm data")
        kept = slice(None, None, frame_stride)
        frames.append(torch.from_numpy(resize_frames(ep.frames[kept], size)).permute(0, 3, 1, 2))
        labels.append(torch.from_numpy(closed[kept]))
    if not frames:
        raise DataError(f"{root}: split {split!r} has no episodes to train the gripper reader on")
    return torch.cat(frames), torch.cat(labels)


def gripper_paint(root: str | Path, split: str = "train") -> tuple[RGB, ...] | None:
    """The gripper's paints (RGB in 0..1) recorded by the first episode of a dataset's split
    (:func:`freeaction.data.paint.recorded_gripper_paints`: arm worlds 2 and up), else None."""
    ds = open_dataset(root, split, frames=False, latents=False)
    path = ds.episode(0).meta.get("annotation") if ds.num_episodes else None
    if not path or not Path(path).is_file():
        return None
    return recorded_gripper_paints(json.loads(Path(path).read_text(encoding="utf-8")))


def accuracy(reader: GripperReader, frames: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``frames`` (uint8 (N, 3, H, W) at the reader's size) read as ``labels``."""
    reader.eval()
    frames = reader.prepare(frames)
    with torch.no_grad():
        read = torch.cat([reader(frames[i : i + 256]) > 0 for i in range(0, len(frames), 256)])
    return float((read == labels).float().mean())


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness jitter; for half the batch a 3x3 blur (generated frames are softer than true
    ones); and the whole batch shifted by up to :data:`SHIFT_PX` in x and y (edges repeated), so
    the reader looks at the gripper rather than at where things happen to be in the training episodes."""
    x = x.float() * (0.85 + 0.3 * torch.rand(len(x), 1, 1, 1, generator=g))
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    soft = torch.rand(len(x), 1, 1, 1, generator=g) < 0.5
    x = torch.where(soft, blurred, x).clamp(0, 255)
    dx, dy = (torch.randint(0, 2 * SHIFT_PX + 1, (2,), generator=g)).tolist()
    h, w = x.shape[2:]
    return F.pad(x, (SHIFT_PX,) * 4, mode="replicate")[:, :, dy : dy + h, dx : dx + w]


def fit_reader(
    frames: torch.Tensor, closed: torch.Tensor, *, width: int = 16, crop: int = 0,
    gripper_rgb: RGB | tuple[RGB, ...] | None = None, steps: int = 4000, batch_size: int = 64,
    lr: float = 2e-3, seed: int = 0,
) -> GripperReader:
    """A reader fitted to uint8 frames (N, 3, H, W) and their gripper states (bool (N,)), both
    states weighing the same; ``width``, ``crop`` and ``gripper_rgb`` configure it
    (:class:`GripperReaderConfig`); ``info`` holds the training facts and accuracy."""
    torch.manual_seed(seed)
    closed_share = float(closed.float().mean())
    if closed_share in (0.0, 1.0):
        raise DataError(f"every training frame's gripper is {'closed' if closed_share else 'open'}; "
                        "nothing to learn the other state from")
    reader = GripperReader(GripperReaderConfig(size=tuple(frames.shape[2:]), width=width, crop=crop,
                                               gripper_rgb=gripper_rgb))
    seen = reader.prepare(frames)
    pos_weight = torch.tensor((1 - closed_share) / closed_share)
    opt = torch.optim.AdamW(reader.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        reader.train()
        idx = torch.randint(len(seen), (batch_size,), generator=g)
        loss = F.binary_cross_entropy_with_logits(reader(_augment(seen[idx], g)), closed[idx].float(),
                                                  pos_weight=pos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    reader.info = {"frames": len(frames), "steps": steps, "closed_above": CLOSED_ABOVE,
                   "train_closed_share": closed_share, "train_accuracy": accuracy(reader, frames, closed)}
    return reader.eval()


def train_reader(
    dataset: str | Path, out: str | Path, *, size: tuple[int, int] = (64, 64), train_split: str = "train",
    test_split: str = "test", episodes: int | None = None, frame_stride: int = 1, **fit: Any,
) -> GripperReader:
    """Train a reader (:func:`fit_reader`, options ``fit``) on the true frames of ``dataset``'s
    train split (its first ``episodes`` episodes, every ``frame_stride``-th frame: see
    :func:`labelled_frames`) and save it to ``out``; the dataset is only read.

    Its ``info`` records the training facts and, when the dataset has a ``test_split``, the
    accuracy on all its true frames (``test_accuracy``, the ceiling of :func:`gripper_agreement`)
    and the share of its commoner state (``test_majority``)."""
    start = time.perf_counter()
    if fit.get("crop") and fit.get("gripper_rgb") is None:
        fit["gripper_rgb"] = gripper_paint(dataset, train_split)
        if fit["gripper_rgb"] is None:
            raise DataError(f"{dataset}: split {train_split!r} records no gripper paint (sim.gripper_rgba, arm "
                            "world 2); the reader's crop finds the gripper by it")
    try:
        reader = fit_reader(*labelled_frames(dataset, train_split, size, episodes=episodes,
                                             frame_stride=frame_stride), **fit)
    except DataError as exc:
        raise DataError(f"{dataset}: split {train_split!r}: {exc}") from exc
    reader.info.update(dataset=str(dataset), train_split=train_split, train_episodes=episodes,
                       frame_stride=frame_stride)
    if test_split in list_splits(dataset):
        test_frames, test_closed = labelled_frames(dataset, test_split, size)
        share = float(test_closed.float().mean())
        reader.info.update(test_split=test_split, test_frames=len(test_frames),
                           test_accuracy=accuracy(reader, test_frames, test_closed),
                           test_majority=max(share, 1 - share))
    reader.info["seconds"] = round(time.perf_counter() - start, 1)
    save_reader(reader, out)
    return reader


def reader_cache_path(dataset: str | Path, size: tuple[int, int], cache: str | Path | None = None) -> Path:
    """Where :func:`reader_for_dataset` keeps the reader of ``dataset`` at ``size``."""
    folder = Path(dataset) / CACHE_FOLDER if cache is None else Path(cache)
    return folder / f"{size[0]}x{size[1]}.safetensors"


def reader_cached(dataset: str | Path, size: tuple[int, int], cache: str | Path | None = None) -> bool:
    """Whether a reader of ``dataset`` at ``size`` is cached (so :func:`reader_for_dataset` trains none)."""
    path = reader_cache_path(dataset, size, cache)
    return path.is_file() and path.with_suffix(".json").is_file()


def reader_for_dataset(
    dataset: str | Path, size: tuple[int, int], *, cache: str | Path | None = None, progress: bool = False,
) -> GripperReader:
    """The reader cached in ``<cache>/<H>x<W>.safetensors``, trained there first when it is
    missing (on the dataset's own frames read at ``size``; where they show the gripper's paint,
    through its gripper window, :func:`freeaction.data.paint.gripper_window_side`). ``cache`` defaults to
    ``<dataset>/gripper_reader``; name another folder when the dataset must stay read-only."""
    path = reader_cache_path(dataset, size, cache)
    if not reader_cached(dataset, size, cache):
        if progress:
            print(f"training the gripper reader of {dataset} (cached in {path.parent})", file=sys.stderr, flush=True)
        crop = gripper_window_side(*size) if gripper_paint(dataset) is not None else 0
        train_reader(dataset, path, size=tuple(size), crop=crop)
    return load_reader(path)
