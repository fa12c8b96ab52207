"""Which source frames become annotated frames: sampling by timestamp.

The rule, for an annotation rate ``fps`` (6 in SA-V):

* target times are ``t_k = t_0 + k / fps`` for k = 0, 1, 2, ..., where ``t_0`` is the time
  (PTS x time base) of the first decoded frame, and only targets before the end of the video
  (last frame's time + its duration) count;
* each target takes the source frame whose time is **nearest** to it; on a tie, the earlier frame;
* a source frame is annotated at most once: when the source is slower than ``fps`` (or has a gap),
  consecutive targets that pick the same frame give one annotated frame, not duplicates.

"Nearest" rather than "first at or after" because containers round timestamps (a 24 fps video
in a millisecond time base puts frame 8 at 0.333 s, just *before* the target 1/3 s), and the
nearest frame is the one a viewer sees at that instant.

Consequences: a 24 fps video gives exactly every 4th frame (SA-V: 483 frames -> 121 annotated);
30 fps every 5th; 29.97 fps every 5th until the 0.1 % drift adds up; a constant-rate video of
duration D gives ceil(D x fps) annotated frames (02_cups.mp4: 300 frames at 29.97 fps = 10.01 s
-> 61). Times are exact fractions (PTS x time base), so no float error moves a frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pick(Generic[T]):
    """A source frame chosen for annotation."""

    index: int  # annotated frame index: 0, 1, 2, ...
    source_index: int  # position of the frame among the decoded source frames
    time: Fraction  # the source frame's time, seconds from the first frame
    item: T  # what the caller pushed with it (a decoded frame, or nothing)


class TimestampSampler(Generic[T]):
    """Streaming form of the rule above: push source frames in presentation order, get picks.

    A frame is only final once the next frame (or the end) is known, so the sampler holds on to
    at most one frame (the previous one).
    """

    def __init__(self, fps: float | Fraction) -> None:
        if not fps or fps <= 0:
            raise ValueError(f"annotation fps must be positive, got {fps!r}")
        self.step = Fraction(fps).limit_denominator(1_000_000) ** -1
        self._t0: Fraction | None = None
        self._k = 0  # next target
        self._prev: tuple[int, Fraction, T] | None = None  # (source index, time from t0, item)
        self._count = 0  # source frames pushed
        self._picked: int | None = None  # source index of the last pick
        self._n_picks = 0

    @property
    def picks(self) -> int:
        return self._n_picks

    def target(self, k: int) -> Fraction:
        return k * self.step

    def push(self, time: Fraction, item: T, index: int | None = None) -> list[Pick[T]]:
        """Add the next source frame (``time`` in seconds, strictly increasing).

        ``index`` is its position among the source frames, when frames were skipped before this
        one (default: how many were pushed before).
        """
        index = self._count if index is None else index
        self._count += 1
        if self._t0 is None:
            self._t0 = time
        rel = time - self._t0
        if self._prev is not None and rel <= self._prev[1]:
            raise ValueError("source frame times must increase")
        out: list[Pick[T]] = []
        # Targets up to the midpoint between the previous frame and this one take the previous
        # frame, the rest up to this frame take this one; a frame is picked once, so each run of
        # targets is one pick and a jump, not a loop over every target (a gap of hours in the
        # timestamps would otherwise mean millions of steps).
        if self._prev is not None and self.target(self._k) <= rel:
            midpoint = (self._prev[1] + rel) / 2
            if self.target(self._k) <= midpoint:
                self._pick(*self._prev, out)
                self._k = math.floor(midpoint / self.step) + 1
        if self.target(self._k) <= rel:
            self._pick(index, rel, item, out)
            self._k = math.floor(rel / self.step) + 1
        self._prev = (index, rel, item)
        return out

    def finish(self, end_time: Fraction) -> list[Pick[T]]:
        """Close the stream: ``end_time`` is when the last frame stops showing (its time + duration)."""
        out: list[Pick[T]] = []
        if self._prev is None or self._t0 is None:
            return out
        end = end_time - self._t0
        if self.target(self._k) < end:
            self._pick(*self._prev, out)
            self._k = math.ceil(end / self.step)
        self._prev = None
        return out

    def _pick(self, index: int, rel: Fraction, item: T, out: list[Pick[T]]) -> None:
        if self._picked == index:
            return
        self._picked = index
        out.append(Pick(self._n_picks, index, rel, item))
        self._n_picks += 1


def sample_timestamps(
    times: Iterable[Fraction | float], fps: float | Fraction, end_time: Fraction | float | None = None
) -> list[Pick[None]]:
    """Apply the rule to a list of source frame times (seconds, increasing).

    ``end_time`` defaults to the last time plus the last interval between frames.
    """
    sampler: TimestampSampler[None] = TimestampSampler(fps)
    picks: list[Pick[None]] = []
    ts = [Fraction(t) for t in times]
    for t in ts:
        picks += sampler.push(t, None)
    if ts:
        if end_time is None:
            end_time = ts[-1] + (ts[-1] - ts[-2] if len(ts) > 1 else sampler.step)
        picks += sampler.finish(Fraction(end_time))
    return picks


def iter_targets(fps: float | Fraction, duration: float | Fraction) -> Iterator[Fraction]:
    """Target times ``k / fps`` before ``duration`` (the count a constant-rate video gives)."""
    step = Fraction(fps).limit_denominator(1_000_000) ** -1
    k = 0
    while k * step < Fraction(duration):
        yield k * step
        k += 1
