"""Ingest speed: decode + sample at 6 fps + JPEG write, against references measured in the same run.

    python -m bench.ingest_bench [--seconds 20] [--fps 30] [--repeat 3] [--video PATH ...]

Makes a 1280x720 H.264 video with PyAV (x264 "veryfast", CRF 23: a few Mbit/s, like a phone
clip), then times, best of ``--repeat`` runs (the machine may be shared):

- ``masklet ingest``: ``dataplatform.media.extract_frames`` as the worker runs it (threaded decode,
  timestamp sampling, only kept frames converted, JPEG q90 written to a folder on 2 threads);
- ``masklet, every frame decoded``: the same without skipping the unneeded frames (plan.py);
- ``reference: naive``: single-threaded decode, every frame converted to RGB, JPEG of the kept ones
  (same sampling rule, so both write the same frames);
- ``reference: decode only``: PyAV's threaded decode of every frame, nothing else (the floor).

Also runs on the shared 02_cups.mp4 when it is there. "x real time" is video seconds per second
of wall time; "video s / CPU s" divides by the CPU time of all the process's threads instead,
which other work on a shared machine disturbs less (on N idle cores, wall speed can reach up to
N times it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from dataplatform.media import TimestampSampler, extract_frames
from dataplatform.media.synth import write_video

SHARED_CUPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "02_cups.mp4"
ANNOTATION_FPS = 6.0


@dataclass
class Row:
    video: str
    method: str
    source_frames: int
    annotated: int
    seconds: float
    duration: float
    cpu_seconds: float

    def cells(self) -> list[str]:
        return [
            self.video,
            self.method,
            str(self.source_frames),
            str(self.annotated),
            f"{self.seconds:.3f}",
            f"{self.source_frames / self.seconds:.0f}",
            f"{self.duration / self.seconds:.1f}x",
            f"{self.cpu_seconds:.3f}",
            f"{self.duration / self.cpu_seconds:.1f}x",
        ]


def masklet_ingest(path: Path, out: Path) -> tuple[int, int, float]:
    def write(index: int, data: bytes) -> None:
        (out / f"{index:05d}.jpg").write_bytes(data)

    result = extract_frames(path, fps=ANNOTATION_FPS, write_frame=write)
    return result.source_frames, result.frame_count, result.duration


def masklet_ingest_every_frame(path: Path, out: Path) -> tuple[int, int, float]:
    def write(index: int, data: bytes) -> None:
        (out / f"{index:05d}.jpg").write_bytes(data)

    result = extract_frames(path, fps=ANNOTATION_FPS, write_frame=write, skip_unneeded=False)
    return result.source_frames, result.frame_count, result.duration


def naive(path: Path, out: Path) -> tuple[int, int, float]:
    """One pass, one decoder thread, every frame converted to RGB, the kept ones saved as JPEG inline."""
    sampler: TimestampSampler[Image.Image] = TimestampSampler(ANNOTATION_FPS)
    kept = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = []
        for frame in container.decode(stream):
            times.append(frame.pts * stream.time_base)
            for pick in sampler.push(times[-1], frame.to_image()):
                pick.item.save(out / f"{pick.index:05d}.jpg", format="JPEG", quality=90)
                kept += 1
    end = times[-1] + (times[-1] - times[-2])
    for pick in sampler.finish(end):
        pick.item.save(out / f"{pick.index:05d}.jpg", format="JPEG", quality=90)
        kept += 1
    return len(times), kept, float(end - times[0])


def decode_only(path: Path, out: Path) -> tuple[int, int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        times = [frame.pts * stream.time_base for frame in container.decode(stream)]
    return len(times), 0, float(times[-1] - times[0] + (times[-1] - times[-2]))


Method = Callable[[Path, Path], tuple[int, int, float]]


def best_of(method: Method, path: Path, repeat: int) -> tuple[float, float, tuple[int, int, float]]:
    """Best wall time and best CPU time (all threads of this process) over ``repeat`` runs."""
    best, best_cpu, result = float("inf"), float("inf"), (0, 0, 0.0)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="masklet-bench-") as out:
            start, start_cpu = time.perf_counter(), time.process_time()
            result = method(path, Path(out))
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


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


def print_table(rows: list[Row]) -> None:
    header = [
        "video",
        "method",
        "source frames",
        "annotated",
        "seconds",
        "source fps",
        "x real time",
        "CPU s",
        "video s / CPU s",
    ]
    table = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for n, line in enumerate(table):
        print(
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--video", type=Path, action="append", default=[], help="Also bench this file.")
    args = parser.parse_args()

    methods: list[tuple[str, Method]] = [
        ("masklet ingest", masklet_ingest),
        ("masklet, every frame decoded", masklet_ingest_every_frame),
        ("reference: naive", naive),
        ("reference: decode only", decode_only),
    ]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="masklet-bench-video-") as folder:
        videos = [make_video(Path(folder), args.seconds, args.fps)]
        videos += [SHARED_CUPS] if SHARED_CUPS.exists() else []
        videos += args.video
        for path in videos:
            for label, method in methods:
                seconds, cpu, (frames, annotated, duration) = best_of(method, path, args.repeat)
                rows.append(Row(path.name, label, frames, annotated, seconds, duration, cpu))
    print_table(rows)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"{os.cpu_count()} CPUs; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end."
    )
    for path in dict.fromkeys(row.video for row in rows):
        ours = next(r for r in rows if r.video == path and r.method == "masklet ingest")
        ref = next(r for r in rows if r.video == path and r.method == "reference: naive")
        print(
            f"{path}: masklet ingest is {ref.seconds / ours.seconds:.2f}x the naive reference "
            f"({ours.duration / ours.seconds:.1f}x real time, best of {args.repeat})."
        )


if __name__ == "__main__":
    main()
