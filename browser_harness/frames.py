"""The synthetic frames the browser tests and the browser bench show: small JPEGs, easy to tell from masks."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 320, 240


def frame_jpeg(index: int) -> bytes:
    """A dark blue-grey gradient with a light square moving right: easy to tell apart from masks."""
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    pixels = np.stack([40 + x * 60 // WIDTH, 50 + y * 60 // HEIGHT, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    left = 40 + index * 12
    pixels[150:200, left:left + 50] = (200, 200, 190)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
