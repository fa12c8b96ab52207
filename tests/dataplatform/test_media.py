"""dataplatform.media: probing, validation, sampling by timestamp, JPEG extraction.

Videos are made with PyAV (libx264) in temporary folders, plus the real H.264 files of the
shared data folder. Sampling is checked against a brute-force statement of the rule.
"""

from __future__ import annotations

import io
import math
import os
import random
import zipfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dataplatform.media import (
    MediaError,
    MediaLimits,
    SampledFrames,
    encode_jpeg,
    extract_frames,
    probe,
    sample_timestamps,
    validate,
)
from dataplatform.media.synth import frame_pattern, write_audio_only, write_video

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"


def nearest_reference(times: list[Fraction], fps: Fraction, end: Fraction) -> list[int]:
    """The sampling rule, brute force: for each target, the nearest frame (earlier on a tie), no repeats."""
    chosen: list[int] = []
    k = 0
    while k / fps < end - times[0]:
        target = times[0] + k / fps
        best = min(range(len(times)), key=lambda i: (abs(times[i] - target), i))
        if not chosen or chosen[-1] != best:
            chosen.append(best)
        k += 1
    return chosen


def run_extract(path: Path | str, fps: float = 6, limits: MediaLimits | None = None) -> tuple[object, dict]:
    written: dict[int, bytes] = {}
    result = extract_frames(path, fps=fps, limits=limits, write_frame=written.__setitem__)
    return result, written


def source_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.pts * stream.time_base for frame in container.decode(stream)]


# ---- the rule itself -----------------------------------------------------------------------------


def test_sa_v_24fps_483_frames_gives_every_4th_frame_121_in_all() -> None:
    times = [Fraction(i, 24) for i in range(483)]
    picks = sample_timestamps(times, 6)
    assert len(picks) == 121
    assert [p.source_index for p in picks] == list(range(0, 483, 4))
    assert [p.time for p in picks] == [Fraction(k, 6) for k in range(121)]


def test_millisecond_timestamps_still_give_every_4th_frame_of_24fps() -> None:
    # Matroska/WebM store milliseconds: frame 8 of 24 fps is at 0.333 s, just before 1/3 s.
    times = [Fraction(round(i * 1000 / 24), 1000) for i in range(96)]
    assert [p.source_index for p in sample_timestamps(times, 6)] == list(range(0, 96, 4))


def test_a_source_slower_than_the_annotation_rate_keeps_each_frame_once() -> None:
    times = [Fraction(i, 5) for i in range(10)]  # 5 fps, 2 s
    picks = sample_timestamps(times, 6)
    assert [p.source_index for p in picks] == list(range(10))


def test_timestamps_are_measured_from_the_first_frame() -> None:
    times = [Fraction(1, 2) + Fraction(i, 30) for i in range(30)]  # stream starts at 0.5 s
    picks = sample_timestamps(times, 6)
    assert [p.source_index for p in picks] == [0, 5, 10, 15, 20, 25]
    assert picks[1].time == Fraction(1, 6)


# ---- files at common frame rates ---------------------------------------------------------------------

RATES = [
    pytest.param(Fraction(24), 72, id="24fps"),
    pytest.param(Fraction(25), 75, id="25fps"),
    pytest.param(Fraction(30000, 1001), 90, id="29.97fps"),
    pytest.param(Fraction(30), 90, id="30fps"),
    pytest.param(Fraction(60), 150, id="60fps"),
]


@pytest.mark.parametrize(("rate", "frames"), RATES)
def test_constant_rate_files_are_sampled_by_timestamp(tmp_path: Path, rate: Fraction, frames: int) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=rate, frames=frames)
    result, written = run_extract(path)

    duration = Fraction(frames) / rate
    times = source_times(path)
    expected = nearest_reference(times, Fraction(6), times[0] + duration)
    assert result.source_frames == frames
    assert result.frame_count == len(written) == len(expected) == math.ceil(duration * 6)
    assert result.timestamps == pytest.approx([float(times[i] - times[0]) for i in expected], abs=1e-6)
    assert result.duration == pytest.approx(float(duration))
    assert (result.width, result.height) == (320, 240)


def test_every_4th_frame_of_a_24fps_file_is_the_frame_written(tmp_path: Path) -> None:
    path = tmp_path / "clip24.mp4"
    write_video(path, fps=24, frames=40, options={"crf": "12"})
    _, written = run_extract(path)
    assert sorted(written) == list(range(10))
    for index, jpeg in written.items():
        picture = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.int16)
        # The stored JPEG matches source frame 4k far better than its neighbours.
        errors = {
            s: np.abs(picture - frame_pattern(s, 320, 240)).mean()
            for s in range(max(0, 4 * index - 1), 4 * index + 2)
        }
        assert min(errors, key=errors.get) == 4 * index, errors


