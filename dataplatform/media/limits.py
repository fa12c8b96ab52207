"""What a video must be to be ingested, and the check of a probe against it."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MediaError
from .probe import VideoProbe

# Codecs FFmpeg exposes as "video" that are really still images or text.
STILL_IMAGE_CODECS = frozenset(
    {"png", "apng", "bmp", "tiff", "webp", "gif", "jpeg2000", "jpegls", "ansi", "bintext", "xbin", "idf"}
)


@dataclass(frozen=True)
class MediaLimits:
    """Bounds an ingested video must respect. ``None`` disables a bound.

    ``max_width`` x ``max_height`` is a box the frame must fit in either way round, so that a
    portrait phone video (1080x1920) passes wherever its landscape twin does.
    """

    max_bytes: int | None = 2 * 1024**3
    max_seconds: float | None = 30 * 60.0
    max_width: int | None = 3840
    max_height: int | None = 2160
    max_pixels: int | None = None  # width x height
    min_width: int = 16
    min_height: int = 16
    min_frames: int = 2
    min_fps: float = 1.0
    max_fps: float = 240.0


def validate(probe: VideoProbe, limits: MediaLimits) -> None:
    """Raise MediaError with a message the uploader can act on if ``probe`` breaks ``limits``."""
    if limits.max_bytes is not None and probe.size_bytes is not None and probe.size_bytes > limits.max_bytes:
        raise MediaError(
            f"The file is {_mb(probe.size_bytes)}; the limit is {_mb(limits.max_bytes)}. "
            "Cut the video into shorter parts or re-encode it at a lower bitrate."
        )
    if not probe.has_video:
        what = "only audio" if probe.has_audio else "no video stream"
        raise MediaError(f"This file has {what}: there is no picture to annotate. Upload a video file.")
    if probe.codec is None:
        tag = f" ({probe.codec_tag!r})" if probe.codec_tag else ""
        raise MediaError(
            f"The video codec{tag} is not one we can decode. Re-encode the video as H.264 (MP4) and upload it again."
        )
    if probe.codec in STILL_IMAGE_CODECS:
        raise MediaError(f"This is a still image ({probe.codec}), not a video. Upload a video file.")
    if probe.width <= 0 or probe.height <= 0:
        raise MediaError(
            f"The video says its picture is {probe.width}x{probe.height} pixels, which cannot be right: "
            "the file is damaged. Re-export it and upload it again."
        )
    if probe.width < limits.min_width or probe.height < limits.min_height:
        raise MediaError(
            f"The video is {probe.width}x{probe.height} pixels; it must be at least "
            f"{limits.min_width}x{limits.min_height} to be annotated."
        )
    _check_max_size(probe, limits)
    if probe.fps is None:
        raise MediaError(
            "The video does not say its frame rate and none can be worked out from its timestamps. "
            "Re-encode it with a constant frame rate (e.g. 30 fps)."
        )
    if not limits.min_fps <= probe.fps <= limits.max_fps:
        raise MediaError(
            f"The video's frame rate is {probe.fps:.4g} fps; we accept {limits.min_fps:g} to {limits.max_fps:g} fps. "
            "Its timestamps are probably broken: re-encode it with a constant frame rate."
        )
    if limits.max_seconds is not None and probe.duration is not None and probe.duration > limits.max_seconds:
        raise MediaError(
            f"The video is {_duration(probe.duration)} long; the limit is {_duration(limits.max_seconds)}. "
            "Cut it into shorter clips."
        )
    if probe.frame_count is not None and probe.frame_count < limits.min_frames:
        what = "no frames" if probe.frame_count == 0 else f"only {probe.frame_count} frame(s)"
        raise MediaError(
            f"The video has {what}; at least {limits.min_frames} are needed to annotate a video. "
            "If it should be longer, the file is incomplete: upload it again."
        )


def _check_max_size(probe: VideoProbe, limits: MediaLimits) -> None:
    message = frame_size_problem(probe.width, probe.height, limits)
    if message:
        raise MediaError(message)


def frame_size_problem(width: int, height: int, limits: MediaLimits) -> str | None:
    """Why a ``width`` x ``height`` frame is over ``limits``, or None if it is not."""
    box_w = limits.max_width or 10**9
    box_h = limits.max_height or 10**9
    if not ((width <= box_w and height <= box_h) or (width <= box_h and height <= box_w)):
        return (
            f"The video is {width}x{height} pixels; the limit is {box_w}x{box_h} (or {box_h}x{box_w}). "
            "Scale it down (e.g. to 1920x1080)."
        )
    if limits.max_pixels is not None and width * height > limits.max_pixels:
        return (
            f"The video is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); the limit is "
            f"{limits.max_pixels / 1e6:.1f} megapixels a frame. Scale it down (e.g. to 1920x1080)."
        )
    return None


def _mb(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GB"
    return f"{n / 1024**2:.1f} MB"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:.0f} s" if minutes else f"{secs:.1f} s"
