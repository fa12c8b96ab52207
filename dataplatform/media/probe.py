"""What is in a media file: container, video codec, size, frame rate, duration, frame count."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error

from .errors import MediaError
from .sniff import SNIFF_BYTES, sniff

Source = str | os.PathLike[str] | BinaryIO

# Demuxers FFmpeg may use on an uploaded file. Anything else (image sequences, playlists and
# concat lists that make FFmpeg open other files or URLs, ANSI art, ...) is refused.
VIDEO_FORMATS = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "ogg",
    "asf",
    "h264",
    "hevc",
    "m4v",
    "ivf",
    "nut",
    "mxf",
    # Accepted so that audio-only uploads get "no video stream" rather than "not a video".
    "wav",
    "mp3",
    "aac",
    "flac",
)
_OPEN_OPTIONS = {"format_whitelist": ",".join(VIDEO_FORMATS)}

_NOT_A_VIDEO = "This file is not a video FFmpeg can read"


@dataclass(frozen=True)
class VideoProbe:
    """Header facts about a file's first video stream (``has_video`` False: none was found)."""

    container: str
    has_video: bool
    has_audio: bool
    codec: str | None = None  # FFmpeg's codec name ("h264"), None if FFmpeg has no decoder for it
    codec_tag: str | None = None  # what the file says the codec is ("avc1"), for messages
    width: int = 0
    height: int = 0
    fps: float | None = None  # average frame rate; None when the file does not say
    duration: float | None = None  # seconds
    frame_count: int | None = None  # from the header, else duration x fps; None: unknown (raw streams)
    size_bytes: int | None = None


def open_container(source: Source) -> av.container.InputContainer:
    """Open ``source`` for reading with the allowed demuxers only, or raise MediaError."""
    _sniff_source(source)
    try:
        if isinstance(source, str | os.PathLike):
            return av.open(os.fspath(source), mode="r", options=_OPEN_OPTIONS)
        return av.open(source, mode="r", options=_OPEN_OPTIONS)
    except av.error.ArgumentError as exc:
        # format_whitelist refusals come back as EINVAL.
        raise MediaError(f"{_NOT_A_VIDEO} (its format is not a video container we accept).") from exc
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise MediaError(
            f"{_NOT_A_VIDEO}: it is damaged, incomplete (an interrupted upload or copy?), "
            "or not a video at all. Check that it plays, then upload it again."
        ) from exc
    except av.error.FFmpegError as exc:
        raise MediaError(f"{_NOT_A_VIDEO} ({exc.strerror}).") from exc


def probe(source: Source) -> VideoProbe:
    """Read the header of ``source`` (a path or a seekable binary file).

    Raises MediaError when the file is missing, empty, plainly not a video (image, PDF, text,
    archive) or cannot be opened by FFmpeg. Everything else (no video stream, an unknown codec,
    odd sizes or rates) is reported in the result for :func:`validate` to judge.
    """
    size = _size_of(source)
    with open_container(source) as container:
        audio = len(container.streams.audio) > 0
        if not container.streams.video:
            return VideoProbe(
                container=container.format.name, has_video=False, has_audio=audio, size_bytes=size
            )
        stream = container.streams.video[0]
        ctx = stream.codec_context
        fps = _fps_of(stream)
        duration = _duration_of(container, stream)
        frames = stream.frames or (round(duration * fps) if duration and fps else None)
        return VideoProbe(
            container=container.format.name,
            has_video=True,
            has_audio=audio,
            codec=_codec_of(ctx),
            codec_tag=_tag_of(ctx),
            width=(ctx.width if ctx else 0) or 0,
            height=(ctx.height if ctx else 0) or 0,
            fps=float(fps) if fps else None,
            duration=float(duration) if duration else None,
            frame_count=int(frames) if frames is not None else None,
            size_bytes=size,
        )


def _codec_of(ctx: av.codec.context.CodecContext | None) -> str | None:
    """FFmpeg's name of the codec, or None when FFmpeg has no decoder for it."""
    if ctx is None or ctx.codec is None or ctx.name in ("", "none"):
        return None
    return ctx.name


def _tag_of(ctx: av.codec.context.CodecContext | None) -> str | None:
    tag = ctx.codec_tag if ctx is not None and isinstance(ctx.codec_tag, str) else ""
    return tag.strip("\x00 ") or None


def _fps_of(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return None


def _duration_of(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Fraction | None:
    if stream.duration and stream.time_base:
        return stream.duration * stream.time_base
    if container.duration and container.duration > 0:
        return Fraction(container.duration, av.time_base)
    return None


def _sniff_source(source: Source) -> None:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise MediaError(f"No file named {path.name!r} was found.")
        if not path.is_file():
            raise MediaError(f"{path.name!r} is a folder, not a video file.")
        with path.open("rb") as fh:
            sniff(fh.read(SNIFF_BYTES))
        return
    position = source.tell()
    head = source.read(SNIFF_BYTES)
    source.seek(position)
    sniff(head)


def _size_of(source: Source) -> int | None:
    if isinstance(source, str | os.PathLike):
        try:
            return os.path.getsize(source)
        except OSError:
            return None
    try:
        position = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(position)
        return size
    except (OSError, AttributeError):
        return None
