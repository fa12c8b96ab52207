"""A first, decode-free pass over the packets: which frames will be kept, which need no decoding.

Decoding is the cost of ingest, and at 30 fps -> 6 fps four frames of five are decoded only to
be thrown away. A frame that no other frame refers to (an H.264 slice with ``nal_ref_idc == 0``,
typically half the B-frames) need not be decoded at all unless it is one we keep. Packets carry
their presentation timestamps, so a demux-only pass (cheap: no decoding) gives every frame's
time, hence the frames the sampling rule will pick, before anything is decoded.

The plan is only an optimisation: the decoder still samples the frames it decodes with the same
rule. Skipped frames were not the nearest to any target, so the decoded subset gives the same
picks; if a planned frame turns out to be undecodable, its nearest decoded neighbour is picked,
as without a plan.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from .errors import MediaError
from .probe import Source, open_container
from .sampling import sample_timestamps

logger = logging.getLogger("masklet.media")

_SLICE_TYPES = (1, 5)  # coded slice of a non-IDR / IDR picture


@dataclass(frozen=True)
class DecodePlan:
    keep: frozenset[int]  # PTS of the frames the rule picks
    index_of: dict[int, int]  # PTS -> position in presentation order
    disposable: frozenset[int]  # PTS of frames no other frame refers to
    end: Fraction  # when the last frame stops showing, seconds
    frames: int
    first: int  # PTS of the first frame: if the decoder's first frame differs, the plan is dropped


def make_plan(source: Source, fps: float) -> DecodePlan | None:
    """The plan for an H.264 file in an MP4/MOV/Matroska container; None where none can be made.

    None (decode everything) for other codecs, and, with a warning on the ``masklet.media`` logger
    naming the file and the reason, for an H.264 video whose plan cannot be made: a raw Annex B
    stream, packets without timestamps, repeated timestamps, a file FFmpeg cannot demux. Anything
    else is a bug and is raised.
    """
    if not isinstance(source, str) and not hasattr(source, "__fspath__"):
        return None  # a file object could not be read twice
    try:
        with open_container(source) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            ctx = stream.codec_context
            length_size = _avcc_length_size(ctx.extradata if ctx is not None else None)
            # Read while the container is open: a stream read after close reads freed memory (seen
            # under PyAV 18: a time base of None now and then, which failed an ingest).
            time_base = stream.time_base
            if ctx is None or ctx.name != "h264":
                return None  # frame skipping reads H.264 slice headers only
            if length_size is None or not time_base:
                return skipping_off(source, "a raw (Annex B) H.264 stream" if length_size is None else "no time base")
            pts: list[int] = []
            disposable: set[int] = set()
            last_duration = 0
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue  # the flush packet at the end; frames an edit list cuts
                if packet.pts is None:
                    return skipping_off(source, "an H.264 packet without a timestamp")
                pts.append(packet.pts)
                last_duration = packet.duration or last_duration
                if _h264_disposable(memoryview(packet), length_size):
                    disposable.add(packet.pts)
    except (MediaError, av.error.FFmpegError, ValueError, OSError) as exc:
        # The decoding pass opens the file again and reports what is wrong with it to the uploader.
        return skipping_off(source, f"{type(exc).__name__}: {exc}")
    pts.sort()
    if len(pts) < 2:
        return skipping_off(source, f"{len(pts)} packet(s) with a timestamp")
    if len(set(pts)) != len(pts):
        return skipping_off(source, "repeated packet timestamps")
    times = [p * time_base for p in pts]
    end = times[-1] + (last_duration * time_base if last_duration else times[-1] - times[-2])
    try:
        picks = sample_timestamps(times, fps, end)
    except ValueError as exc:
        return skipping_off(source, f"the frame times cannot be sampled ({exc})")
    keep = frozenset(pts[p.source_index] for p in picks)
    return DecodePlan(
        keep=keep,
        index_of={p: i for i, p in enumerate(pts)},
        disposable=frozenset(disposable),
        end=end,
        frames=len(pts),
        first=pts[0],
    )


def skipping_off(source: Source, why: str) -> None:
    """Say, in one line, why an H.264 video is decoded whole (ingest is slower, its frames the same)."""
    name = os.fspath(source) if isinstance(source, str | os.PathLike) else repr(source)
    logger.warning("Frame skipping off for %s: %s; every frame will be decoded.", name, why)
    return None


def _avcc_length_size(extradata: bytes | None) -> int | None:
    """NAL length field size of an avcC record (MP4/Matroska H.264), None for Annex B or unknown."""
    if not extradata or len(extradata) < 7 or extradata[0] != 1:
        return None
    return (extradata[4] & 0x03) + 1


def _h264_disposable(data: memoryview, length_size: int) -> bool:
    """True when every slice in the packet has nal_ref_idc 0 (no other picture refers to it)."""
    i, n, slices = 0, len(data), 0
    while i + length_size <= n:
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if size <= 0 or i + size > n:
            return False
        header = data[i]
        if header & 0x1F in _SLICE_TYPES:
            if header & 0x60:
                return False
            slices += 1
        i += size
    return slices > 0 and i == n
