"""The simulated annotator's click policy and time model: pure NumPy, no Django, no HTTP.

Click policy (SAM 2 paper, §6.1 and App. E; the SAM paper's interactive protocol):

- The first click on a frame whose mask is still empty goes to the **centre of the ground-truth
  mask**: the peak of its Euclidean distance transform (the pixel farthest from the background;
  the image border counts as background, so a mask touching the border is not clicked on it).
- Every later click goes to the **centre of the largest error region** of the current mask: the
  largest 4-connected region of false negatives (missed object: a positive click) or of false
  positives (spill: a negative click), clicked at its own distance-transform peak.
- A frame is done when its IoU with the ground truth reaches ``target_iou``, when nothing is
  wrong, or after ``max_clicks`` clicks.

Ties are broken deterministically: the larger region wins, then false negatives, then the
deeper centre; among equal distance peaks, the first pixel in raster order.

Brush and eraser (phases 1 and 2; the paper's "pixel-precise manual editing tools"): after the
clicks, each stroke fixes the largest 4-connected error region of the mask (paints a missed region,
erases a spill) until the IoU reaches the brush target or after ``max_strokes`` strokes.

Time model (paper, App. E): 1 s to locate an object on a frame, 1.5 s per click, 30 s to examine
300 frames; a brush or eraser stroke is charged like a click (the paper gives no figure for it, so
this is the cheapest reading: it makes phase 1 no slower than a click-only annotator would be per
edit). :class:`SimClock` keeps the simulated time; an interaction is stamped with the clock
when the annotator *begins* the step it ends (the locate before a frame's first click belongs to
that click), and the submit with the clock at the end. The platform's duration of a task (first
interaction to submit, by client timestamps) is then exactly the time model's total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

LOCATE_S = 1.0  # locating an object on a frame
CLICK_S = 1.5  # one click
EXAMINE_S_PER_FRAME = 30.0 / 300.0  # watching the masklet play: 30 s per 300 frames

STROKE_S = CLICK_S  # one brush or eraser stroke (see the module docstring)

DEFAULT_TARGET_IOU = 0.9
DEFAULT_MAX_CLICKS = 8
DEFAULT_BRUSH_IOU = 0.95
DEFAULT_MAX_STROKES = 6


# ---- Distance transform and connected regions -------------------------------------------------


def _column_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) float: distance along each column to the nearest background pixel,
    the rows above and below the image counting as background. Two linear scans."""
    h, w = mask.shape
    up = np.empty((h, w), dtype=np.float64)
    previous = np.zeros(w)
    for y in range(h):  # distance to the nearest background at or above
        previous = np.where(mask[y], previous + 1.0, 0.0)
        up[y] = previous
    down = np.empty((h, w), dtype=np.float64)
    previous = np.zeros(w)
    for y in range(h - 1, -1, -1):
        previous = np.where(mask[y], previous + 1.0, 0.0)
        down[y] = previous
    return np.minimum(up, down)


def distance_transform(mask: np.ndarray, *, chunk_rows: int = 64) -> np.ndarray:
    """Exact Euclidean distance of every pixel to the nearest background pixel (0 on background).

    Pixels outside the image count as background (as if the mask were padded by one pixel of
    background): ``d(p) = min over background q of |p - q|``. Separable: the distance along each
    column, then, per row, ``d²(x, y) = min_x' (x - x')² + g(x', y)²`` (the lower envelope of
    parabolas), evaluated exactly by a min over x' in chunks of rows.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"distance_transform needs an (H, W) mask, got shape {mask.shape}")
    h, w = mask.shape
    out = np.zeros((h, w), dtype=np.float64)
    if not mask.any():
        return out
    g2 = _column_distance(mask) ** 2  # (H, W)
    xs = np.arange(w, dtype=np.float64)
    dx2 = (xs[:, None] - xs[None, :]) ** 2  # (W x, W x')
    # Outside the image to the left and right: background at x = -1 and x = w.
    border = np.minimum(xs + 1.0, w - xs) ** 2  # (W,)
    for start in range(0, h, chunk_rows):
        rows = g2[start:start + chunk_rows]  # (R, W x')
        best = (rows[:, None, :] + dx2[None, :, :]).min(axis=2)  # (R, W x)
        out[start:start + chunk_rows] = np.sqrt(np.minimum(best, border[None, :]))
    out[~mask] = 0.0
    return out


def mask_centre(mask: np.ndarray) -> tuple[int, int] | None:
    """The (x, y) pixel of ``mask`` farthest from its background (first in raster order among
    equals); None for an empty mask."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # The distance transform of the mask's bounding box is the image's: just outside the box lies
    # either background or the outside of the image, both background at the same distance.
    crop = mask[y0:y1, x0:x1]
    dist = distance_transform(crop)
    index = int(np.argmax(dist))
    y, x = divmod(index, crop.shape[1])
    return int(x + x0), int(y + y0)


