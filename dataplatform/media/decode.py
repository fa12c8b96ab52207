"""Decode a video and yield the frames sampled at the annotation rate (see sampling.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.error

from .encode import display_size
from .errors import MediaError
from .limits import MediaLimits, frame_size_problem
from .plan import DecodePlan, make_plan, skipping_off
from .probe import Source, open_container
from .sampling import Pick, TimestampSampler

ProgressCallback = Callable[[int], None]
PROGRESS_EVERY = 25  # source frames between progress calls
MAX_BAD_PACKETS = 5  # damaged packets tolerated (concealed) before the stream is called corrupt


@dataclass(frozen=True)
class SampledFrame:
    index: int  # annotated frame index
    source_index: int  # index among the decoded source frames (presentation order)
    timestamp: float  # seconds from the first frame (source PTS x time base - first frame's)
    frame: av.VideoFrame  # still in the decoder's pixel format (usually yuv420p)


@dataclass
class DecodeSummary:
    """Filled in while iterating; complete once the iterator is exhausted."""

    source_frames: int = 0  # frames with a usable timestamp (decoded, or skipped as not needed)
    skipped_frames: int = 0  # frames not decoded: nothing refers to them and they are not kept
    dropped_frames: int = 0  # frames whose timestamp did not increase
    bad_packets: int = 0  # damaged packets skipped (up to MAX_BAD_PACKETS)
    duration: float = 0.0  # first frame's time to the end of the last frame, seconds
    width: int = 0  # as shown (after the display rotation), like the JPEGs
    height: int = 0
    timestamps: list[float] = field(default_factory=list)  # of the annotated frames


class SampledFrames:
    """Iterate over ``SampledFrame`` of ``source`` at ``fps`` annotated frames a second.

    Only the kept frames are ever converted from the decoder's YUV; decoding is multi-threaded;
    with ``skip_unneeded``, frames that are neither kept nor referred to are not decoded (plan.py).
    Raises MediaError on a stream that is not decodable, is corrupt, breaks ``limits`` while
    decoding (the header lied) or ends before its header said it would (a truncated file).
    """

    def __init__(
        self,
        source: Source,
        *,
        fps: float,
        limits: MediaLimits | None = None,
        on_progress: ProgressCallback | None = None,
        skip_unneeded: bool = True,
    ) -> None:
        self.source = source
        self.skip_unneeded = skip_unneeded
        self.fps = fps
        self.limits = limits or MediaLimits()
        self.on_progress = on_progress
        self.summary = DecodeSummary()

    def __iter__(self) -> Iterator[SampledFrame]:
        plan = make_plan(self.source, self.fps) if self.skip_unneeded else None
        with open_container(self.source) as container:
            if not container.streams.video:
                raise MediaError("This file has no video stream: there is no picture to annotate.")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None or ctx.codec is None or ctx.name == "none":
                raise MediaError(
                    "The video codec is not one we can decode. Re-encode the video as H.264 (MP4)."
                )
            stream.thread_type = "AUTO"
            yield from self._decode(container, stream, plan)

    def _decode(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        plan: DecodePlan | None,
    ) -> Iterator[SampledFrame]:
        summary = self.summary
        sampler: TimestampSampler[av.VideoFrame] = TimestampSampler(self.fps)
        time_base = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate
        first: Fraction | None = None
        last: Fraction | None = None
        last_duration: Fraction | None = None
        bad_packets = 0
        try:
            reported = 0
            for packet in container.demux(stream):
                if self.on_progress and summary.source_frames - reported >= PROGRESS_EVERY:
                    reported = summary.source_frames
                    self.on_progress(reported)
                if plan is not None and packet.pts in plan.disposable and packet.pts not in plan.keep:
                    summary.source_frames += 1
                    summary.skipped_frames += 1
                    continue
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:
                    # One damaged packet is concealed (FFmpeg repairs the picture from its
                    # neighbours); many of them are a corrupt file, reported below.
                    bad_packets += 1
                    if bad_packets > MAX_BAD_PACKETS:
                        raise
                    continue
                for frame in decoded:
                    time = self._time_of(frame, time_base, last, rate)
                    if last is not None and time <= last:
                        summary.dropped_frames += 1
                        continue
                    if first is None:
                        if plan is not None and frame.pts != plan.first:
                            # The decoder starts elsewhere (an edit list?): decode everything.
                            plan = skipping_off(self.source, f"the first decoded frame (PTS {frame.pts}) "
                                                f"is not the plan's first (PTS {plan.first})")
                        first = time
                        summary.width, summary.height = display_size(frame)
                    self._check_running_limits(time - first, frame)
                    last_duration = (
                        frame.duration * time_base
                        if frame.duration
                        else (time - last if last is not None else None)
                    )
                    last = time
                    summary.source_frames += 1
                    index = plan.index_of.get(frame.pts) if plan is not None else None
                    for pick in sampler.push(time, frame, index):
                        yield self._sampled(pick)
        except av.error.FFmpegError as exc:
            at = f" about {float(last - first):.1f} s in" if first is not None and last is not None else ""
            raise MediaError(
                f"The video stream is corrupt{at} and cannot be decoded ({exc.strerror}). "
                "Re-export or re-encode the video and upload it again."
            ) from exc
        summary.bad_packets = bad_packets
        if first is None or last is None:
            if stream.frames:
                raise MediaError(
                    f"None of the {stream.frames} frames the video's header announces could be read: the file "
                    "is truncated, probably by an interrupted upload or copy. Upload the complete file."
                )
            raise MediaError(
                "No frame of this video could be decoded: it has no pictures or they are damaged. "
                "Check that the file plays, then upload it again."
            )
        end = last + (last_duration or (1 / Fraction(rate) if rate else sampler.step))
        if plan is not None:
            end = max(end, plan.end)  # the last frame may have been skipped
        for pick in sampler.finish(end):
            yield self._sampled(pick)
        summary.duration = float(end - first)
        if self.on_progress:
            self.on_progress(summary.source_frames)
        self._check_complete(stream, container)

    def _time_of(
        self, frame: av.VideoFrame, time_base: Fraction, last: Fraction | None, rate: Fraction | None
    ) -> Fraction:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is not None:
            return ts * time_base
        if rate:  # a raw stream without timestamps: assume the declared constant rate
            return Fraction(0) if last is None else last + 1 / Fraction(rate)
        raise MediaError(
            "The video has neither timestamps nor a frame rate, so its frames cannot be placed in time. "
            "Re-encode it with a constant frame rate (e.g. 30 fps)."
        )

    def _sampled(self, pick: Pick[av.VideoFrame]) -> SampledFrame:
        timestamp = round(float(pick.time), 6)
        self.summary.timestamps.append(timestamp)
        return SampledFrame(pick.index, pick.source_index, timestamp, pick.item)

    def _check_running_limits(self, elapsed: Fraction, frame: av.VideoFrame) -> None:
        limits = self.limits
        if limits.max_seconds is not None and elapsed > limits.max_seconds:
            raise MediaError(
                f"The video runs past the {limits.max_seconds:g} s limit (its header said it was shorter). "
                "Cut it into shorter clips."
            )
        problem = frame_size_problem(frame.width, frame.height, limits)
        if problem:
            raise MediaError(problem)

    def _check_complete(
        self, stream: av.video.stream.VideoStream, container: av.container.InputContainer
    ) -> None:
        summary = self.summary
        if summary.dropped_frames > max(2, summary.source_frames // 10):
            raise MediaError(
                f"{summary.dropped_frames} frames of the video have timestamps that go backwards or repeat: "
                "the file is damaged or badly muxed. Re-encode it and upload it again."
            )
        decoded = summary.source_frames + summary.dropped_frames
        declared = stream.frames or 0
        if declared and decoded + max(2, declared // 50) < declared:
            raise MediaError(
                f"The video stops after {decoded} of the {declared} frames its header announces "
                f"({summary.duration:.1f} s): the file is truncated, probably by an interrupted upload or copy. "
                "Upload the complete file."
            )
        if summary.source_frames < self.limits.min_frames:
            raise MediaError(
                f"Only {summary.source_frames} frame(s) of the video could be decoded; at least "
                f"{self.limits.min_frames} are needed to annotate a video."
            )


def check_first_frame(source: Source, *, limits: MediaLimits | None = None) -> None:
    """Decode up to the first frame, with the same checks as a full pass; MediaError if it fails.

    Cheap (one group of pictures at most): lets an upload be refused at once when its data is
    missing or undecodable from the start, instead of failing later in the ingest job.
    """
    frames = iter(SampledFrames(source, fps=1.0, limits=limits, skip_unneeded=False))
    try:
        next(frames, None)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
