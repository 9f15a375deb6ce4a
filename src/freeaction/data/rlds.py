"""Reader for RLDS / Open X-Embodiment TFRecord shards, without TensorFlow.

TFDS writes one episode per record: a ``tf.train.Example`` whose keys flatten the nested
features with ``/`` (``steps/observation/image``, ``steps/action/world_vector``, ...), each
per-step feature concatenated over the T steps (images: one encoded JPEG/PNG per step).
``SequenceExample`` records (per-step ``feature_lists``) are read the same way.

Known layouts (``layout=None`` detects them from the keys):

- ``fractal20220817_data`` (RT-1): image ``steps/observation/image``; action =
  ``world_vector`` (3) + ``rotation_delta`` (3) + ``gripper_closedness_action`` (1).
- ``bridge``: image ``steps/observation/image``; action = ``world_vector`` (3) +
  ``rotation_delta`` (3) + ``open_gripper`` (1, bool stored as int64).
- ``language_table``: image ``steps/observation/rgb``; action ``steps/action`` (2).

Episode ids are the record's own (``episode_metadata/episode_id``, else
``episode_metadata/file_path``; string or integer features); a record without one (the released
``language_table`` spec has no episode-level feature at all) is named ``<shard file>#<record>``.

Actions are the dataset's own commands (RT-1/Bridge: deltas, not the pose differences IRASim
derives from ``state``), times the model-space scaler (docs/method.md §1) unless ``scaler`` is given; the stored values
are kept as well (``episode_raw_actions``), so converters write them bit for bit. Step k's action
drives frame k to k + 1, so an episode of T steps yields T frames and T - 1 actions. Shards
are found as ``*.tfrecord*`` under the root; the split comes from TFDS's file naming
``<name>-<split>.tfrecord-XXXXX-of-YYYYY`` (files without a split belong to every split).
There are no pre-encoded latents in RLDS; convert to the IRASim layout and encode for those.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from freeaction.actions import action_scaler
from freeaction.data.base import DEFAULT_NUM_FRAMES, ClipDataset
from freeaction.data.example_proto import Feature, ProtoError, parse_example
from freeaction.data.paths import check_not_dangling, resolve_inside
from freeaction.data.tfrecord import iter_records, read_record_at
from freeaction.data.video import resize_frames
from freeaction.errors import DataError


@dataclass(frozen=True)
class RLDSLayout:
    """Where one Open X-Embodiment dataset keeps its frames and action parts."""

    name: str
    image_key: str
    action_keys: tuple[tuple[str, int], ...]  # (key, dims per step), concatenated in order
    instruction_key: str | None = None
    # where the episode's own id may be, in order of preference (string or integer features)
    episode_id_keys: tuple[str, ...] = ("episode_metadata/episode_id", "episode_metadata/file_path")

    @property
    def action_dim(self) -> int:
        return sum(d for _, d in self.action_keys)


LAYOUTS: dict[str, RLDSLayout] = {
    "fractal20220817_data": RLDSLayout(
        "fractal20220817_data",
        "steps/observation/image",
        (
            ("steps/action/world_vector", 3),
            ("steps/action/rotation_delta", 3),
            ("steps/action/gripper_closedness_action", 1),
        ),
        "steps/observation/natural_language_instruction",
    ),
    "bridge": RLDSLayout(
        "bridge",
        "steps/observation/image",
        (("steps/action/world_vector", 3), ("steps/action/rotation_delta", 3), ("steps/action/open_gripper", 1)),
        "steps/observation/natural_language_instruction",
    ),
    "language_table": RLDSLayout(
        "language_table", "steps/observation/rgb", (("steps/action", 2),), "steps/observation/instruction"
    ),
}

_SPLIT_RE = re.compile(r"-(?P<split>[A-Za-z0-9_]+)\.tfrecord")


def detect_layout(features: dict[str, Feature], path: Path) -> RLDSLayout:
    """The layout whose keys a decoded episode has (most specific first)."""
    for name in ("language_table", "bridge", "fractal20220817_data"):
        lay = LAYOUTS[name]
        if lay.image_key in features and all(k in features for k, _ in lay.action_keys):
            return lay
    steps = sorted(k for k in features if k.startswith("steps/"))[:12]
    raise DataError(
        f"{path}: record 0 matches no known RLDS layout ({', '.join(LAYOUTS)}); its step keys start {steps}"
    )


def shard_split(path: Path) -> str | None:
    m = _SPLIT_RE.search(path.name)
    return m.group("split") if m else None


def find_shards(root: Path) -> list[Path]:
    """The shard files under ``root``; a shard name that is a broken or looping symlink is an error."""
    return sorted(check_not_dangling(p) for p in root.rglob("*.tfrecord*") if p.is_file() or p.is_symlink())


def is_rlds_root(root: Path | str) -> bool:
    root = Path(root)
    return root.is_dir() and bool(find_shards(root))


@dataclass
class _Episode:
    path: Path
    record: int
    offset: int
    episode_id: str
    raw_actions: np.ndarray  # the dataset's own values (T - 1, D), float64 (exact)
    actions: np.ndarray  # model space (T - 1, D)
    instruction: str


def episode_id(feats: dict[str, Feature], layout: RLDSLayout) -> str | None:
    """The episode's own id: the first of ``layout.episode_id_keys`` the record has, as text
    (string ids decoded, integer ids in decimal); None when it has none."""
    for key in layout.episode_id_keys:
        value = feats.get(key)
        if isinstance(value, list) and value:
            return value[0].decode("utf-8", "replace")
        if isinstance(value, np.ndarray) and value.size:
            v = value.reshape(-1)[0]
            return str(int(v)) if np.issubdtype(value.dtype, np.integer) else str(v)
    return None


def _decode_instruction(value: Feature | None) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return value[0].decode("utf-8", "replace") if value else ""
    codes = np.asarray(value).reshape(-1)  # language_table: int32 UTF-8 codes, zero padded
    return bytes(int(c) for c in codes[:512] if 0 < c < 256).decode("utf-8", "replace")


class RLDSDataset(ClipDataset):
    """Clips and episodes from RLDS TFRecord shards (see the module docstring).

    Args:
        root: a directory of shards (searched recursively) or a single shard file.
        split: TFDS split name in the shard file names (``train``, ``val``, ``test``, ...).
        layout: one of ``LAYOUTS`` or None to detect it from the first record.
        scaler: per-dimension action scaler; default docs/method.md §1's ([20]*6+[1] for 7-D, 20 else).
        skip_bad: leave out bad records (recorded in ``skipped``) instead of raising. A
            truncated record or bad length checksum ends its shard (the framing is lost).
    """

    format = "rlds"

    def __init__(
        self,
        root: Path | str,
        split: str = "train",
        *,
        layout: str | None = None,
        scaler: Sequence[float] | None = None,
        num_frames: int = DEFAULT_NUM_FRAMES,
        stride: int | None = None,
        frames: bool = True,
        latents: bool | None = None,
        size: tuple[int, int] | None = None,
        skip_bad: bool = False,
    ) -> None:
        super().__init__(root, split, num_frames=num_frames, stride=stride, frames=frames, size=size, skip_bad=skip_bad)
        if latents:
            raise DataError(
                f"{root}: RLDS shards hold no pre-encoded latents; convert with "
                "`freeaction data convert` to the IRASim layout and run `freeaction encode` on it"
            )
        self.load_latents = False
        root = Path(root)
        if layout is not None and layout not in LAYOUTS:
            raise DataError(f"unknown RLDS layout {layout!r}; choose one of {sorted(LAYOUTS)}")
        self.layout: RLDSLayout | None = LAYOUTS[layout] if layout else None
        if root.is_file():
            self.root, shards = root.parent.resolve(), [root.resolve()]
        else:
            self.root = root.resolve()
            shards = [
                resolve_inside(self.root, p.relative_to(root), source=root, field="<shard file>")
                for p in find_shards(root)
            ]
        if not shards:
            raise DataError(f"{root}: no *.tfrecord* shards found")
        self.shards = [p for p in shards if shard_split(p) in (split, None)]
        if not self.shards:
            have = sorted({shard_split(p) for p in shards})
            raise DataError(f"{root}: no shards for split {split!r} (found splits: {have})")
        self._scaler_arg = scaler
        self._eps: list[_Episode] = []
        for shard in self.shards:
            self._index_shard(shard)
        self._build_windows()

    @property
    def scaler(self) -> np.ndarray:
        dim = self.layout.action_dim if self.layout else 0
        if self._scaler_arg is None:
            return action_scaler(dim)
        s = np.asarray(self._scaler_arg, dtype=np.float32)
        if s.shape != (dim,):
            raise DataError(f"{self.root}: scaler has {s.size} values for {dim}-D actions ({self.layout.name})")
        return s

    def _decode(self, data: bytes, path: Path, index: int) -> dict[str, Feature]:
        try:
            return parse_example(data)
        except ProtoError as exc:
            raise DataError(f"{path}: record {index} is not a valid tf.train.Example ({exc})") from exc

    def _index_shard(self, path: Path) -> None:
        try:
            for index, offset, data in iter_records(path):
                try:
                    self._index_record(path, index, offset, self._decode(data, path, index))
                except DataError as exc:  # a bad record whose framing is intact: skip just it
                    self._skip_or_raise(f"{path}#{index}", exc)
        except DataError as exc:  # truncated / bad checksum: the rest of the shard is unreadable
            self._skip_or_raise(path, exc)

    def _index_record(self, path: Path, index: int, offset: int, feats: dict[str, Feature]) -> None:
        if self.layout is None:
            self.layout = detect_layout(feats, path)
        lay = self.layout
        parts = []
        for key, dim in lay.action_keys:
            if key not in feats:
                raise DataError(f"{path}: record {index} lacks feature {key!r} ({lay.name} layout)")
            parts.append(np.asarray(feats[key], dtype=np.float64).reshape(-1, dim))
        lengths = {len(p) for p in parts}
        images = feats.get(lay.image_key)
        if not isinstance(images, list):
            raise DataError(f"{path}: record {index} lacks encoded images under {lay.image_key!r}")
        if len(lengths) != 1 or len(images) != parts[0].shape[0]:
            raise DataError(
                f"{path}: record {index} has inconsistent step counts: images {len(images)}, "
                f"actions {[len(p) for p in parts]}"
            )
        raw = np.concatenate(parts, axis=1)[:-1]  # the last step's action has no next frame
        self._eps.append(
            _Episode(
                path,
                index,
                offset,
                episode_id(feats, lay) or f"{path.name}#{index}",
                raw,
                (raw * self.scaler).astype(np.float32),
                _decode_instruction(feats.get(lay.instruction_key or "")),
            )
        )

    @property
    def num_episodes(self) -> int:
        return len(self._eps)

    def episode_id(self, i: int) -> str:
        return self._eps[i].episode_id

    def episode_actions(self, i: int) -> np.ndarray:
        return self._eps[i].actions

    def episode_raw_actions(self, i: int) -> np.ndarray:
        return self._eps[i].raw_actions

    def episode_source(self, i: int) -> str:
        return f"{self._eps[i].path} (record {self._eps[i].record})"

    def _episode_meta(self, i: int) -> dict[str, Any]:
        e = self._eps[i]
        return {"shard": str(e.path), "record": e.record, "instruction": e.instruction, "layout": self.layout.name}

    def _frames(self, i: int, indices: range) -> np.ndarray:
        e = self._eps[i]
        feats = self._decode(read_record_at(e.path, e.offset, e.record), e.path, e.record)
        images = feats[self.layout.image_key]
        out = []
        for k in indices:
            try:
                with Image.open(io.BytesIO(images[k])) as im:
                    out.append(np.asarray(im.convert("RGB")))
            except (OSError, ValueError, IndexError) as exc:
                raise DataError(f"{e.path}: record {e.record}: step {k} image does not decode ({exc})") from exc
        return resize_frames(np.stack(out), self.size)

    def frame_size(self) -> tuple[int, int] | None:
        if self.size is not None or not self._eps:
            return self.size
        return tuple(self._frames(0, range(0, 1)).shape[1:3])

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            layout=self.layout.name if self.layout else None,
            shards=len(self.shards),
            frame_size=self.frame_size(),
            latents_present=0,
        )
        return d
