"""JPEG encoding of decoded frames (Pillow with libjpeg-turbo: the fastest encoder at hand)."""

from __future__ import annotations

import io

import av

JPEG_QUALITY = 90
THUMBNAIL_WIDTH = 320


def encode_jpeg(frame: av.VideoFrame, *, quality: int = JPEG_QUALITY) -> bytes:
    """The frame as a baseline JPEG (YUV -> RGB in swscale, using the frame's colour space)."""
    buffer = io.BytesIO()
    frame.to_image().save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_thumbnail(frame: av.VideoFrame, *, width: int = THUMBNAIL_WIDTH, quality: int = 85) -> bytes:
    """A small JPEG ``width`` pixels wide (aspect kept); scaling and colour conversion in one pass."""
    width = min(width, frame.width)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    small = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    buffer = io.BytesIO()
    small.to_image().save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