def test_variable_frame_rate_picks_the_nearest_frame_to_each_target(tmp_path: Path) -> None:
    rng = random.Random(7)
    times, t = [], Fraction(0)
    for _ in range(80):
        times.append(t)
        t += Fraction(rng.choice([1, 2, 3, 5, 9, 14, 40]), 90)  # 11 ms to 444 ms apart
    path = tmp_path / "vfr.mp4"
    write_video(path, times=times)
    result, written = run_extract(path)

    decoded = source_times(path)
    assert decoded == times
    end = decoded[-1] + (decoded[-1] - decoded[-2])
    expected = nearest_reference(decoded, Fraction(6), end)
    assert result.timestamps == pytest.approx([float(decoded[i]) for i in expected], abs=1e-6)
    assert len(written) == len(expected)
    # Irregular: some targets share a frame, so fewer frames than targets, and the gaps vary.
    assert len(expected) < math.ceil(end * 6)
    assert len({round(b - a, 3) for a, b in zip(result.timestamps, result.timestamps[1:], strict=False)}) > 3


@pytest.mark.parametrize("rate", [Fraction(24), Fraction(30000, 1001), Fraction(60), None], ids=str)
def test_skipping_unneeded_frames_changes_nothing_but_the_work(tmp_path: Path, rate: Fraction | None) -> None:
    path = tmp_path / "bframes.mp4"
    vfr = [Fraction(i * i % 7 + 12 * i, 300) for i in range(90)] if rate is None else None
    write_video(path, fps=rate or 30, frames=90, times=vfr, options={"preset": "veryfast", "bf": "3"})

    outputs = {}
    for skip in (True, False):
        written: dict[int, bytes] = {}
        frames = SampledFrames(path, fps=6, skip_unneeded=skip)
        for sampled in frames:
            written[sampled.index] = encode_jpeg(sampled.frame)
        outputs[skip] = (frames.summary, written, list(frames.summary.timestamps))

    fast, slow = outputs[True], outputs[False]
    assert fast[0].skipped_frames > 10 and slow[0].skipped_frames == 0  # B-frames nobody refers to
    assert fast[0].source_frames == slow[0].source_frames == 90
    assert fast[2] == slow[2] and fast[0].duration == slow[0].duration
    assert fast[1] == slow[1]  # byte-identical JPEGs


class _ClosedStreamGuard:
    """A container whose streams refuse to be read once it is closed: PyAV's streams point into the
    container's memory, so a read after ``close`` is a use-after-free (seen: a time base of None
    under PyAV 18, now and then, which failed an ingest)."""

    def __init__(self, container: av.container.InputContainer) -> None:
        self._container, self.closed = container, False
        guard = self

        class Stream:
            def __init__(self, real: object) -> None:
                self._real = real

            def __getattr__(self, name: str) -> object:
                assert not guard.closed, f"stream.{name} read after the container was closed"
                return getattr(self._real, name)

        class Streams:
            video = [Stream(s) for s in container.streams.video]

        self.streams = Streams()

    def demux(self, stream: object):
        return self._container.demux(stream._real)

    def __enter__(self) -> _ClosedStreamGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()
        self.closed = True


def test_the_decode_plan_reads_the_stream_only_while_the_file_is_open(tmp_path: Path, monkeypatch) -> None:
    from dataplatform.media import plan as plan_module

    path = tmp_path / "bframes.mp4"
    write_video(path, fps=30, frames=60, options={"preset": "veryfast", "bf": "3"})
    opened = plan_module.open_container
    monkeypatch.setattr(plan_module, "open_container", lambda source: _ClosedStreamGuard(opened(source)))
    plan = plan_module.make_plan(str(path), 6)
    assert plan is not None and plan.frames == 60 and len(plan.keep) == 12
    assert plan.end == Fraction(2)


def test_annotation_rate_is_a_parameter(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=30, frames=60)
    result, _ = run_extract(path, fps=10)
    assert result.frame_count == 20
    assert result.timestamps[:3] == pytest.approx([0.0, 0.1, 0.2])


