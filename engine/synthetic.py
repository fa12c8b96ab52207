"""Synthetic videos with exact ground truth: the demo's videos, the simulated annotators' truth,
and small training and evaluation sets that need no download.

Each video shows textured shapes (ellipses, star-shaped polygons, smooth blobs) that move, rotate,
deform and occlude each other over a textured, slowly panning background. The masks are the
*visible* part of each object (what SA-V annotates): an object behind another loses the covered
pixels, and an object that leaves the frame or is fully hidden has empty masks on those frames.
In the default ``studio`` look objects are saturated colours with a mild pattern and the background
is muted, so a small model can learn what an object is; the ``field`` look (:data:`LOOKS`) renders
the same scenes with pale, strongly patterned objects over a colourful background, a domain the
shipped model has not seen. Everything follows from the seed: same seed, same pixels.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["LOOKS", "TEST_SEED", "Look", "SyntheticVideo", "make_dataset", "make_video", "write_mp4"]

# The untouched test sets' seed (the micro model's ``--eval-split test``, the flywheel's test split):
# fixed on 2026-12-07 and never used to choose a recipe, a default or a hyperparameter; only reported.
TEST_SEED = 20_261_207

SHAPE_KINDS = ("ellipse", "polygon", "blob")
_PATTERNS = ("stripes", "checker", "rings")
_NOISE = 3  # +- uniform sensor noise on every pixel
_PAN = 16  # background margin in pixels that the slow camera pan moves within


@dataclass(frozen=True)
class Look:
    """How a family of videos looks: its objects' colours and patterns, its background's contrast.

    ``studio`` (the default: the shipped model's training data and the demo's videos) has saturated
    objects with a mild pattern over a muted background. ``field`` is another domain for the same
    shapes and motions: pale, strongly patterned objects over a colourful, high-contrast background,
    where colour alone no longer separates an object from what is around it (the flywheel's default:
    like SA-V for SAM, data the start model was not trained on).
    """

    saturation: tuple[float, float] = (0.75, 1.0)  # objects' HSV saturation range
    value: tuple[float, float] = (0.8, 1.0)  # objects' HSV value range
    pattern_amplitude: float = 0.12  # brightness modulation of an object's colour
    background_blotches: float = 28  # +- grey level of the background's smooth blotches
    background_colour: float = 8  # +- per-channel colour of those blotches
    background_grain: float = 7  # +- fine grain


LOOKS = {
    "studio": Look(),
    "field": Look(saturation=(0.2, 0.5), value=(0.5, 0.9), pattern_amplitude=0.3, background_blotches=45,
                  background_colour=35, background_grain=14),
}


@dataclass
class SyntheticVideo:
    """A video and its exact ground truth.

    ``frames`` is (T, H, W, 3) uint8 RGB; ``frames[t]`` is one frame. ``masks`` maps an object id
    (1..N; 0 is the background in indexed PNG exports) to its (T, H, W) bool visible masks.
    ``depth_order`` lists the ids front to back; ``kinds`` names each object's shape (one of
    :data:`SHAPE_KINDS`). ``amodal`` holds the full, unoccluded masks when
    asked for (``make_video(..., amodal=True)``), else None.
    """

    frames: np.ndarray
    masks: dict[int, np.ndarray]
    fps: int = 24
    seed: int = 0
    colors: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    depth_order: list[int] = field(default_factory=list)
    amodal: dict[int, np.ndarray] | None = None
    kinds: dict[int, str] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])


@dataclass
class _Object:
    """One object's shape, look and motion; its pose at frame t comes from :meth:`pose`."""

    kind: str
    radius: float  # nominal radius in pixels
    params: dict[str, np.ndarray | float]
    color: np.ndarray  # (3,) float RGB
    pattern: str
    pattern_freq: tuple[float, float]
    center0: np.ndarray  # (2,) x, y
    amp: np.ndarray  # (2,) motion amplitude in pixels
    period: np.ndarray  # (2,) motion periods in frames
    phase: np.ndarray  # (2,)
    rot0: float
    rot_speed: float  # radians per frame
    scale_amp: float  # relative deformation along the two local axes
    scale_period: float
    scale_phase: np.ndarray  # (2,)

    def pose(self, t: int) -> tuple[float, float, float, float, float]:
        """(cx, cy, rotation, sx, sy) at frame t."""
        cx, cy = self.center0 + self.amp * np.sin(2 * np.pi * t / self.period + self.phase)
        sx, sy = 1 + self.scale_amp * np.sin(2 * np.pi * t / self.scale_period + self.scale_phase)
        return float(cx), float(cy), self.rot0 + self.rot_speed * t, float(sx), float(sy)

    @property
    def bound(self) -> float:
        """A radius that contains the shape in every pose."""
        reach = {
            "ellipse": 1.0,
            "polygon": 1.0,
            "blob": 1.0 + float(np.abs(self.params.get("amps", 0)).sum()),
        }
        return self.radius * reach[self.kind] * (1 + self.scale_amp) + 1.0

    def inside(self, u: np.ndarray, v: np.ndarray, t: int) -> np.ndarray:
        """Membership of local, unrotated, unscaled coordinates (u, v) in pixels."""
        if self.kind == "ellipse":
            a, b = float(self.params["a"]), float(self.params["b"])
            return (u / a) ** 2 + (v / b) ** 2 <= 1.0
        if self.kind == "blob":
            ks, amps, phases = self.params["ks"], self.params["amps"], self.params["phases"]
            drift = np.asarray(self.params["drift"]) * t
            angle = np.arctan2(v, u)
            rho = np.hypot(u, v)
            edge = np.full(np.broadcast_shapes(u.shape, v.shape), self.radius)
            for k, a, p, d in zip(ks, amps, phases, drift, strict=True):
                edge = edge + self.radius * a * np.cos(k * angle + p + d)
            return rho <= edge
        # polygon: even-odd ray casting against a star-shaped (hence simple) polygon.
        xs, ys = self.params["xs"], self.params["ys"]
        shape = np.broadcast_shapes(u.shape, v.shape)
        uu, vv = np.broadcast_to(u, shape), np.broadcast_to(v, shape)
        inside = np.zeros(shape, dtype=bool)
        n = len(xs)
        for i in range(n):
            x1, y1, x2, y2 = xs[i], ys[i], xs[(i + 1) % n], ys[(i + 1) % n]
            if y1 == y2:
                continue
            crosses = (y1 > vv) != (y2 > vv)
            x_at = x1 + (vv - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (uu < x_at)
        return inside


def _make_object(
    rng: np.random.Generator, k: int, n: int, h: int, w: int, t_len: int, hue0: float, look: Look
) -> _Object:
    short = min(h, w)
    radius = float(rng.uniform(0.09, 0.18) * short)
    kind = SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
    params: dict[str, np.ndarray | float] = {}
    if kind == "ellipse":
        params = {"a": radius, "b": radius * float(rng.uniform(0.45, 0.9))}
    elif kind == "polygon":
        m = int(rng.integers(3, 9))
        # Evenly spaced angles, jittered so that every gap stays below pi (a gap is at most
        # (1 + 2 * jitter) steps): the polygon is star-shaped around its centre, hence simple,
        # and the centre is inside.
        step = 2 * np.pi / m
        jitter = 0.2 if m == 3 else 0.35
        angles = rng.uniform(0, 2 * np.pi) + step * (np.arange(m) + rng.uniform(-jitter, jitter, m))
        radii = radius * rng.uniform(0.55, 1.0, m)
        radii[int(np.argmax(radii))] = radius
        params = {"xs": radii * np.cos(angles), "ys": radii * np.sin(angles)}
    else:
        ks = rng.choice(np.arange(2, 6), size=3, replace=False).astype(float)
        amps = rng.uniform(0.04, 0.14, 3)
        params = {
            "ks": ks,
            "amps": amps,
            "phases": rng.uniform(0, 2 * np.pi, 3),
            "drift": rng.uniform(-0.15, 0.15, 3),
        }
    hue = (hue0 + k / max(n, 1) + rng.uniform(-0.04, 0.04)) % 1.0
    color = np.array(colorsys.hsv_to_rgb(hue, rng.uniform(*look.saturation), rng.uniform(*look.value))) * 255
    margin = 0.25
    center0 = np.array([rng.uniform(margin, 1 - margin) * w, rng.uniform(margin, 1 - margin) * h])
    amp = np.array([rng.uniform(0.05, 0.25) * w, rng.uniform(0.05, 0.25) * h])
    period = rng.uniform(0.7, 2.0, 2) * max(t_len, 8)
    return _Object(
        kind=kind,
        radius=radius,
        params=params,
        color=color,
        pattern=_PATTERNS[int(rng.integers(len(_PATTERNS)))],
        pattern_freq=(float(rng.uniform(0.25, 0.6)), float(rng.uniform(0.0, 0.3))),
        center0=center0,
        amp=amp,
        period=period,
        phase=rng.uniform(0, 2 * np.pi, 2),
        rot0=float(rng.uniform(0, 2 * np.pi)),
        rot_speed=float(rng.uniform(-0.08, 0.08)),
        scale_amp=float(rng.uniform(0.05, 0.18)),
        scale_period=float(rng.uniform(0.5, 1.5) * max(t_len, 8)),
        scale_phase=rng.uniform(0, 2 * np.pi, 2),
    )


def _send_out_of_frame(rng: np.random.Generator, obj: _Object, h: int, w: int, t_len: int) -> None:
    """Make ``obj`` swing out of the frame along one axis, fully outside at a chosen frame."""
    axis = int(rng.integers(2))
    size = (w, h)[axis]
    t_out = int(rng.integers(t_len // 4, max(3 * t_len // 4, t_len // 4 + 1)))
    # Peak of the sine at t_out, 25 % beyond the distance at which the shape is entirely outside.
    obj.center0[axis] = size / 2
    obj.amp[axis] = 1.25 * (size / 2 + obj.bound)
    obj.period[axis] = float(rng.uniform(0.8, 1.3) * max(t_len, 8))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    obj.phase[axis] = sign * np.pi / 2 - 2 * np.pi * t_out / obj.period[axis]


def _background(rng: np.random.Generator, h: int, w: int, look: Look) -> np.ndarray:
    """A texture (smooth blotches + fine grain) larger than the frame: muted in the studio look."""
    bh, bw = h + 2 * _PAN, w + 2 * _PAN
    base = rng.uniform(90, 160)
    tint = rng.uniform(-12, 12, 3)
    blotch, colour = look.background_blotches, look.background_colour
    coarse = rng.uniform(-blotch, blotch, (bh // 24 + 2, bw // 24 + 2, 1)) + rng.uniform(
        -colour, colour, (bh // 24 + 2, bw // 24 + 2, 3)
    )
    gy = np.linspace(0, coarse.shape[0] - 1.001, bh)
    gx = np.linspace(0, coarse.shape[1] - 1.001, bw)
    y0, x0 = gy.astype(int), gx.astype(int)
    fy, fx = (gy - y0)[:, None, None], (gx - x0)[None, :, None]
    smooth = (
        coarse[y0][:, x0] * (1 - fy) * (1 - fx)
        + coarse[y0 + 1][:, x0] * fy * (1 - fx)
        + coarse[y0][:, x0 + 1] * (1 - fy) * fx
        + coarse[y0 + 1][:, x0 + 1] * fy * fx
    )
    grain = rng.uniform(-look.background_grain, look.background_grain, (bh, bw, 1))
    return np.clip(base + tint + smooth + grain, 0, 255).astype(np.float32)


def _texture(obj: _Object, u: np.ndarray, v: np.ndarray, amplitude: float) -> np.ndarray:
    """(..., 3) colours of the object at local coordinates (u, v): its colour times a pattern."""
    f1, f2 = obj.pattern_freq
    if obj.pattern == "stripes":
        wave = np.sin(f1 * u + f2 * v)
    elif obj.pattern == "checker":
        wave = np.sign(np.sin(f1 * u) * np.sin(f1 * v)) * 0.8
    else:
        wave = np.sin(f1 * np.hypot(u, v))
    shade = 1.0 + amplitude * wave
    return obj.color * shade[..., None]


def make_video(
    seed: int,
    *,
    num_frames: int = 48,
    height: int = 256,
    width: int = 256,
    num_objects: int = 3,
    leaving: int | None = None,
    fps: int = 24,
    amodal: bool = False,
    look: str = "studio",
) -> SyntheticVideo:
    """Render one video.

    ``leaving`` objects swing out of the frame and back (so they have absent frames); by default
    each object does so with probability 0.3. ``amodal=True`` also keeps the unoccluded masks.
    ``look`` names a :data:`LOOKS` entry; the same seed gives the same shapes and motions in every
    look.
    """
    if num_frames < 1 or height < 8 or width < 8 or num_objects < 0:
        raise ValueError("need num_frames >= 1, height and width >= 8, num_objects >= 0")
    if leaving is not None and not 0 <= leaving <= num_objects:
        raise ValueError(f"leaving must be between 0 and num_objects ({num_objects}), got {leaving}")
    if look not in LOOKS:
        raise ValueError(f"unknown look {look!r}; choose one of {', '.join(LOOKS)}")
    style = LOOKS[look]
    rng = np.random.default_rng(seed)
    hue0 = float(rng.uniform())
    objects = [_make_object(rng, k, num_objects, height, width, num_frames, hue0, style) for k in range(num_objects)]
    leave_flags = rng.random(num_objects) < 0.3 if leaving is None else np.arange(num_objects) < leaving
    for obj, leaves in zip(objects, rng.permutation(leave_flags), strict=True):
        if leaves:
            _send_out_of_frame(rng, obj, height, width, num_frames)
    front_to_back = [int(i) for i in rng.permutation(num_objects)]
    background = _background(rng, height, width, style)
    pan_amp, pan_period, pan_phase = (
        rng.uniform(0, _PAN, 2),
        rng.uniform(1.0, 3.0, 2) * max(num_frames, 8),
        rng.uniform(0, 2 * np.pi, 2),
    )

    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    masks = {k + 1: np.zeros((num_frames, height, width), dtype=bool) for k in range(num_objects)}
    full = (
        {k + 1: np.zeros((num_frames, height, width), dtype=bool) for k in range(num_objects)}
        if amodal
        else None
    )
    for t in range(num_frames):
        ox, oy = (_PAN + pan_amp * np.sin(2 * np.pi * t / pan_period + pan_phase)).astype(int)
        canvas = background[oy : oy + height, ox : ox + width].copy()
        covered = np.zeros((height, width), dtype=bool)
        for k in front_to_back:
            obj = objects[k]
            cx, cy, rot, sx, sy = obj.pose(t)
            r = obj.bound
            x0, x1 = max(int(math.floor(cx - r)), 0), min(int(math.ceil(cx + r)) + 1, width)
            y0, y1 = max(int(math.floor(cy - r)), 0), min(int(math.ceil(cy + r)) + 1, height)
            if x0 >= x1 or y0 >= y1:
                continue  # entirely outside the frame
            dx = (np.arange(x0, x1) + 0.5 - cx)[None, :]
            dy = (np.arange(y0, y1) + 0.5 - cy)[:, None]
            cos, sin = math.cos(rot), math.sin(rot)
            u = (cos * dx + sin * dy) / sx
            v = (-sin * dx + cos * dy) / sy
            shape = obj.inside(u, v, t)
            visible = shape & ~covered[y0:y1, x0:x1]
            window = canvas[y0:y1, x0:x1]
            window[visible] = _texture(obj, u[visible], v[visible], style.pattern_amplitude)
            covered[y0:y1, x0:x1] |= shape
            masks[k + 1][t, y0:y1, x0:x1] = visible
            if full is not None:
                full[k + 1][t, y0:y1, x0:x1] = shape
        canvas += rng.integers(-_NOISE, _NOISE + 1, (height, width, 1)).astype(np.float32)
        np.clip(canvas, 0, 255, out=canvas)
        frames[t] = canvas.astype(np.uint8)

    return SyntheticVideo(
        frames=frames,
        masks=masks,
        fps=fps,
        seed=seed,
        colors={k + 1: tuple(int(c) for c in np.clip(obj.color, 0, 255)) for k, obj in enumerate(objects)},
        depth_order=[k + 1 for k in front_to_back],
        amodal=full,
        kinds={k + 1: obj.kind for k, obj in enumerate(objects)},
    )


def make_dataset(seed: int, n_videos: int, **kwargs: object) -> list[SyntheticVideo]:
    """``n_videos`` independent videos; video i's seed is derived from (seed, i), so a dataset is
    reproducible and its videos do not share motion or colours. ``kwargs`` go to :func:`make_video`."""
    seeds = np.random.SeedSequence(seed).generate_state(n_videos) if n_videos > 0 else []
    return [make_video(int(s), **kwargs) for s in seeds]  # type: ignore[arg-type]


def write_mp4(
    video: SyntheticVideo | np.ndarray, path: str | Path, fps: float | None = None, crf: int = 18
) -> Path:
    """Write an H.264 (libx264, yuv420p) MP4 with PyAV and return its path.

    ``video`` is a :class:`SyntheticVideo` (its fps is the default) or a (T, H, W, 3) uint8 array
    (24 fps by default). yuv420p halves the chroma resolution, so H and W must be even.
    """
    import av  # imported here: only the demo and ingestion tests write videos

    frames = video.frames if isinstance(video, SyntheticVideo) else video
    rate = fps if fps is not None else (video.fps if isinstance(video, SyntheticVideo) else 24)
    if (
        not isinstance(frames, np.ndarray)
        or frames.ndim != 4
        or frames.shape[-1] != 3
        or frames.dtype != np.uint8
    ):
        raise ValueError("frames must be a (T, H, W, 3) uint8 array")
    t_len, h, w, _ = frames.shape
    if t_len == 0:
        raise ValueError("cannot write a video without frames")
    if h % 2 or w % 2:
        raise ValueError(f"H.264 in yuv420p needs even dimensions, got {w}x{h}")
    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
