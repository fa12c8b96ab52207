"""Small H.264 videos made with PyAV, with exact known timestamps: for tests, the bench and demos."""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np


def frame_pattern(index: int, width: int, height: int, noise: int = 24) -> np.ndarray:
    """A (height, width, 3) uint8 picture that moves with ``index``: gradients, a moving box, noise.

    ``noise`` (0-255) is the amplitude of per-frame texture: more of it, more bits per frame.
    """
    y = np.arange(height, dtype=np.uint16)[:, None]
    x = np.arange(width, dtype=np.uint16)[None, :]
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[..., 0] = (x + 3 * index) & 0xFF
    image[..., 1] = (y + 2 * index) & 0xFF
    image[..., 2] = ((x // 8 + y // 8 + index) & 1) * 160
    size = max(4, min(width, height) // 5)
    left = (index * 7) % max(1, width - size)
    top = (index * 5) % max(1, height - size)
    image[top : top + size, left : left + size] = (255, 255, 255)
    if noise:
        rng = np.random.default_rng(index)
        image ^= rng.integers(0, noise, size=image.shape, dtype=np.uint8)  # texture: the encoder has work
    return image


def write_video(
    path: str | os.PathLike[str],
    *,
    fps: Fraction | float | int = 30,
    frames: int = 30,
    width: int = 320,
    height: int = 240,
    times: Sequence[Fraction] | None = None,
    codec: str = "libx264",
    faststart: bool = False,
    audio: bool = False,
    options: dict[str, str] | None = None,
    noise: int = 24,
    rotation: int = 0,
) -> None:
    """Write ``frames`` frames at ``fps`` (or at ``times``, in seconds: variable frame rate).

    With ``times``, the stream's time base is 1/90000 (MPEG's), and each frame's PTS is its time;
    the container then has no constant rate and players honour the PTS.
    """
    rate = Fraction(fps).limit_denominator(100_000)
    container_options = {"movflags": "+faststart"} if faststart else {}
    with av.open(os.fspath(path), mode="w", options=container_options) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = (
            {"preset": "ultrafast", **(options or {})} if codec == "libx264" else dict(options or {})
        )
        if rotation:
            stream.set_display_rotation(rotation)  # counter-clockwise degrees, as phones record portrait
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 90000)
        audio_stream = container.add_stream("aac", rate=48000) if audio else None
        count = len(times) if times is not None else frames
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, width, height, noise), format="rgb24")
            if times is not None:
                frame.pts = int(Fraction(times[i]) * 90000)
                frame.time_base = Fraction(1, 90000)
            else:
                frame.pts = i
                frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            _write_silence(container, audio_stream, seconds=float(count / rate))


def write_audio_only(path: str | os.PathLike[str], *, seconds: float = 1.0, codec: str = "aac") -> None:
    """An audio file (a 440 Hz tone) with no video stream."""
    with av.open(os.fspath(path), mode="w") as container:
        stream = container.add_stream(codec, rate=48000)
        _write_silence(container, stream, seconds=seconds, tone=True)


def _write_silence(container, stream, *, seconds: float, tone: bool = False) -> None:
    samples = int(seconds * 48000)
    t = np.arange(samples) / 48000
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32) if tone else np.zeros(samples, np.float32)
    chunk = 1024
    for start in range(0, samples, chunk):
        piece = wave[start : start + chunk][None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece), format="flt", layout="mono")
        frame.sample_rate = 48000
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
