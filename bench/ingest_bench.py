"""Ingest speed: decode + sample at 6 fps + JPEG write, against references measured in the same run.

    python -m bench.ingest_bench [--seconds 20] [--fps 30] [--repeat 3] [--video PATH ...] [--markdown]

Makes a 1280x720 H.264 video with PyAV (x264 "veryfast", CRF 23: a few Mbit/s, like a phone
clip), then times, best of ``--repeat`` runs (the machine may be shared), the rows of
``bench.rows.INGEST``:

- ``masklet ingest``: ``dataplatform.media.extract_frames`` as the worker runs it (threaded decode,
  timestamp sampling, only kept frames converted, JPEG q90 written to a folder on 2 threads);
- ``masklet, every frame decoded``: the same without skipping the unneeded frames (plan.py);
- ``reference: ffmpeg -vf fps=6 to JPEG``: what a user would type instead,
  ``ffmpeg -i VIDEO -vf fps=6 -q:v 2 DIR/%05d.jpg`` (the system's ffmpeg, its default threading;
  ``-q:v 2`` because ffmpeg's default JPEG quality is far below q90: see the KB/frame column);
- ``reference: PyAV, threaded decoding``: what a user would write in Python: PyAV's threaded
  decoder, the same sampling rule, the kept frames converted and saved as JPEG q90 inline;
- ``reference: naive loop``: single-threaded decode, every frame converted to RGB, JPEG of the
  kept ones (same sampling rule, so it writes the same frames);
- ``reference: decode only``: PyAV's threaded decode of every frame, nothing else (the floor).

Also runs on the shared 02_cups.mp4 when it is there. "x real time" is video seconds per second
of wall time; "video s / CPU s" divides by the CPU time of all the process's threads and of its
child processes (ffmpeg) instead, which other work on a shared machine disturbs less (on N idle
cores, wall speed can reach up to N times it). Needs ``ffmpeg`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from bench.report import Table, add_format_argument, emit
from bench.rows import INGEST
from dataplatform.media import JPEG_QUALITY, TimestampSampler, extract_frames
from dataplatform.media.synth import write_video

SHARED_CUPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "02_cups.mp4"
ANNOTATION_FPS = 6.0
FFMPEG_QUALITY = "2"  # ffmpeg's -q:v (2 to 31, lower is better); its default makes small, blurry JPEGs


@dataclass
class Row:
    video: str
    method: str
    source_frames: int
    annotated: int
    seconds: float
    duration: float
    cpu_seconds: float
    jpeg_bytes: int

    def cells(self) -> list[str]:
        return [
            self.video,
            self.method,
            str(self.source_frames),
            str(self.annotated),
            f"{self.jpeg_bytes / self.annotated / 1024:.0f}" if self.annotated else "-",
            f"{self.seconds:.3f}",
            f"{self.source_frames / self.seconds:.0f}",
            f"{self.duration / self.seconds:.1f}x",
            f"{self.cpu_seconds:.3f}",
            f"{self.duration / self.cpu_seconds:.1f}x",
        ]


def masklet_ingest(path: Path, out: Path) -> int:
    def write(index: int, data: bytes) -> None:
        (out / f"{index:05d}.jpg").write_bytes(data)

    return extract_frames(path, fps=ANNOTATION_FPS, write_frame=write).frame_count


def masklet_ingest_every_frame(path: Path, out: Path) -> int:
    def write(index: int, data: bytes) -> None:
        (out / f"{index:05d}.jpg").write_bytes(data)

    return extract_frames(path, fps=ANNOTATION_FPS, write_frame=write, skip_unneeded=False).frame_count


def ffmpeg_fps(path: Path, out: Path) -> int:
    """``ffmpeg -i VIDEO -vf fps=6 -q:v 2 DIR/%05d.jpg``: the one-liner a user would run."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
                    "-vf", f"fps={ANNOTATION_FPS:g}", "-q:v", FFMPEG_QUALITY, str(out / "%05d.jpg")], check=True)
    return len(list(out.glob("*.jpg")))


def _sampled_save(stream: av.video.stream.VideoStream, frames, out: Path) -> int:
    """The sampling rule over decoded ``frames``; the kept ones converted and saved as JPEG inline."""
    sampler: TimestampSampler[av.VideoFrame] = TimestampSampler(ANNOTATION_FPS)
    kept = 0

    def save(pick) -> None:
        nonlocal kept
        image = pick.item if isinstance(pick.item, Image.Image) else pick.item.to_image()
        image.save(out / f"{pick.index:05d}.jpg", format="JPEG", quality=JPEG_QUALITY)
        kept += 1

    times = []
    for frame in frames:
        times.append(frame.pts * stream.time_base)
        for pick in sampler.push(times[-1], frame):
            save(pick)
    for pick in sampler.finish(times[-1] + (times[-1] - times[-2])):
        save(pick)
    return kept


