"""An image a person uploads as the start frame: validated, then resized to the model's frame size."""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from freeaction.errors import InputError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4096
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")


def read_upload(data_url: object, size: tuple[int, int]) -> tuple[np.ndarray, str | None]:
    """A ``data:image/...;base64,...`` URL -> RGB uint8 (H, W, 3) at ``size`` (H, W), and a notice
    when it was resized. Raises :class:`InputError` for anything that is not a small image."""
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise InputError("upload: expected the file as a data: URL")
    if len(data_url) > MAX_UPLOAD_BYTES * 4 // 3 + 256:
        raise InputError(f"upload: the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    header, _, payload = data_url.partition(",")
    if not header.endswith(";base64"):
        raise InputError("upload: expected base64 data")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("upload: the data is not valid base64") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError(f"upload: the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in FORMATS:
                raise InputError(f"upload: {im.format} images are not accepted; use one of {', '.join(FORMATS)}")
            if max(im.size) > MAX_SIDE:
                raise InputError(f"upload: the image is {im.size[0]}x{im.size[1]}; at most {MAX_SIDE} px a side")
            image = im.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InputError("upload: not an image (accepted: " + ", ".join(FORMATS) + ")") from None
    H, W = size
    notice = None
    if image.size != (W, H):
        notice = f"image resized from {image.size[0]}x{image.size[1]} to the model's {W}x{H} (WxH)"
        image = image.resize((W, H), Image.Resampling.LANCZOS)
    return np.asarray(image), notice
