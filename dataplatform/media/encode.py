"""JPEG encoding of decoded frames (Pillow with libjpeg-turbo: the fastest encoder at hand).

Frames are stored upright: a phone video filmed in portrait is usually landscape pictures plus a
display matrix that says "rotate by 90 degrees"; players apply it, and so do we, so annotators
see (and masks are drawn on) what the video shows.
"""

from __future__ import annotations

import io

import av
from PIL import Image

JPEG_QUALITY = 90
THUMBNAIL_WIDTH = 320

# Counter-clockwise rotation of the display matrix -> the transpose that applies it.
_UPRIGHT = {
    90: Image.Transpose.ROTATE_90,
    -90: Image.Transpose.ROTATE_270,
    270: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    -180: Image.Transpose.ROTATE_180,
}


def rotation_of(frame: av.VideoFrame) -> int:
    """The display rotation of ``frame`` in degrees counter-clockwise (0, 90, 180 or -90)."""
    rotation = round(getattr(frame, "rotation", 0) or 0)
    return rotation if rotation in _UPRIGHT else 0


def display_size(frame: av.VideoFrame) -> tuple[int, int]:
    """(width, height) of the frame as shown, after its display rotation."""
    if rotation_of(frame) in (90, -90, 270):
        return frame.height, frame.width
    return frame.width, frame.height


def _upright(image: Image.Image, frame: av.VideoFrame) -> Image.Image:
    rotation = rotation_of(frame)
    return image.transpose(_UPRIGHT[rotation]) if rotation else image


def encode_jpeg(frame: av.VideoFrame, *, quality: int = JPEG_QUALITY) -> bytes:
    """The frame as a baseline JPEG, upright (YUV -> RGB in swscale, in the frame's colour space)."""
    buffer = io.BytesIO()
    _upright(frame.to_image(), frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_thumbnail(frame: av.VideoFrame, *, width: int = THUMBNAIL_WIDTH, quality: int = 85) -> bytes:
    """A small upright JPEG ``width`` pixels wide (aspect kept); scaling and conversion in one pass."""
    shown_w, shown_h = display_size(frame)
    width = min(width, shown_w)
    height = max(2, round(shown_h * width / shown_w / 2) * 2)
    turned = (shown_w, shown_h) != (frame.width, frame.height)
    small = frame.reformat(
        width=height if turned else width,
        height=width if turned else height,
        format="rgb24",
        interpolation="AREA",
    )
    buffer = io.BytesIO()
    _upright(small.to_image(), frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