def connected_regions(mask: np.ndarray) -> np.ndarray:
    """4-connected regions of ``mask``: (H, W) int64 labels, -1 on background, each region labelled
    by the flat index of its first pixel (raster order). Min-label propagation with pointer jumping."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    big = h * w
    labels = np.where(mask, np.arange(big).reshape(h, w), big)
    while True:
        shifted = labels.copy()
        np.minimum(shifted[1:], labels[:-1], out=shifted[1:])
        np.minimum(shifted[:-1], labels[1:], out=shifted[:-1])
        np.minimum(shifted[:, 1:], labels[:, :-1], out=shifted[:, 1:])
        np.minimum(shifted[:, :-1], labels[:, 1:], out=shifted[:, :-1])
        shifted = np.where(mask, shifted, big)
        # Pointer jumping: a label is a pixel of the same region; take that pixel's label.
        flat = np.append(shifted.ravel(), big)
        for _ in range(4):
            flat[:-1] = np.where(mask.ravel(), flat[flat[:-1]], big)
        shifted = flat[:-1].reshape(h, w)
        if np.array_equal(shifted, labels):
            break
        labels = shifted
    return np.where(mask, labels, -1)


def largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected region of ``mask`` (the first in raster order among equals)."""
    labels = connected_regions(mask)
    if not (labels >= 0).any():
        return np.zeros_like(mask, dtype=bool)
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    # np.unique sorts labels, i.e. regions by their first pixel: argmax keeps the first among equals.
    return labels == values[int(np.argmax(counts))]


def iou(gt: np.ndarray, pred: np.ndarray) -> float:
    """IoU of two (H, W) bool masks; both empty -> 1.0."""
    union = int(np.logical_or(gt, pred).sum())
    return 1.0 if union == 0 else int(np.logical_and(gt, pred).sum()) / union


# ---- Clicks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """One click: pixel (x, y) and its label, 1 positive (add) or 0 negative (remove)."""

    x: int
    y: int
    label: int

    @property
    def positive(self) -> bool:
        return self.label == 1


def first_click(gt: np.ndarray) -> Click | None:
    """A positive click at the centre of the ground truth; None when the object is not visible."""
    centre = mask_centre(gt)
    return None if centre is None else Click(centre[0], centre[1], 1)


def corrective_click(gt: np.ndarray, pred: np.ndarray) -> Click | None:
    """A click at the centre of the largest error region; None when the mask is exact."""
    gt, pred = np.asarray(gt, dtype=bool), np.asarray(pred, dtype=bool)
    candidates = []
    for label, errors in ((1, gt & ~pred), (0, pred & ~gt)):
        if errors.any():
            region = largest_region(errors)
            x, y = mask_centre(region)  # type: ignore[misc] - a region is never empty
            depth = float(distance_transform(region)[y, x])
            candidates.append((int(region.sum()), label, depth, Click(x, y, label)))
    if not candidates:
        return None
    # Larger region first, then false negatives (label 1), then the deeper centre.
    candidates.sort(key=lambda c: (-c[0], -c[1], -c[2]))
    return candidates[0][3]


def next_click(gt: np.ndarray, pred: np.ndarray | None) -> Click | None:
    """The annotator's next click on a frame: the GT centre on an empty mask, else a correction."""
    if pred is None or not np.asarray(pred, dtype=bool).any():
        return first_click(gt) if np.asarray(gt, dtype=bool).any() else None
    return corrective_click(gt, pred)


@dataclass
class FrameResult:
    """What clicking one frame of one object gave."""

    clicks: list[Click] = field(default_factory=list)
    mask: np.ndarray | None = None
    iou: float = 0.0