@pytest.mark.parametrize(("suffix", "codec"), [("mkv", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4")])
def test_other_containers_and_codecs_are_ingested(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"clip.{suffix}"
    fast = {"deadline": "realtime", "cpu-used": "8"} if codec == "libvpx-vp9" else None
    write_video(path, fps=30, frames=30, codec=codec, options=fast)
    info = probe(path)
    validate(info, MediaLimits())
    result, written = run_extract(path)
    assert result.frame_count == len(written) == 6  # 1 s at 6 fps
    assert result.timestamps == pytest.approx([k / 6 for k in range(6)], abs=1e-3)


def test_file_objects_are_probed_like_paths(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=25, frames=25, audio=True)
    with path.open("rb") as handle:
        info = probe(handle)
    assert (info.codec, info.width, info.height, info.fps, info.frame_count) == ("h264", 320, 240, 25.0, 25)
    assert info.has_video and info.has_audio and info.size_bytes == path.stat().st_size


def test_jpegs_and_thumbnail_are_real_jpegs_of_the_right_size(tmp_path: Path) -> None:
    path = tmp_path / "hd.mp4"
    write_video(path, fps=30, frames=12, width=1280, height=720)
    result, written = run_extract(path)
    frame = Image.open(io.BytesIO(written[0]))
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert (frame.format, frame.size, frame.mode) == ("JPEG", (1280, 720), "RGB")
    assert (thumb.format, thumb.size) == ("JPEG", (320, 180))


@pytest.mark.parametrize(("rotation", "turns"), [(-90, -1), (90, 1), (180, 2)])
def test_frames_of_a_rotated_phone_video_are_stored_upright(tmp_path: Path, rotation: int, turns: int) -> None:
    path = tmp_path / "portrait.mp4"
    write_video(path, fps=30, frames=6, width=320, height=240, rotation=rotation, options={"crf": "12"})
    result, written = run_extract(path)
    picture = np.asarray(Image.open(io.BytesIO(written[0])).convert("RGB"), dtype=np.int16)
    expected = np.rot90(frame_pattern(0, 320, 240), turns)  # what a player shows
    upside_down = np.rot90(expected, 2)
    assert picture.shape == expected.shape
    assert np.abs(picture - expected).mean() * 3 < np.abs(picture - upside_down).mean()
    assert (result.width, result.height) == (expected.shape[1], expected.shape[0])
    height, width = expected.shape[:2]
    assert Image.open(io.BytesIO(result.thumbnail)).size == (min(320, width), min(320, width) * height // width)


def test_a_failing_writer_stops_the_extraction(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=30, frames=60)

    def write(index: int, data: bytes) -> None:
        if index == 3:
            raise OSError("storage is down")

    with pytest.raises(OSError, match="storage is down"):
        extract_frames(path, fps=6, write_frame=write)


# ---- the real videos of the shared data folder --------------------------------------------------

REAL = [
    # name, source frames, fps, width, height, annotated frames, their source indices
    # 29.97 fps: every 5th frame until the 0.1 % drift adds up, then the last frame for 10.0 s.
    pytest.param("02_cups.mp4", 300, 30000 / 1001, 1280, 720, 61, [*range(0, 300, 5), 299], id="cups-29.97"),
    pytest.param("05_default_juggle.mp4", 247, 24.0, 1280, 720, 62, list(range(0, 247, 4)), id="juggle-24"),
    pytest.param("bedroom.mp4", 200, 30.0, 960, 540, 40, list(range(0, 200, 5)), id="bedroom-30"),
]


@pytest.mark.parametrize(("name", "frames", "fps", "width", "height", "annotated", "indices"), REAL)
def test_real_videos(
    name: str, frames: int, fps: float, width: int, height: int, annotated: int, indices: list[int]
) -> None:
    path = VIDEOS / name
    if not path.exists():
        pytest.fail(f"shared test video missing: {name}")
    info = probe(path)
    validate(info, MediaLimits())
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", width, height, frames)
    assert info.fps == pytest.approx(fps)

    result, written = run_extract(path)
    # ceil(duration x 6): 02_cups is 300 / 29.97 = 10.01 s -> 61 frames, the last at 9.977 s.
    assert result.frame_count == len(written) == annotated == math.ceil(frames / fps * 6 - 1e-9)
    assert result.source_frames == frames
    assert result.timestamps == pytest.approx([i / fps for i in indices], abs=1e-6)


# ---- bad inputs: each ends in a MediaError saying what is wrong -------------------------------------

Maker = Callable[[Path], Path]


def _bytes(name: str, data: bytes) -> Maker:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path

    return make


def _image(fmt: str, name: str) -> Maker:
    def make(tmp: Path) -> Path:
        path = tmp / name
        Image.fromarray(frame_pattern(0, 64, 48)).save(path, format=fmt)
        return path

    return make


def _video(name: str = "clip.mp4", **kwargs) -> Maker:
    def make(tmp: Path) -> Path:
        path = tmp / name
        write_video(path, **{"fps": 30, "frames": 30, **kwargs})
        return path

    return make


def _truncated(*, faststart: bool, keep: float) -> Maker:
    def make(tmp: Path) -> Path:
        full = tmp / "full.mp4"
        write_video(full, fps=30, frames=60, faststart=faststart)
        data = full.read_bytes()
        path = tmp / "cut.mp4"
        path.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[: int(keep)])
        return path

    return make


def _patched(old: bytes, new: bytes) -> Maker:
    def make(tmp: Path) -> Path:
        path = _video()(tmp)
        path.write_bytes(path.read_bytes().replace(old, new))
        return path

    return make


def _corrupt(tmp: Path) -> Path:
    path = _video(frames=60)(tmp)
    data = bytearray(path.read_bytes())
    start = data.find(b"mdat") + 8
    rng = random.Random(0)
    for i in range(start, start + (len(data) - start) // 2):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return path


def _empty_video_track(tmp: Path) -> Path:
    """A Matroska file whose video track has no frames (only its audio track has samples)."""
    path = tmp / "novideo.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
            frame.sample_rate, frame.pts = 48000, i * 1024
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def _playlist(tmp: Path) -> Path:
    target = _video("segment.mp4")(tmp)
    path = tmp / "video.m3u8"
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


def _audio(codec: str, name: str) -> Maker:
    def make(tmp: Path) -> Path:
        path = tmp / name
        write_audio_only(path, codec=codec)
        return path

    return make


def _aiff(tmp: Path) -> Path:
    path = tmp / "sound.aiff"
    write_audio_only(path, codec="pcm_s16be")
    return path


def _zip(tmp: Path) -> Path:
    path = tmp / "videos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("clip.mp4", b"\x00" * 100)
    return path


def _folder(tmp: Path) -> Path:
    path = tmp / "a_folder.mp4"
    path.mkdir()
    return path


def _raw_h264(tmp: Path) -> Path:
    path = tmp / "clip.h264"
    write_video(path, fps=25, frames=50)  # no duration in the header: found out while decoding
    return path


LIMITS = MediaLimits()
BAD_INPUTS = [
    ("empty file", _bytes("empty.mp4", b""), LIMITS, "The file is empty"),
    ("missing file", lambda tmp: tmp / "nowhere.mp4", LIMITS, "No file named 'nowhere.mp4'"),
    ("a folder", _folder, LIMITS, "is a folder, not a video"),
    ("plain text", _bytes("notes.mp4", b"these are my notes\nnot a video\n" * 20), LIMITS, "a text file"),
    ("csv", _bytes("data.csv", b"frame,x,y\n1,2,3\n" * 50), LIMITS, "'frame,x,y'"),
    ("HLS playlist", _playlist, LIMITS, "a playlist (M3U/HLS)"),
    (
        "random bytes",
        _bytes("noise.mp4", random.Random(1).randbytes(20000)),
        LIMITS,
        "not a video FFmpeg can read",
    ),
    ("PNG image", _image("PNG", "frame.png"), LIMITS, "a PNG image, not a video"),
    ("JPEG image", _image("JPEG", "photo.jpg"), LIMITS, "a JPEG image, not a video"),
    ("GIF image", _image("GIF", "anim.gif"), LIMITS, "a GIF image, not a video"),
    ("BMP image", _image("BMP", "frame.bmp"), LIMITS, "a BMP image"),
    ("WebP image", _image("WEBP", "frame.webp"), LIMITS, "a WebP image"),
    (
        "HEIC image",
        _bytes("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x01" * 64),
        LIMITS,
        "HEIF/AVIF still image",
    ),
    (
        "PDF",
        _bytes("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"\x00" * 100),
        LIMITS,
        "a PDF document",
    ),
    ("ZIP archive", _zip, LIMITS, "a ZIP archive"),
    ("Windows program", _bytes("setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 200), LIMITS, "a Windows program"),
    ("audio only (AAC in M4A)", _audio("aac", "voice.m4a"), LIMITS, "only audio"),
    ("audio only (MP3)", _audio("libmp3lame", "song.mp3"), LIMITS, "only audio"),
    ("audio container outside the allow-list (AIFF)", _aiff, LIMITS, "not a video container we accept"),
    (
        "MP4 cut before its index (moov at the end)",
        _truncated(faststart=False, keep=0.5),
        LIMITS,
        "damaged, incomplete",
    ),
    (
        "MP4 with its header but half its data",
        _truncated(faststart=True, keep=0.5),
        LIMITS,
        "the file is truncated",
    ),
    (
        "MP4 with its header and no data",
        _truncated(faststart=True, keep=0.06),
        LIMITS,
        "the file is truncated",
    ),
    ("a video track with no frames", _empty_video_track, LIMITS, "No frame of this video could be decoded"),
    ("unknown video codec", _patched(b"avc1", b"zzz9"), LIMITS, "not one we can decode"),
    ("corrupt H.264 data", _corrupt, LIMITS, "The video stream is corrupt"),
    ("larger than the upload limit", _video(), MediaLimits(max_bytes=10_000), "the limit is 0.0 MB"),
    (
        "longer than the duration limit",
        _video(frames=90),
        MediaLimits(max_seconds=2),
        "long; the limit is 2.0 s",
    ),
    (
        "longer than the limit, found while decoding",
        _raw_h264,
        MediaLimits(max_seconds=1),
        "runs past the 1 s limit",
    ),
    (
        "wider than the limit",
        _video(width=640, height=240),
        MediaLimits(max_width=480, max_height=320),
        "the limit is 480x320 (or 320x480)",
    ),
    (
        "portrait taller than the limit",
        _video(width=240, height=640),
        MediaLimits(max_width=480, max_height=320),
        "240x640 pixels; the limit is 480x320",
    ),
    (
        "too many megapixels",
        _video(width=640, height=480),
        MediaLimits(max_pixels=200_000),
        "0.3 megapixels); the limit is 0.2 megapixels",
    ),
    ("smaller than the minimum size", _video(width=8, height=8), LIMITS, "must be at least 16x16"),
    ("a single frame", _video(frames=1), LIMITS, "only 1 frame(s); at least 2 are needed"),
    (
        "absurdly high frame rate",
        _video(times=[Fraction(i, 90000) for i in range(20)]),
        LIMITS,
        "frame rate is 596.2 fps",
    ),
    (
        "absurdly low frame rate",
        _video(times=[Fraction(10 * i) for i in range(4)]),
        LIMITS,
        "frame rate is 0.1332 fps",
    ),
]


def test_there_are_at_least_30_distinct_bad_inputs() -> None:
    assert len(BAD_INPUTS) >= 30
    assert len({case[0] for case in BAD_INPUTS}) == len(BAD_INPUTS)


@pytest.mark.parametrize(("maker", "limits", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_INPUTS])
def test_bad_inputs_are_refused_with_a_message(
    tmp_path: Path, maker: Maker, limits: MediaLimits, message: str
) -> None:
    path = maker(tmp_path)
    with pytest.raises(MediaError) as caught:
        validate(probe(path), limits)
        run_extract(path, limits=limits)
    assert message in caught.value.message
    assert str(tmp_path) not in caught.value.message  # no server paths in what users read


def test_zero_size_frames_are_refused() -> None:
    from dataplatform.media import VideoProbe

    broken = VideoProbe(
        container="mov,mp4,m4a,3gp,3g2,mj2",
        has_video=True,
        has_audio=False,
        codec="h264",
        width=0,
        height=0,
        fps=30.0,
        duration=1.0,
        frame_count=30,
    )
    with pytest.raises(MediaError, match="0x0 pixels, which cannot be right"):
        validate(broken, MediaLimits())


def test_missing_frame_rate_is_refused() -> None:
    from dataplatform.media import VideoProbe

    no_rate = VideoProbe(
        container="h264", has_video=True, has_audio=False, codec="h264", width=320, height=240
    )
    with pytest.raises(MediaError, match="does not say its frame rate"):
        validate(no_rate, MediaLimits())


def test_a_few_damaged_packets_are_concealed_not_fatal(tmp_path: Path) -> None:
    path = _video(frames=60, options={"keyint": "10"})(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) * 3 // 4
    data[middle : middle + 40] = bytes(40)
    path.write_bytes(bytes(data))
    result, written = run_extract(path)
    assert result.frame_count == len(written) == 12


def test_a_text_file_object_is_refused_without_ffmpeg() -> None:
    with pytest.raises(MediaError, match="a text file"):
        probe(io.BytesIO(b"hello, this is not a video\n" * 10))


def test_nothing_is_left_open(tmp_path: Path) -> None:
    path = _corrupt(tmp_path)
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    for _ in range(3):
        with pytest.raises(MediaError):
            run_extract(path)
    after = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    assert after <= before
