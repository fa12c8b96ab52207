"""GPU benchmark: our VideoSession against the reference SAM 2 on the same official-format weights.

    python -m bench.gpu_bench                       # on a GPU: everything below
    python -m bench.gpu_bench --sizes tiny --objects 1 --frames 3 --long-frames 0   # a quick look

For each size (tiny, small, base_plus, large) a ``{"model": state_dict}`` file is written, as Meta
publishes them (seeded random weights, made non-degenerate: the occlusion head says "present"),
and both sides load that file: the reference with ``build_sam2_video_predictor(ckpt_path=...)``,
ours with ``engine.load_model``. On one synthetic JPEG video (moving discs, one per object,
prompted with one click each on frame 0), each row propagates 1, 3 and 10 objects and reports
frames per second (tracked frames after the prompted one, after one warm-up pass), the peak GPU
memory (``torch.cuda.max_memory_allocated``; on a CPU the process's peak RSS, which never goes
down, is shown instead) and the largest |logit difference| between the two sides (the reference fills
small holes as ours does: with its CUDA extension, or a stand-in for it where it is not built).

Precision and compilation: ``--dtype`` (bfloat16 by default on CUDA) runs both sides under CUDA
autocast, as SAM 2's demo does; ``--compile`` off / on / both: ours compiles its image encoder and
memory attention (``engine.runtime.compile_model``, what ``ENGINE_COMPILE=on`` does); the reference
is built with ``vos_optimized=True`` (its own compiled predictor). The compile rows include a
warm-up pass, so compilation time is not in the figures.

The long-video run (``--long-frames``, 2000 by default on CUDA; one object, the first size) gives
the peak GPU memory of ours with old memories offloaded to host memory (``ENGINE_OFFLOAD_FRAMES``),
ours without, and the reference with ``offload_video_to_cpu`` and ``offload_state_to_cpu``.

On a CPU the defaults are one small run (tiny, 1 object, 3 frames, float32, no compile, no long
video) so that the script is tested where no GPU is.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.reference import install_hole_filling_stand_in, make_non_degenerate
from engine.checkpoint import load_model
from engine.config import get_config
from engine.frames import JpegFolderFrames
from engine.runtime import autocast, compile_model, parse_compile, parse_dtype
from engine.video_session import VideoSession

# size -> (reference config file, our config, the official checkpoint's file name)
SIZES = {
    "tiny": ("configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_t", "sam2.1_hiera_tiny.pt"),
    "small": ("configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_s", "sam2.1_hiera_small.pt"),
    "base_plus": ("configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_b+", "sam2.1_hiera_base_plus.pt"),
    "large": ("configs/sam2.1/sam2.1_hiera_l.yaml", "sam2.1_hiera_l", "sam2.1_hiera_large.pt"),
}
MAX_OBJECTS = 10


def write_video(folder: Path, num_frames: int, width: int, height: int) -> list[tuple[int, int]]:
    """Synthetic JPEGs with MAX_OBJECTS moving discs; returns a point inside each disc on frame 0."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    radius = max(3, min(width, height) // 14)
    centres = [(int(width * (0.1 + 0.18 * (k % 5))), int(height * (0.3 + 0.4 * (k // 5)))) for k in range(MAX_OBJECTS)]
    background = rng.integers(0, 60, (height, width, 3)).astype(np.uint8)
    for i in range(num_frames):
        img = background.copy()
        for k, (cx, cy) in enumerate(centres):
            dx = int(radius * np.sin(i / 10 + k))  # stays in the frame however long the video
            disc = (xx - cx - dx) ** 2 + (yy - cy) ** 2 < radius**2
            img[disc] = (40 + 20 * k, 230 - 18 * k, 60 + 17 * k)
        Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=90)
    return [(cx + int(radius * np.sin(k)), cy) for k, (cx, cy) in enumerate(centres)]


def official_checkpoint(size: str, folder: Path) -> Path:
    """``folder``'s file of that size under Meta's name if there is one (e.g. the real download), else
    the reference's seeded random weights, non-degenerate, saved there as ``{"model": state_dict}``."""
    from sam2.build_sam import build_sam2_video_predictor

    path = folder / SIZES[size][2]
    if path.is_file():
        return path
    torch.manual_seed(0)
    ref = build_sam2_video_predictor(SIZES[size][0], ckpt_path=None, device="cpu")
    make_non_degenerate(ref)
    torch.save({"model": ref.state_dict()}, path)
    return path


@dataclass
class Run:
    fps: float
    peak_mb: float
    logits: dict[int, dict[int, np.ndarray]]  # frame -> object -> (H, W) float32


class Memory:
    """Peak GPU memory of what runs inside (CUDA), or the process's peak RSS so far (CPU)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self) -> Memory:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed_frames(frames: Iterator[tuple[int, dict[int, np.ndarray]]], device: torch.device,
                  keep: bool) -> tuple[float, int, dict[int, dict[int, np.ndarray]]]:
    """Seconds over the frames after the first (the prompted one), their count, their logits if kept."""
    logits: dict[int, dict[int, np.ndarray]] = {}
    start, count = None, 0
    for frame_idx, per_object in frames:
        if keep:
            logits[frame_idx] = per_object
        if start is None:
            _sync(device)
            start = time.perf_counter()
        else:
            count += 1
    _sync(device)
    return (time.perf_counter() - start if start is not None else 0.0), count, logits


def run_ours(model: Any, video: Path, points: list[tuple[int, int]], device: torch.device,
             dtype: torch.dtype | None, warmup: bool, offload: bool = False, keep: bool = True) -> Run:
    frames = JpegFolderFrames(video)
    precision = autocast(device, dtype)

    def propagate() -> tuple[float, int, dict[int, dict[int, np.ndarray]]]:
        session = VideoSession(model, frames, offload_to="cpu" if offload else None)
        with precision():
            for obj_id, (x, y) in enumerate(points, start=1):
                session.add_points(0, obj_id, [[x, y]], [1])

        def tracked() -> Iterator[tuple[int, dict[int, np.ndarray]]]:
            it = session.propagate(0)
            while True:
                with precision():
                    item = next(it, None)
                if item is None:
                    return
                yield item

        return _timed_frames(tracked(), device, keep)

    return measured(propagate, device, warmup)


def measured(propagate: Callable[[], tuple[float, int, dict[int, dict[int, np.ndarray]]]], device: torch.device,
             warmup: bool) -> Run:
    """One timed pass of ``propagate`` (after a warm-up pass when asked) with its peak memory."""
    if warmup:
        propagate()
    with Memory(device) as memory:
        seconds, count, logits = propagate()
    return Run(count / seconds if seconds else float("nan"), memory.peak_mb, logits)


def run_reference(predictor: Any, video: Path, points: list[tuple[int, int]], device: torch.device,
                  dtype: torch.dtype | None, warmup: bool, offload: bool = False, keep: bool = True) -> Run:
    precision = autocast(device, dtype)

    def propagate() -> tuple[float, int, dict[int, dict[int, np.ndarray]]]:
        with torch.inference_mode(), precision():
            state = predictor.init_state(video_path=str(video), offload_video_to_cpu=offload,
                                         offload_state_to_cpu=offload)
            for obj_id, (x, y) in enumerate(points, start=1):
                predictor.add_new_points_or_box(state, 0, obj_id, points=[[x, y]], labels=[1])

            def tracked() -> Iterator[tuple[int, dict[int, np.ndarray]]]:
                for frame_idx, ids, masks in predictor.propagate_in_video(state, start_frame_idx=0):
                    yield frame_idx, ({obj: masks[i, 0].float().cpu().numpy() for i, obj in enumerate(ids)}
                                      if keep else {})

            return _timed_frames(tracked(), device, keep)

    return measured(propagate, device, warmup)


def max_diff(a: Run, b: Run) -> float:
    diffs = [float(np.abs(a.logits[f][o] - b.logits[f][o]).max()) for f in a.logits for o in a.logits[f]
             if f in b.logits and o in b.logits[f]]
    return max(diffs) if diffs else float("nan")


def build_reference(size: str, checkpoint: Path, device: torch.device, compiled: bool) -> Any:
    from sam2.build_sam import build_sam2_video_predictor

    install_hole_filling_stand_in()
    return build_sam2_video_predictor(SIZES[size][0], ckpt_path=str(checkpoint), device=str(device),
                                      vos_optimized=compiled)


def build_ours(size: str, checkpoint: Path, device: torch.device, compiled: bool) -> Any:
    model = load_model(get_config(SIZES[size][1]), checkpoint=checkpoint, device=device)
    return compile_model(model, "max-autotune" if compiled else None)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--sizes", default="tiny,small,base_plus,large" if cuda else "tiny",
                        help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--objects", default="1,3,10" if cuda else "1", help=f"comma-separated counts (<= {MAX_OBJECTS})")
    parser.add_argument("--frames", type=int, default=100 if cuda else 3, help="frames of each propagation")
    parser.add_argument("--video-size", default="1280x720" if cuda else "320x240", help="WIDTHxHEIGHT")
    parser.add_argument("--dtype", default="bfloat16" if cuda else "float32", help="float32, bfloat16 or float16")
    parser.add_argument("--compile", default="both" if cuda else "off", choices=("off", "on", "both"))
    parser.add_argument("--long-frames", type=int, default=2000 if cuda else 0,
                        help="frames of the long-video memory run (0: skip)")
    parser.add_argument("--no-reference", action="store_true", help="ours only")
    parser.add_argument("--checkpoints", default="",
                        help="a folder of official files (sam2.1_hiera_tiny.pt, ...): used when there, written "
                             "there (random weights) when not; default: a temporary folder")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    dtype = parse_dtype(args.dtype)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {', '.join(SIZES)}")
    counts = [int(n) for n in args.objects.split(",")]
    if not all(1 <= n <= MAX_OBJECTS for n in counts):
        parser.error(f"--objects must be between 1 and {MAX_OBJECTS}")
    if args.frames < 2:
        parser.error("--frames must be >= 2 (the prompted frame and at least one tracked frame)")
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    if any(compiles):
        parse_compile("on")
    width, height = (int(v) for v in args.video_size.lower().split("x"))
    warnings.filterwarnings("ignore")  # the reference warns that its CUDA hole filling is missing
    torch.set_grad_enabled(False)
    memory_label = "peak GPU MB" if device.type == "cuda" else "peak RSS MB (CPU)"
    rows: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = Path(args.checkpoints) if args.checkpoints else folder
        weights.mkdir(parents=True, exist_ok=True)
        points = write_video(folder / "video", args.frames, width, height)
        for size in sizes:
            checkpoint = official_checkpoint(size, weights)
            for compiled in compiles:
                ours = build_ours(size, checkpoint, device, compiled)
                reference = None if args.no_reference else build_reference(size, checkpoint, device, compiled)
                for n in counts:
                    warmup = compiled or device.type == "cuda"
                    mine = run_ours(ours, folder / "video", points[:n], device, dtype, warmup)
                    theirs = None if reference is None else run_reference(
                        reference, folder / "video", points[:n], device, dtype, warmup)
                    row = {"size": size, "objects": n, "compile": compiled, "dtype": args.dtype,
                           "ours_fps": mine.fps, "ours_mb": mine.peak_mb,
                           "ref_fps": theirs.fps if theirs else float("nan"),
                           "ref_mb": theirs.peak_mb if theirs else float("nan"),
                           "max_diff": max_diff(mine, theirs) if theirs else float("nan")}
                    rows.append(row)
                    print(_format(row), flush=True)
                del ours, reference
        if args.long_frames:
            points = write_video(folder / "long", args.long_frames, width, height)[:1]
            size = sizes[0]
            checkpoint = weights / SIZES[size][2]
            ours = build_ours(size, checkpoint, device, False)
            for offload in (True, False):
                run = run_ours(ours, folder / "long", points, device, dtype, False, offload=offload, keep=False)
                rows.append({"size": size, "long": args.long_frames, "who": f"ours, offload {'on' if offload else 'off'}",
                             "fps": run.fps, "mb": run.peak_mb})
                print(_format(rows[-1]), flush=True)
            del ours
            if not args.no_reference:
                reference = build_reference(size, checkpoint, device, False)
                run = run_reference(reference, folder / "long", points, device, dtype, False, offload=True, keep=False)
                rows.append({"size": size, "long": args.long_frames, "who": "reference, offload video + state",
                             "fps": run.fps, "mb": run.peak_mb})
                print(_format(rows[-1]), flush=True)

    _print_table(rows, f"{device.type}, {args.dtype}, {width}x{height} video, {args.frames} frames, model input "
                       f"1024 px; memory: {memory_label}")
    return rows


def _format(row: dict[str, Any]) -> str:
    if "long" in row:
        return f"  long video {row['long']} frames, {row['size']}, {row['who']}: {row['fps']:.1f} fps, {row['mb']:.0f} MB"
    return (f"  {row['size']}, {row['objects']} object(s), compile {'on' if row['compile'] else 'off'}: "
            f"ours {row['ours_fps']:.2f} fps {row['ours_mb']:.0f} MB, reference {row['ref_fps']:.2f} fps "
            f"{row['ref_mb']:.0f} MB, max |diff| {row['max_diff']:.1e}")


def _print_table(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    header = ("size", "objects", "compile", "ours fps", "reference fps", "ours MB", "reference MB", "max |diff|")
    table = [header] + [
        (r["size"], str(r["objects"]), "on" if r["compile"] else "off", f"{r['ours_fps']:.2f}", f"{r['ref_fps']:.2f}",
         f"{r['ours_mb']:.0f}", f"{r['ref_mb']:.0f}", f"{r['max_diff']:.1e}")
        for r in rows if "long" not in r]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        if "long" in r:
            print(f"long video, {r['long']} frames, {r['size']}, 1 object, {r['who']}: {r['fps']:.1f} fps, "
                  f"{r['mb']:.0f} MB")


if __name__ == "__main__":
    main()