def pyav_threaded(path: Path, out: Path) -> int:
    """PyAV's threaded decoder, every frame decoded; the kept ones converted and saved inline."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return _sampled_save(stream, container.decode(stream), out)


def naive(path: Path, out: Path) -> int:
    """One pass, one decoder thread, every frame converted to RGB, the kept ones saved as JPEG inline."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return _sampled_save(stream, (_Converted(f) for f in container.decode(stream)), out)


class _Converted:
    """A decoded frame converted to RGB at once (the naive loop's cost), with its timestamp."""

    def __init__(self, frame: av.VideoFrame) -> None:
        self.pts = frame.pts
        self.image = frame.to_image()

    def to_image(self) -> Image.Image:
        return self.image


def decode_only(path: Path, out: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return 0


def source_info(path: Path) -> tuple[int, float]:
    """(frames, seconds from the first frame to the end of the last) of ``path``'s video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        times = [frame.pts * stream.time_base for frame in container.decode(stream)]
    return len(times), float(times[-1] - times[0] + (times[-1] - times[-2]))


Method = Callable[[Path, Path], int]
METHODS: dict[str, Method] = dict(zip(INGEST, (masklet_ingest, masklet_ingest_every_frame, ffmpeg_fps,
                                                pyav_threaded, naive, decode_only), strict=True))


def _cpu() -> float:
    """CPU seconds of this process's threads and of its waited-for children (ffmpeg)."""
    children = os.times()
    return time.process_time() + children.children_user + children.children_system


def best_of(method: Method, path: Path, repeat: int) -> tuple[float, float, int, int]:
    """Best wall time, best CPU time, frames written and their bytes over ``repeat`` runs."""
    best, best_cpu, kept, size = float("inf"), float("inf"), 0, 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="masklet-bench-") as out:
            start, start_cpu = time.perf_counter(), _cpu()
            kept = method(path, Path(out))
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, _cpu() - start_cpu)
            size = sum(f.stat().st_size for f in Path(out).glob("*.jpg"))
    return best, best_cpu, kept, size


def make_video(folder: Path, seconds: float, fps: int) -> Path:
    path = folder / f"bench-1280x720-{fps}fps-{seconds:g}s.mp4"
    write_video(
        path,
        fps=Fraction(fps),
        frames=round(seconds * fps),
        width=1280,
        height=720,
        noise=6,
        options={"preset": "veryfast", "crf": "23"},
    )
    return path


HEADER = ["video", "method", "source frames", "annotated", "KB/frame", "seconds", "source fps", "x real time",
          "CPU s", "video s / CPU s"]


def comparisons(rows: list[Row], repeat: int) -> list[str]:
    """Per video, masklet ingest's wall and CPU speed against each reference that writes JPEGs."""
    notes = []
    for video in dict.fromkeys(row.video for row in rows):
        by = {r.method: r for r in rows if r.video == video}
        ours = by[INGEST[0]]
        versus = ", ".join(f"{by[m].seconds / ours.seconds:.2f}x wall / {by[m].cpu_seconds / ours.cpu_seconds:.2f}x "
                           f"CPU against {m.removeprefix('reference: ')}" for m in INGEST[2:5])
        notes.append(f"{video}: masklet ingest at {ours.duration / ours.seconds:.1f}x real time (best of {repeat}): "
                     f"{versus} (above 1: masklet is faster).")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--video", type=Path, action="append", default=[], help="Also bench this file.")
    add_format_argument(parser)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("The ffmpeg reference needs ffmpeg on the PATH (Debian: apt-get install ffmpeg).")

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="masklet-bench-video-") as folder:
        videos = [make_video(Path(folder), args.seconds, args.fps)]
        videos += [SHARED_CUPS] if SHARED_CUPS.exists() else []
        videos += args.video
        for path in videos:
            frames, duration = source_info(path)
            for label, method in METHODS.items():
                seconds, cpu, annotated, size = best_of(method, path, args.repeat)
                rows.append(Row(path.name, label, frames, annotated, seconds, duration, cpu, size))
    table = Table(HEADER, [row.cells() for row in rows], left=2)
    emit("bench.ingest_bench", markdown=args.markdown, tables=[table], notes=comparisons(rows, args.repeat),
         title=f"Ingest at {ANNOTATION_FPS:g} fps, JPEG, best of {args.repeat} runs:")


if __name__ == "__main__":
    main()
