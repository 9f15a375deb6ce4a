"""Reader for LeRobotDataset v2.1 and v3.0 (parquet tables + mp4 videos), without ``lerobot``.

v2.1 (also v2.0)::

    meta/info.json          codebase_version, fps, features, splits, data_path, video_path, chunks_size
    meta/episodes.jsonl     {"episode_index", "tasks", "length"} per line
    data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet
    videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4

v3.0::

    meta/info.json          as above; data_path / video_path with {chunk_index} / {file_index}
    meta/episodes/chunk-*/file-*.parquet   one row per episode: episode_index, length,
        data/chunk_index, data/file_index, dataset_from_index, dataset_to_index,
        videos/{video_key}/chunk_index, .../file_index, .../from_timestamp, .../to_timestamp
    data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet   rows of many episodes
    videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4  episodes concatenated

Each parquet row is one frame with its ``timestamp`` (seconds from the episode start) and the
action taken there; row k's action drives frame k to k + 1, so an episode of L rows gives
L frames and L - 1 actions. Frames of a ``video`` feature are found by presentation time (v3:
``from_timestamp`` + ``timestamp``) and must match within ``tolerance_s`` (LeRobot's default
1e-4 s). Frames of an ``image`` feature live in the parquet rows themselves, as the Hugging Face
``datasets.Image`` type stores them: a struct ``{bytes, path}`` per row holding an encoded
PNG/JPEG (``bytes``), or naming a file inside the dataset root when ``bytes`` is null.
Splits come from ``info["splits"]`` (``"train": "0:40"`` episode ranges).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from freeaction.actions import action_scaler
from freeaction.data.base import DEFAULT_NUM_FRAMES, ClipDataset
from freeaction.data.paths import check_not_dangling, resolve_inside
from freeaction.data.video import read_frames_at, resize_frames
from freeaction.errors import DataError

SUPPORTED_VERSIONS = ("v2.0", "v2.1", "v3.0")


def is_lerobot_root(root: Path | str) -> bool:
    return (Path(root) / "meta" / "info.json").is_file()


def read_info(root: Path) -> dict[str, Any]:
    path = root / "meta" / "info.json"
    if not path.is_file():
        raise DataError(f"{path}: missing; not a LeRobotDataset root")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: malformed JSON ({exc})") from exc
    for key in ("codebase_version", "fps", "features", "data_path"):
        if key not in info:
            raise DataError(f"{path}: missing field {key!r}")
    if info["codebase_version"] not in SUPPORTED_VERSIONS:
        raise DataError(
            f"{path}: codebase_version {info['codebase_version']!r} is not supported ({', '.join(SUPPORTED_VERSIONS)})"
        )
    return info


def _split_range(info: dict[str, Any], split: str, path: Path) -> range:
    splits = info.get("splits") or {}
    if split not in splits:
        raise DataError(f"{path}: no split {split!r} in field 'splits' (found {sorted(splits)})")
    try:
        a, b = (int(x) for x in str(splits[split]).split(":"))
    except ValueError as exc:
        raise DataError(f"{path}: field splits[{split!r}] = {splits[split]!r} is not 'start:stop'") from exc
    return range(a, b)


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    if not path.is_file():
        raise DataError(f"{path}: parquet file is missing")
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError, KeyError) as exc:
        raise DataError(f"{path}: cannot read parquet ({exc})") from exc


class LeRobotDataset(ClipDataset):
    """Clips and episodes of one split of a LeRobotDataset (v2.1 or v3.0).

    Args:
        root: dataset root (holds ``meta/info.json``).
        split: a key of ``info["splits"]``.
        camera: video or image feature key (``observation.images.X`` or just ``X``); default the
            first video feature in ``info["features"]``, else the first image feature.
        action_key: the action column (default ``action``).
        scaler: per-dimension scaler to model space; default docs/method.md §1's (2-D/7-D actions).
        tolerance_s: largest allowed gap between a wanted timestamp and a decoded frame.
    """

    format = "lerobot"

    def __init__(
        self,
        root: Path | str,
        split: str = "train",
        *,
        camera: str | None = None,
        action_key: str = "action",
        scaler: Sequence[float] | None = None,
        num_frames: int = DEFAULT_NUM_FRAMES,
        stride: int | None = None,
        frames: bool = True,
        latents: bool | None = None,
        size: tuple[int, int] | None = None,
        skip_bad: bool = False,
        tolerance_s: float = 1e-4,
    ) -> None:
        super().__init__(root, split, num_frames=num_frames, stride=stride, frames=frames, size=size, skip_bad=skip_bad)
        if latents:
            raise DataError(
                f"{root}: LeRobot datasets hold no pre-encoded latents; convert with "
                "`freeaction data convert` to the IRASim layout and run `freeaction encode` on it"
            )
        self.load_latents = False
        self.root = Path(root).resolve()
        self.info_path = self.root / "meta" / "info.json"
        self.info = read_info(self.root)
        self.version = self.info["codebase_version"]
        self.format = f"lerobot-{self.version}"
        self.fps = float(self.info["fps"])
        self.tolerance_s = tolerance_s
        feats = self.info["features"]
        if action_key not in feats:
            raise DataError(f"{self.info_path}: no feature {action_key!r} (features: {sorted(feats)})")
        self.action_key = action_key
        dim = int(np.prod(feats[action_key].get("shape", [0])))
        self._scaler = action_scaler(dim) if scaler is None else np.asarray(scaler, dtype=np.float32)
        if self._scaler.shape != (dim,):
            raise DataError(f"scaler has {self._scaler.size} values but {action_key!r} is {dim}-D")
        self.video_keys = [k for k, f in feats.items() if f.get("dtype") == "video"]
        self.image_keys = [k for k, f in feats.items() if f.get("dtype") == "image"]
        cameras = self.video_keys + self.image_keys
        self.camera = self._pick_camera(camera) if frames else (camera or (cameras or [None])[0])
        wanted = _split_range(self.info, split, self.info_path)
        self._meta = [m for m in self._episodes_meta() if int(m["episode_index"]) in wanted]
        self._meta.sort(key=lambda m: int(m["episode_index"]))
        self._actions: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        good = []
        for m in self._meta:
            if int(m["length"]) < 1:
                self._skip_or_raise(self.info_path, DataError(f"episode {m['episode_index']} has length 0"))
            else:
                good.append(m)
        self._meta = good
        self._build_windows()

    # --- metadata -------------------------------------------------------------------------
    def _pick_camera(self, camera: str | None) -> str:
        cameras = self.video_keys + self.image_keys
        if not cameras:
            raise DataError(f"{self.info_path}: no video or image features to take frames from")
        if camera is None:
            return cameras[0]
        for key in (camera, f"observation.images.{camera}"):
            if key in cameras:
                return key
        raise DataError(f"{self.info_path}: no video or image feature {camera!r} (cameras: {cameras})")

    def _episodes_meta(self) -> list[dict[str, Any]]:
        if self.version.startswith("v2"):
            path = self.root / "meta" / "episodes.jsonl"
            if not path.is_file():
                raise DataError(f"{path}: missing (LeRobot {self.version} lists its episodes there)")
            out = []
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    m = json.loads(line)
                    int(m["episode_index"]), int(m["length"])
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise DataError(f"{path}: line {n} is not an episode record ({exc})") from exc
                out.append(m)
            return out
        files = sorted(check_not_dangling(p) for p in (self.root / "meta" / "episodes").rglob("*.parquet"))
        if not files:
            raise DataError(f"{self.root / 'meta' / 'episodes'}: no episode parquet files (LeRobot v3)")
        rows: list[dict[str, Any]] = []
        for f in files:
            rows += _read_parquet(f).to_pylist()
        return rows

    def _format_path(self, template_key: str, **fields: Any) -> Path:
        template = self.info.get(template_key)
        if not template:
            raise DataError(f"{self.info_path}: missing field {template_key!r}")
        try:
            rel = template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(
                f"{self.info_path}: field {template_key!r} = {template!r} cannot be filled ({exc})"
            ) from exc
        return resolve_inside(self.root, rel, source=self.info_path, field=template_key)

    def _data_location(self, m: dict[str, Any]) -> tuple[Path, int | None]:
        """Parquet file of an episode and, for v3, the episode index to filter its rows by."""
        ep = int(m["episode_index"])
        if self.version.startswith("v2"):
            chunk = ep // int(self.info.get("chunks_size", 1000))
            return self._format_path("data_path", episode_chunk=chunk, episode_index=ep), None
        return self._format_path(
            "data_path", chunk_index=int(m["data/chunk_index"]), file_index=int(m["data/file_index"])
        ), ep

    def _video_location(self, m: dict[str, Any]) -> tuple[Path, float]:
        ep, key = int(m["episode_index"]), self.camera
        if self.version.startswith("v2"):
            chunk = ep // int(self.info.get("chunks_size", 1000))
            return self._format_path("video_path", episode_chunk=chunk, episode_index=ep, video_key=key), 0.0
        try:
            chunk, file = int(m[f"videos/{key}/chunk_index"]), int(m[f"videos/{key}/file_index"])
            start = float(m[f"videos/{key}/from_timestamp"])
        except (KeyError, TypeError) as exc:
            raise DataError(f"{self.root}/meta/episodes: episode {ep} lacks {exc} for camera {key!r}") from exc
        return self._format_path("video_path", chunk_index=chunk, file_index=file, video_key=key), start

    def _rows(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(actions (L, D) float64 raw, timestamps (L,)) of episode ``i``, cached."""
        if i in self._actions:
            return self._actions[i]
        m = self._meta[i]
        path, ep = self._data_location(m)
        table = _table(path, (self.action_key, "timestamp", "episode_index", "frame_index"))
        if ep is not None:
            mask = np.asarray(table.column("episode_index").to_numpy()) == ep
            table = table.filter(pa.array(mask))
        order = np.argsort(table.column("frame_index").to_numpy(), kind="stable")
        try:
            acts = np.asarray(table.column(self.action_key).to_pylist(), dtype=np.float64)[order]
        except ValueError as exc:
            raise DataError(f"{path}: column {self.action_key!r} is not a fixed-size numeric vector ({exc})") from exc
        ts = table.column("timestamp").to_numpy().astype(np.float64)[order]
        if len(acts) != int(m["length"]):
            raise DataError(f"{path}: episode {m['episode_index']} has {len(acts)} rows, metadata says {m['length']}")
        self._actions[i] = (acts.reshape(len(acts), -1), ts)
        return self._actions[i]

    # --- the reader interface -------------------------------------------------------------
    @property
    def num_episodes(self) -> int:
        return len(self._meta)

    def episode_id(self, i: int) -> str:
        m = self._meta[i]
        return str(m.get("episode_id") or f"{int(m['episode_index']):06d}")

    def window_frames(self, i: int) -> int:
        return int(self._meta[i]["length"])

    @property
    def scaler(self) -> np.ndarray:
        return self._scaler

    @property
    def action_dim(self) -> int:
        return int(self._scaler.shape[0])

    def episode_raw_actions(self, i: int) -> np.ndarray:
        return self._rows(i)[0][:-1]

    def episode_actions(self, i: int) -> np.ndarray:
        return (self.episode_raw_actions(i) * self._scaler).astype(np.float32)

    def episode_source(self, i: int) -> str:
        where = "meta/episodes.jsonl" if self.version.startswith("v2") else "meta/episodes/"
        return f"{self.root / where} (episode_index {int(self._meta[i]['episode_index'])})"

    def _episode_meta(self, i: int) -> dict[str, Any]:
        m = self._meta[i]
        return {"episode_index": int(m["episode_index"]), "camera": self.camera, "tasks": m.get("tasks")}

    def _frames(self, i: int, indices: range) -> np.ndarray:
        if self.camera in self.image_keys:
            return self._parquet_frames(i, indices)
        _, ts = self._rows(i)
        video, start = self._video_location(self._meta[i])
        return read_frames_at(video, start + ts[indices.start : indices.stop], self.size, self.tolerance_s)

    def _parquet_frames(self, i: int, indices: range) -> np.ndarray:
        """Frames ``indices`` of episode ``i`` decoded from the image feature's parquet cells."""
        m = self._meta[i]
        path, ep = self._data_location(m)
        table = _table(path, (self.camera, "episode_index", "frame_index"))
        if ep is not None:
            table = table.filter(pa.array(np.asarray(table.column("episode_index").to_numpy()) == ep))
        order = np.argsort(table.column("frame_index").to_numpy(), kind="stable")
        cells = table.column(self.camera)
        out = []
        for k in indices:
            if k >= len(order):
                raise DataError(f"{path}: episode {m['episode_index']} has {len(order)} rows, frame {k} needed")
            where = f"{path}: column {self.camera!r}, episode {m['episode_index']} frame {k}"
            out.append(decode_image_cell(cells[int(order[k])].as_py(), self.root, where))
        return resize_frames(np.stack(out), self.size)

    def frame_size(self) -> tuple[int, int] | None:
        if self.size is not None:
            return self.size
        shape = self.info["features"].get(self.camera or "", {}).get("shape")
        names = self.info["features"].get(self.camera or "", {}).get("names") or []
        if shape and len(shape) == 3:
            if names and names[0] in ("channels", "channel", "c"):
                return int(shape[1]), int(shape[2])
            return int(shape[0]), int(shape[1])
        return None

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            version=self.version,
            fps=self.fps,
            cameras=self.video_keys + self.image_keys,
            camera=self.camera,
            frame_size=self.frame_size(),
            latents_present=0,
        )
        return d


def decode_image_cell(cell: Any, root: Path, where: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of one ``datasets.Image`` parquet cell ``{bytes, path}``: the encoded
    bytes, else the file ``path`` names inside ``root``; DataError starting with ``where``."""
    if isinstance(cell, dict) and cell.get("bytes") is not None:
        source: Any = io.BytesIO(cell["bytes"])
    elif isinstance(cell, dict) and cell.get("path"):
        source = resolve_inside(root, cell["path"], source=where, field="path")
    else:
        raise DataError(f"{where}: the cell holds neither image bytes nor a path ({cell!r:.80})")
    try:
        with Image.open(source) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: image does not decode ({exc})") from exc


def _table(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """The needed columns of a data parquet file, cached while the file is unchanged
    (a v3 file holds many episodes and is read once)."""
    if not path.is_file():
        raise DataError(f"{path}: parquet file is missing")
    st = path.stat()
    return _cached_table(path, columns, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _cached_table(path: Path, columns: tuple[str, ...], mtime_ns: int, size: int) -> pa.Table:
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read parquet ({exc})") from exc
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    return _read_parquet(path, list(columns))
