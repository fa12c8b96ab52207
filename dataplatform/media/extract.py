"""The whole media side of ingest: decode, sample, encode JPEGs, hand each to a writer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .decode import ProgressCallback, SampledFrame, SampledFrames
from .encode import JPEG_QUALITY, encode_jpeg, encode_thumbnail
from .limits import MediaLimits
from .probe import Source

FrameWriter = Callable[[int, bytes], None]  # (annotated frame index, JPEG bytes)


@dataclass(frozen=True)
class ExtractResult:
    source_frames: int
    frame_count: int  # annotated frames written
    width: int
    height: int
    duration: float  # seconds
    timestamps: list[float]  # source time of each annotated frame, seconds from the first frame
    thumbnail: bytes  # JPEG of the first annotated frame


def extract_frames(
    source: Source,
    *,
    fps: float,
    write_frame: FrameWriter,
    limits: MediaLimits | None = None,
    on_progress: ProgressCallback | None = None,
    quality: int = JPEG_QUALITY,
    workers: int = 2,
    skip_unneeded: bool = True,
) -> ExtractResult:
    """Decode ``source``, keep frames at ``fps``, JPEG-encode them and call ``write_frame`` for each.

    Encoding and writing run on ``workers`` threads while the decoder goes on (Pillow and
    FFmpeg release the GIL; writers are usually network-bound). At most ``4 x workers`` frames
    wait in memory. The first failure (MediaError from decoding, or whatever ``write_frame``
    raises) propagates after the pending work is finished or cancelled; frames already written
    are the caller's to remove.
    """
    frames = SampledFrames(
        source, fps=fps, limits=limits, on_progress=on_progress, skip_unneeded=skip_unneeded
    )
    thumbnail = b""
    pending: deque[Future[None]] = deque()

    def encode_and_write(sampled: SampledFrame) -> None:
        write_frame(sampled.index, encode_jpeg(sampled.frame, quality=quality))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jpeg") as pool:
        try:
            for sampled in frames:
                if sampled.index == 0:
                    thumbnail = encode_thumbnail(sampled.frame)
                pending.append(pool.submit(encode_and_write, sampled))
                while len(pending) > 4 * workers or (pending and pending[0].done()):
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
    summary = frames.summary
    return ExtractResult(
        source_frames=summary.source_frames,
        frame_count=len(summary.timestamps),
        width=summary.width,
        height=summary.height,
        duration=summary.duration,
        timestamps=list(summary.timestamps),
        thumbnail=thumbnail,
    )
