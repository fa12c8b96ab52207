"""Engine benchmark: our VideoSession against the reference SAM2VideoPredictor, same weights, same run.

    python -m bench.engine_bench [--frames 6] [--size 640x480] [--objects 5] [--rss-frames 300] [--markdown]

Both models are sam2.1_hiera_t at 1024 px with the same seeded random weights (made
non-degenerate: the occlusion head says "present"), on the same synthetic JPEG video. Rows:

- propagation, seconds per tracked frame, with 1 and with ``--objects`` objects (prompted on
  frame 0; the mean over frames 1..N-1), and the max |logit difference| of all their outputs;
- a click on a frame whose features are cached (a new object, one positive click), median of 3;
- the image encoder on one frame (``set_image``'s cost), median of 3, and its max |difference|;
- our resident memory (RSS) at frames 50/100/200/300 of a lazy 300-frame propagation, and the
  session's ``stored_bytes`` (memories, pointers and logits of tracked frames) under its
  ``--rss-budget-mb``. That run uses the ``micro`` model (256 px, ~32 KB per tracked frame) to fit
  in minutes; the memory bound it checks (feature LRU, memory budget) does not depend on the model size.

Ratios are reference time / our time, measured alternately in one process, so that load from
other processes on the machine hits both sides alike. Times are given as wall-clock and as CPU
time of the process (``time.process_time``, all threads): on a shared machine the CPU time is
the steadier measure of the work done.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from bench.reference import install_hole_filling_stand_in, make_non_degenerate
from bench.report import Table, add_format_argument, emit
from bench.rows import ENGINE, ENGINE_RSS
from engine.checkpoint import load_state_dict_strict
from engine.config import get_config
from engine.frames import CallableFrames, JpegFolderFrames, preprocess_frame
from engine.modeling.sam2 import SAM2Model, build_sam2
from engine.video_session import VideoSession


def build_models() -> tuple[Any, SAM2Model]:
    """The reference predictor and our model on the same weights (float32, CPU, eval)."""
    from sam2.build_sam import build_sam2_video_predictor

    install_hole_filling_stand_in()  # both sides fill small holes, as the official setup does
    torch.manual_seed(0)
    ref = build_sam2_video_predictor("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None, device="cpu")
    make_non_degenerate(ref)
    ours = build_sam2(get_config("sam2.1_hiera_t"), init_weights=False)
    load_state_dict_strict(ours, ref.state_dict(), source="reference")
    return ref.eval(), ours.eval()


def write_video(folder: Path, num_frames: int, width: int, height: int) -> list[tuple[int, int]]:
    """Synthetic JPEGs with five moving discs; returns a point inside each disc on frame 0."""
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    centres = [(int(width * (0.15 + 0.17 * k)), int(height * (0.3 + 0.1 * (k % 3)))) for k in range(5)]
    radius = min(width, height) // 12
    for i in range(num_frames):
        img = rng.integers(0, 60, (height, width, 3)).astype(np.uint8)
        for k, (cx, cy) in enumerate(centres):
            disc = (xx - cx - 3 * i) ** 2 + (yy - cy) ** 2 < radius**2
            img[disc] = (60 + 40 * k, 200 - 30 * k, 80 + 25 * k)
        Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=95)
    return centres


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


class _Clock:
    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed: Timing = (time.perf_counter() - self.wall, time.process_time() - self.cpu)


def _timed(it: Iterator[Any]) -> Iterator[tuple[Timing, Any]]:
    while True:
        with _Clock() as clock:
            try:
                item = next(it)
            except StopIteration:
                return
        yield clock.elapsed, item


def _mean(ts: list[Timing]) -> Timing:
    return statistics.mean(t[0] for t in ts), statistics.mean(t[1] for t in ts)


def _median(ts: list[Timing]) -> Timing:
    return statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)


def bench_propagation(ref: Any, ours: SAM2Model, video: Path, points: list[tuple[int, int]],
                      bar: tqdm) -> tuple[Timing, Timing, float]:
    """Seconds per tracked frame (reference, ours) and the max |logit diff| over all outputs."""
    state = ref.init_state(video_path=str(video))
    session = VideoSession(ours, JpegFolderFrames(video))
    for obj_id, (x, y) in enumerate(points, start=1):
        ref.add_new_points_or_box(state, 0, obj_id, points=[[x, y]], labels=[1])
        session.add_points(0, obj_id, [[x, y]], [1])
    ref_times, our_times, diff = [], [], 0.0
    # Alternate frame by frame so that background load hits both sides alike.
    ref_iter = _timed(ref.propagate_in_video(state))
    our_iter = _timed(session.propagate())
    for (t_ref, (f, ids, masks)), (t_ours, (g, logits)) in zip(ref_iter, our_iter, strict=True):
        assert f == g
        if f > 0:  # frame 0 is the prompted frame: nothing is tracked there
            ref_times.append(t_ref)
            our_times.append(t_ours)
        for i, obj_id in enumerate(ids):
            ref_logits = masks[i, 0].numpy()
            assert 0 < (ref_logits > 0).mean() < 1, "degenerate reference output"
            diff = max(diff, float(np.abs(logits[obj_id] - ref_logits).max()))
        bar.update(1)
    return _mean(ref_times), _mean(our_times), diff


def bench_click(ref: Any, ours: SAM2Model, video: Path, points: list[tuple[int, int]]) -> tuple[Timing, Timing, float]:
    """A first click on frame 0 (features cached), median of 3 new objects: ms (reference, ours), diff."""
    state = ref.init_state(video_path=str(video))  # caches frame 0's features
    session = VideoSession(ours, JpegFolderFrames(video))
    session.add_points(0, 100, [list(points[0])], [1])  # caches frame 0's features
    ref_t, our_t, diff = [], [], 0.0
    for k, (x, y) in enumerate(points[:3], start=1):
        with _Clock() as clock:
            _, ids, masks = ref.add_new_points_or_box(state, 0, k, points=[[x, y]], labels=[1])
        ref_t.append(clock.elapsed)
        with _Clock() as clock:
            out = session.add_points(0, k, [[x, y]], [1])
        our_t.append(clock.elapsed)
        diff = max(diff, float(np.abs(out[k] - masks[ids.index(k), 0].numpy()).max()))
    return _median(ref_t), _median(our_t), diff


def bench_encoder(ref: Any, ours: SAM2Model, video: Path) -> tuple[Timing, Timing, float]:
    image = preprocess_frame(JpegFolderFrames(video)[0], 1024)[None]
    ref_t, our_t = [], []
    with torch.inference_mode():
        for _ in range(3):
            with _Clock() as clock:
                a = ref.forward_image(image)
            ref_t.append(clock.elapsed)
            with _Clock() as clock:
                b = ours.forward_image(image)
            our_t.append(clock.elapsed)
    diff = max(float((x - y).abs().max()) for x, y in zip(a["backbone_fpn"], b["backbone_fpn"], strict=True))
    return _median(ref_t), _median(our_t), diff


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_rss(num_frames: int, checkpoints: tuple[int, ...], bar: tqdm,
              budget_mb: float | None) -> dict[int, tuple[float, float]]:
    """(RSS, stored) MB at given frames of a lazy propagation over synthetic 640x480 frames (micro model).

    One thread: the micro model's ops are tiny, and thread hand-offs would dominate its time.
    """
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_sam2(get_config("micro")).eval()
    make_non_degenerate(model)

    def frame(i: int) -> np.ndarray:  # decoded on demand, never all in memory
        img = np.full((480, 640, 3), 40, np.uint8)
        img[200:280, 100 + i % 400:180 + i % 400] = (200, 80, 60)
        return img

    session = VideoSession(model, CallableFrames(frame, num_frames), memory_budget_mb=budget_mb)
    session.add_points(0, 1, [[140, 240]], [1])
    rss: dict[int, tuple[float, float]] = {}
    for f, _ in session.propagate():
        if f + 1 in checkpoints:  # after 50, 100, ... frames
            rss[f + 1] = (_rss_mb(), session.stored_bytes / 2**20)
        bar.update(1)
    return rss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=6, help="frames of the propagation runs")
    parser.add_argument("--size", default="640x480", help="video WIDTHxHEIGHT")
    parser.add_argument("--objects", type=int, default=5, help="objects in the multi-object run (<= 5)")
    parser.add_argument("--rss-frames", type=int, default=300, help="frames of the memory run (0: skip)")
    parser.add_argument("--rss-only", action="store_true", help="only the memory run (no reference needed)")
    parser.add_argument("--rss-budget-mb", type=float, default=1024.0,
                        help="the memory run's session memory budget (MB; the default session budget)")
    add_format_argument(parser)
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    width, height = (int(v) for v in args.size.lower().split("x"))
    warnings.filterwarnings("ignore")  # the reference warns that its CUDA hole filling is missing
    torch.set_grad_enabled(False)
    checkpoints = tuple(f for f in (50, 100, 150, 200, 250, 300) if f <= args.rss_frames)
    total = args.rss_frames + (0 if args.rss_only else 2 * args.frames + 2)
    rows: list[tuple[str, ...]] = []

    def row(name: str, ref_t: Timing, our_t: Timing, unit: str, diff: float, fmt: Callable[[float], str]) -> None:
        rows.append((name, f"{fmt(ref_t[0])} / {fmt(ref_t[1])} {unit}", f"{fmt(our_t[0])} / {fmt(our_t[1])} {unit}",
                     f"{ref_t[0] / our_t[0]:.2f}x", f"{ref_t[1] / our_t[1]:.2f}x", f"{diff:.1e}"))

    with tempfile.TemporaryDirectory() as tmp, tqdm(total=total, desc="engine bench", unit="step") as bar:
        if not args.rss_only:
            video = Path(tmp)
            points = write_video(video, args.frames, width, height)
            ref, ours = build_models()
            t_ref, t_ours, d = bench_encoder(ref, ours, video)
            row(ENGINE[0], t_ref, t_ours, "s", d, lambda v: f"{v:.2f}")
            bar.update(1)
            t_ref, t_ours, d = bench_click(ref, ours, video, points)
            row(ENGINE[1], t_ref, t_ours, "ms", d, lambda v: f"{1000 * v:.0f}")
            bar.update(1)
            for n in (1, args.objects):
                t_ref, t_ours, d = bench_propagation(ref, ours, video, points[:n], bar)
                row(ENGINE[2 if n == 1 else 3].replace("<n>", str(n)), t_ref, t_ours, "s/frame", d,
                    lambda v: f"{v:.2f}")
            del ref, ours
        rss = bench_rss(args.rss_frames, checkpoints, bar, args.rss_budget_mb) if args.rss_frames else {}

    tables, titles = [], []
    if rows:
        header = ["measure", "reference (wall / cpu)", "ours (wall / cpu)", "ratio wall", "ratio cpu", "max |diff|"]
        tables.append(Table(header, [list(r) for r in rows], left=3))
        titles.append(f"sam2.1_hiera_t, 1024 px model input, {width}x{height} video, {args.frames} frames, "
                      f"{threads} threads, float32 CPU")
    if rss:
        memory = Table(["our RSS, lazy propagation", "RSS MB", "stored MB"])
        for f, (v, stored) in rss.items():
            memory.add(ENGINE_RSS[0].replace("<n>", str(f)), f"{v:.0f}", f"{stored:.1f}")
        tables.append(memory)
        titles.append(f"our RSS during a lazy {args.rss_frames}-frame propagation (micro model, 256 px input, "
                      f"640x480 frames, 1 thread, memory budget {args.rss_budget_mb:g} MB)")
    emit("bench.engine_bench", markdown=args.markdown, title="; then ".join(titles) + ":", tables=tables)


if __name__ == "__main__":
    main()