def click_until_good(gt: np.ndarray, predict: Callable[[Click], np.ndarray], *, start: np.ndarray | None = None,
                     target_iou: float = DEFAULT_TARGET_IOU, max_clicks: int = DEFAULT_MAX_CLICKS,
                     on_click: Callable[[Click, int], None] | None = None) -> FrameResult:
    """Click one frame until its mask is good enough (the stop rule), with ``predict(click)``
    returning the frame's mask after that click (the model's answer).

    ``start`` is the frame's mask before clicking (None or empty: a fresh frame). ``on_click(click,
    n)`` is called before each click (n = clicks on this frame so far), e.g. to advance a clock.
    Stops when IoU >= ``target_iou``, when no error is left, or after ``max_clicks`` clicks.
    """
    gt = np.asarray(gt, dtype=bool)
    mask = None if start is None else np.asarray(start, dtype=bool)
    result = FrameResult(mask=mask, iou=iou(gt, mask if mask is not None else np.zeros_like(gt)))
    while len(result.clicks) < max_clicks and result.iou < target_iou:
        click = next_click(gt, mask)
        if click is None:
            break
        if on_click is not None:
            on_click(click, len(result.clicks))
        mask = np.asarray(predict(click), dtype=bool)
        result.clicks.append(click)
        result.mask, result.iou = mask, iou(gt, mask)
    return result


def brush_until_good(gt: np.ndarray, mask: np.ndarray | None, *, target_iou: float = DEFAULT_BRUSH_IOU,
                     max_strokes: int = DEFAULT_MAX_STROKES) -> tuple[np.ndarray, int]:
    """Touch up ``mask`` with the brush and the eraser: each stroke sets the largest 4-connected
    error region to the ground truth, until IoU >= ``target_iou``, nothing is wrong, or
    ``max_strokes`` strokes. Returns (the edited mask, the strokes made)."""
    gt = np.asarray(gt, dtype=bool)
    mask = np.zeros_like(gt) if mask is None else np.asarray(mask, dtype=bool).copy()
    strokes = 0
    while strokes < max_strokes and iou(gt, mask) < target_iou:
        errors = gt ^ mask
        if not errors.any():
            break
        region = largest_region(errors)
        mask[region] = gt[region]
        strokes += 1
    return mask, strokes


# ---- Time model ----------------------------------------------------------------------------------


def examine_seconds(frames: int) -> float:
    """Watching ``frames`` annotated frames of a masklet: 30 s per 300 frames."""
    return EXAMINE_S_PER_FRAME * frames


def frame_seconds(clicks: int) -> float:
    """Locating an object on a frame and clicking it ``clicks`` times."""
    return LOCATE_S + CLICK_S * clicks


def offline_time(video_frames: int, clicks_per_frame: list[int]) -> float:
    """Paper, App. E, offline protocol: one examination of the video per frame interacted,
    ``Σ (30·L/300 + 1 + 1.5·clicks)`` over the frames interacted."""
    return sum(examine_seconds(video_frames) + frame_seconds(c) for c in clicks_per_frame)


def online_time(video_frames: int, clicks_per_frame: list[int]) -> float:
    """Paper, App. E, online protocol: one examination, then ``Σ (1 + 1.5·clicks)``."""
    return examine_seconds(video_frames) + sum(frame_seconds(c) for c in clicks_per_frame)


@dataclass
class SimClock:
    """The simulated annotator's clock: ``start`` plus the seconds the time model has charged."""

    start: datetime
    seconds: float = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def locate(self) -> None:
        self.seconds += LOCATE_S

    def click(self) -> None:
        self.seconds += CLICK_S

    def stroke(self, strokes: int = 1) -> None:
        self.seconds += STROKE_S * strokes

    def examine(self, frames: int) -> None:
        self.seconds += examine_seconds(frames)

    def stamp_click(self, clicks_on_frame_so_far: int) -> datetime:
        """The client timestamp of a click, advancing the clock past it: the first click on a
        frame is stamped when the annotator starts locating the object there."""
        stamp = self.now()
        if clicks_on_frame_so_far == 0:
            self.locate()
        self.click()
        return stamp
