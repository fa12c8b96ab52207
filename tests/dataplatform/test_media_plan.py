"""The decode plan (frame skipping) says when it turns itself off, and never hides a bug."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import av.error
import pytest

from dataplatform.media import SampledFrames, encode_jpeg
from dataplatform.media import plan as plan_module
from dataplatform.media.synth import write_video


class _DemuxFailsAfter:
    """A real container whose demuxing raises ``error`` after ``packets`` packets (a damaged file)."""

    def __init__(self, container: av.container.InputContainer, packets: int, error: Exception) -> None:
        self._container, self._packets, self._error = container, packets, error
        self.streams = container.streams

    def demux(self, stream: object):
        for n, packet in enumerate(self._container.demux(stream)):
            if n == self._packets:
                raise self._error
            yield packet

    def __enter__(self) -> _DemuxFailsAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()


def _fail_demux(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    opened = plan_module.open_container
    monkeypatch.setattr(plan_module, "open_container", lambda source: _DemuxFailsAfter(opened(source), 5, error))


@pytest.fixture
def bframes(tmp_path: Path) -> Path:
    path = tmp_path / "bframes.mp4"
    write_video(path, fps=30, frames=60, options={"preset": "veryfast", "bf": "3"})
    return path


def _extract(path: Path) -> tuple[object, dict[int, bytes]]:
    frames = SampledFrames(path, fps=6)
    written = {sampled.index: encode_jpeg(sampled.frame) for sampled in frames}
    return frames.summary, written


def test_a_plan_that_cannot_be_made_is_one_warning_naming_the_video(bframes: Path, monkeypatch, caplog) -> None:
    skipped_result, skipped_frames = _extract(bframes)
    assert skipped_result.skipped_frames > 0  # the plan works on this video
    _fail_demux(monkeypatch, av.error.InvalidDataError(1094995529, "Invalid data found when processing input"))
    with caplog.at_level(logging.WARNING, logger="masklet.media"):
        result, frames = _extract(bframes)
    warnings = [r for r in caplog.records if r.name == "masklet.media"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    line = warnings[0].getMessage()
    assert "\n" not in line and str(bframes) in line and "Frame skipping off" in line and "InvalidDataError" in line
    # Skipping is an optimisation: the ingest decodes every frame and keeps the same ones.
    assert result.skipped_frames == 0 and frames == skipped_frames


def test_an_unexpected_error_in_the_plan_is_raised_not_swallowed(bframes: Path, monkeypatch) -> None:
    _fail_demux(monkeypatch, RuntimeError("a bug in the plan"))
    with pytest.raises(RuntimeError, match="a bug in the plan"):
        plan_module.make_plan(str(bframes), 6)


def test_other_codecs_are_decoded_whole_without_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "clip.avi"
    write_video(path, fps=30, frames=30, codec="mpeg4")
    with caplog.at_level(logging.DEBUG, logger="masklet.media"):
        assert plan_module.make_plan(str(path), 6) is None
    assert not [r for r in caplog.records if r.name == "masklet.media"]
