"""Sampling by timestamp stays linear in the frames, whatever the gaps between their times."""

from __future__ import annotations

from fractions import Fraction

import pytest

from dataplatform.media.sampling import sample_timestamps


def brute_force(times: list[Fraction], fps: int, end: Fraction) -> list[int]:
    """The rule stated directly: each target k/fps before the end takes the nearest frame (the
    earlier on a tie); a frame is annotated once."""
    picks: list[int] = []
    k = 0
    while Fraction(k, fps) < end - times[0]:
        target = times[0] + Fraction(k, fps)
        best = min(range(len(times)), key=lambda i: (abs(times[i] - target), i))
        if not picks or picks[-1] != best:
            picks.append(best)
        k += 1
    return picks


@pytest.mark.timeout(60)  # stepping through every target of this gap would never end
def test_a_gap_of_years_in_the_timestamps_ends_and_follows_the_rule() -> None:
    gap = Fraction(10**7 * 86400)  # a corrupt timestamp: ~27,000 years later
    times = [Fraction(0), Fraction(1, 24), Fraction(2, 24), gap, gap + Fraction(1, 24)]
    picks = sample_timestamps(times, 6, end_time=times[-1] + Fraction(1, 24))
    # Targets up to the gap's midpoint take frame 2, the rest frame 3 (which sits on a target);
    # frame 4 is 1/24 s later and the next target is past the end.
    assert [p.source_index for p in picks] == [0, 2, 3]


def test_jumps_agree_with_the_rule_on_irregular_times() -> None:
    times = [Fraction(t, 1000) for t in (0, 40, 41, 400, 401, 733, 734, 2000, 2100, 5000)]
    end = Fraction(5040, 1000)
    assert [p.source_index for p in sample_timestamps(times, 6, end_time=end)] == brute_force(times, 6, end)
