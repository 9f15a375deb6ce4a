"""Files users hand to and get from the tool: images, action files, videos.

Every reader raises :class:`~freeaction.errors.InputError` naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from freeaction.errors import InputError


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """An image file -> RGB uint8 (H, W, 3). 16-bit grey images are scaled to 8 bit
    (v * 255 / 65535, rounded); floating-point and other high-bit-depth images are refused."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            if im.mode.startswith("I;16") or im.mode == "I":
                return _grey16_to_rgb8(np.asarray(im), path)
            if im.mode == "F" or ";" in im.mode:
                raise InputError(f"{path}: image mode {im.mode!r} is not supported; save it as 8-bit RGB")
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc


def _grey16_to_rgb8(grey: np.ndarray, path: Path) -> np.ndarray:
    """16-bit grey values (0..65535) -> RGB uint8, each value v becoming round(v * 255 / 65535)."""
    grey = grey.astype(np.int64)
    if grey.size and (grey.min() < 0 or grey.max() > 65535):
        raise InputError(f"{path}: integer image values span {grey.min()}..{grey.max()}, outside 16 bit; "
                         "save it as 8-bit RGB")
    eight = ((grey * 255 + 32767) // 65535).astype(np.uint8)
    return np.repeat(eight[..., None], 3, axis=-1)


def read_actions(path: str | os.PathLike[str]) -> np.ndarray:
    """Actions (n, A) float32 from ``.npy``, ``.json`` (a list of rows, or {"actions": rows}) or ``.csv``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"action file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix == ".json":
            obj = json.loads(path.read_text())
            data = obj.get("actions") if isinstance(obj, dict) else obj
            if data is None:
                raise InputError(f"{path}: JSON object has no 'actions' field")
        elif suffix == ".csv":
            with path.open(newline="") as f:
                rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
            if rows and not _is_number(rows[0][0]):
                rows = rows[1:]  # header
            data = [[float(v) for v in r] for r in rows]
        else:
            raise InputError(f"{path}: unsupported action file type {suffix!r} (use .npy, .json or .csv)")
        arr = np.asarray(data, dtype=np.float32)
    except InputError:
        raise
    except (ValueError, TypeError, json.JSONDecodeError, OSError) as exc:
        raise InputError(f"{path}: cannot read actions ({exc})") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or len(arr) == 0:
        raise InputError(f"{path}: actions must be a non-empty (n, A) table, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        rows = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, 0]})
        raise InputError(f"{path}: actions contain NaN or Inf (rows {rows[:10]})")
    return arr


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


X264_CPUS_BELOW_AVX512 = "MMX2,SSE,SSE2,SSE2Fast,SSE3,SSSE3,SSE4.1,SSE4.2,LZCNT,AVX,FMA3,BMI1,BMI2,AVX2"
"""The x86 instruction sets libx264 may use on a CPU with AVX-512 (every such CPU has all of them):
PyAV's bundled libx264 gives different bytes for the same frames from one call to the next when it
uses its AVX-512 code (measured on a Xeon with AVX-512: 1 in 4 encodes of a 64x64 clip at CRF 23
differed, after other videos were decoded in the process); without it every encode of each test
clip was identical, and equal to the ffmpeg command line's given the same cap (x264's rate control
is floating point, so its bytes depend on the instruction set it runs)."""


@functools.cache
def encoder_options() -> dict[str, str]:
    """libx264 options every mp4 freeaction writes gets, so the bytes depend only on the frames and
    settings: one thread (a threaded x264 splits the work by the machine's core count) and, where the
    CPU has AVX-512 (Linux: ``/proc/cpuinfo``), no AVX-512 code (:data:`X264_CPUS_BELOW_AVX512`)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        cpuinfo = ""
    avx512 = any(line.startswith("flags") and "avx512f" in line.split() for line in cpuinfo.splitlines())
    return {"threads": "1", **({"x264-params": f"asm={X264_CPUS_BELOW_AVX512}"} if avx512 else {})}


class VideoWriter:
    """Streams RGB uint8 frames into an H.264 MP4 as they come; frame k is stamped k / fps.

    The default ``yuv420p`` plays in browsers (odd sizes are padded by one edge pixel);
    ``yuv444p`` keeps full-resolution colour (simulator datasets use it with ``crf=0``).
    ``options`` go to libx264 on top of :func:`encoder_options`, which pin the encoder to one
    thread and keep it off AVX-512: otherwise the same frames would give different files (and
    decoded pixels) from run to run and machine to machine.
    ``rgb_to_yuv`` names the swscale interpolation of the RGB -> YUV conversion (it filters the
    subsampled chroma); ``None`` leaves it to PyAV (bilinear), and ``"BICUBIC"`` is what the ffmpeg
    command line (and so imageio's writer) uses.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 4,
        crf: int = 15,
        pix_fmt: str = "yuv420p",
        options: dict[str, str] | None = None,
        rgb_to_yuv: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.rgb_to_yuv = rgb_to_yuv
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rate = Fraction(fps).limit_denominator(1000)
        self.crf, self.pix_fmt, self.options = crf, pix_fmt, {**encoder_options(), **(options or {})}
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self.frames_written = 0

    def _open(self, h: int, w: int) -> None:
        self._pad = (h % 2, w % 2) if self.pix_fmt == "yuv420p" else (0, 0)
        self._container = av.open(str(self.path), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=self.rate)
        self._stream.width, self._stream.height = w + self._pad[1], h + self._pad[0]
        self._stream.pix_fmt = self.pix_fmt
        self._stream.options = {"crf": str(int(self.crf)), **self.options}

    def write(self, frames: np.ndarray) -> None:
        """Append (H, W, 3) or (T, H, W, 3) uint8 frames."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
        if self._container is None:
            self._open(*frames.shape[1:3])
        for frame in frames:
            if any(self._pad):  # yuv420p needs even sizes: repeat the last row/column
                frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            if self.rgb_to_yuv is not None:
                vf = vf.reformat(format=self.pix_fmt, interpolation=self.rgb_to_yuv)
            vf.pts, vf.time_base = self.frames_written, 1 / self.rate
            self._container.mux(self._stream.encode(vf))
            self.frames_written += 1

    def close(self) -> None:
        if self._container is not None:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


