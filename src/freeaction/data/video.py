"""Video decoding and encoding with PyAV, plus an antialiased resize.

- :func:`read_frames` picks frames by their index in decode order (IRASim's mp4 files).
- :func:`read_frames_at` picks frames by presentation time (LeRobot: one timestamp per row,
  possibly inside a file that concatenates many episodes); each requested time must match a
  decoded frame within ``tolerance_s`` and the count is verified.
- :func:`write_video` writes an H.264 (yuv420p) mp4 with timestamps k / fps.

Every failure (missing file, undecodable stream, too few frames) is a DataError naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from freeaction.errors import DataError
from freeaction.media import VideoWriter


def resize_frames(frames: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 frames to ``size`` = (H, W), bilinear with antialiasing."""
    if size is None or tuple(frames.shape[1:3]) == tuple(size):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise DataError(f"{path}: video file is missing")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot open video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise DataError(f"{path}: no video stream")
    return container


def read_frames(path: Path, indices: Sequence[int] | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames at ``indices`` (decode order, 0-based) of ``path`` as (N, H, W, 3) uint8 RGB.

    ``indices=None`` reads every frame. Decoding stops after the largest index wanted.
    """
    path = Path(path)
    wanted = None if indices is None else [int(i) for i in indices]
    if wanted is not None and any(i < 0 for i in wanted):
        raise DataError(f"{path}: negative frame index in {wanted}")
    last = None if wanted is None else max(wanted, default=-1)
    picked: dict[int, np.ndarray] = {}
    every: list[np.ndarray] = []
    count = 0
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for k, frame in enumerate(container.decode(stream)):
            if last is not None and k > last:
                break
            if wanted is None:
                every.append(frame.to_ndarray(format="rgb24"))
            elif k in wanted:
                picked[k] = frame.to_ndarray(format="rgb24")
            count = k + 1
    except av.error.FFmpegError as exc:
        raise DataError(f"{path}: corrupt video ({exc})") from exc
    finally:
        container.close()
    if wanted is None:
        if not every:
            raise DataError(f"{path}: video has no decodable frames")
        return resize_frames(np.stack(every), size)
    missing = [i for i in wanted if i not in picked]
    if missing:
        raise DataError(f"{path}: needs frame {max(missing)} but only {count} frames decode")
    if not wanted:
        raise DataError(f"{path}: no frames requested")
    return resize_frames(np.stack([picked[i] for i in wanted]), size)


def count_frames(path: Path) -> int:
    """Number of decodable frames (decodes the whole stream, which also checks it is intact)."""
    path = Path(path)
    container = _open(path)
    n = 0
    try:
        for _ in container.decode(container.streams.video[0]):
            n += 1
    except av.error.FFmpegError as exc:
        raise DataError(f"{path}: corrupt video after {n} frames ({exc})") from exc
    finally:
        container.close()
    return n


def read_frames_at(
    path: Path,
    timestamps: Sequence[float],
    size: tuple[int, int] | None = None,
    tolerance_s: float = 1e-4,
) -> np.ndarray:
    """Frames whose presentation time matches each of ``timestamps`` (seconds, ascending).

    Seeks to the keyframe before the first time, decodes forward, and matches every
    requested time to the nearest decoded frame; a gap larger than ``tolerance_s`` or a
    missing frame is a DataError (no silent substitution).
    """
    path = Path(path)
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        raise DataError(f"{path}: no timestamps requested")
    container = _open(path)
    times: list[float] = []
    images: list[np.ndarray] = []
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base or Fraction(1, 1_000_000)
        start = float(ts.min())
        if start > 0:
            container.seek(int(max(start - 1e-3, 0) / tb), stream=stream, backward=True, any_frame=False)
        stop = float(ts.max()) + tolerance_s
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * tb)
            if t < start - tolerance_s:
                continue
            if t > stop:
                break
            times.append(t)
            images.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as exc:
        raise DataError(f"{path}: corrupt video ({exc})") from exc
    finally:
        container.close()
    if not times:
        raise DataError(f"{path}: no frame near t={ts.min():.4f}s (the video is shorter than its metadata)")
    tarr = np.asarray(times)
    nearest = np.abs(tarr[None, :] - ts[:, None]).argmin(axis=1)
    gaps = np.abs(tarr[nearest] - ts)
    bad = np.flatnonzero(gaps > tolerance_s)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: no frame at t={ts[i]:.4f}s (nearest {tarr[nearest[i]]:.4f}s, "
            f"tolerance {tolerance_s}s); "
            f"{bad.size} of {ts.size} requested timestamps unmatched"
        )
    out = np.stack([images[j] for j in nearest])
    if len(out) != ts.size:  # pragma: no cover - guarded above, kept as the stated invariant
        raise DataError(f"{path}: decoded {len(out)} frames for {ts.size} timestamps")
    return resize_frames(out, size)


def write_video(path: Path, frames: np.ndarray, fps: int = 10, crf: int = 18) -> None:
    """Write (N, H, W, 3) uint8 RGB frames as H.264 (yuv420p) mp4, frame k at time k / fps."""
    with VideoWriter(path, fps=fps, crf=crf, options={"preset": "veryfast"}) as writer:
        writer.write(np.asarray(frames, dtype=np.uint8))
