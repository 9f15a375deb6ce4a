"""Files users hand to and get from the tool: images of every bit depth, byte-reproducible videos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from freeaction.errors import InputError
from freeaction.media import VideoWriter, read_image


def test_16_bit_grey_png_is_scaled_to_8_bit_not_white(tmp_path):
    grey = np.array([[0, 257, 32896], [65535, 128, 65278]], np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    rgb = read_image(tmp_path / "g16.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 3, 3)
    np.testing.assert_array_equal(rgb[..., 0], [[0, 1, 128], [255, 0, 254]])
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_8_bit_images_are_unchanged(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "l.png"), np.repeat(rgb[..., :1], 3, axis=-1))


def test_floating_point_images_are_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 0.5, np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(InputError, match=r"f.tiff: image mode 'F' is not supported"):
        read_image(tmp_path / "f.tiff")


def _encode(path, frames, **kw) -> bytes:
    with VideoWriter(path, fps=4, crf=18, **kw) as w:
        w.write(frames)
    return path.read_bytes()


def test_videos_do_not_depend_on_the_encoders_thread_count(tmp_path):
    rng = np.random.default_rng(1)
    frames = np.clip(rng.normal(128, 60, (12, 128, 128, 3)).cumsum(0) / 4, 0, 255).astype(np.uint8)
    default = _encode(tmp_path / "a.mp4", frames)
    assert _encode(tmp_path / "b.mp4", frames) == default
    assert _encode(tmp_path / "c.mp4", frames, options={"threads": "1"}) == default


def test_the_same_frames_give_the_same_bytes_every_time(tmp_path):
    """PyAV's libx264 varied from call to call on CPUs with AVX-512 (1 in 4 encodes of such a clip,
    more after other videos were decoded in the process); freeaction keeps it off that code."""
    from freeaction.data.video import read_frames
    from freeaction.eval.scoring import IRASIM_MP4

    x = np.linspace(0, 1, 64)
    frames = np.stack([np.stack([np.outer(np.sin(6 * x + t / 3), np.cos(5 * x - t / 4)) * 100 + 128 + 20 * c
                                 for c in range(3)], -1) for t in range(16)]).astype(np.uint8)
    frames[:, 20:30, 10:20] = (220, 60, 30)
    first = None
    for k in range(12):
        path = tmp_path / f"{k}" / "clip.mp4"  # a new path and a decode each time, as the scoring does
        with VideoWriter(path, fps=4, rgb_to_yuv="BICUBIC", **IRASIM_MP4) as writer:
            writer.write(frames)
        read_frames(path)
        first = first or path.read_bytes()
        assert path.read_bytes() == first, f"encode {k} differs from the first"
