"""J&F exactly as the SA-V evaluator computes it (``sav_dataset/utils/sav_benchmark.py``).

Per object, over the annotated frames of one video:

- the first and last annotated frames are skipped by default (the semi-supervised protocol: the
  first frame holds the prompt);
- the object counts from the first remaining frame where it appears in the ground truth *or* the
  prediction; every frame from there on counts, including frames where both are empty (J = F = 1);
- J is the IoU (both empty -> 1), F the boundary measure of :mod:`engine.evaluation.boundary`;
- an object is reported only if it appears in the ground truth on a remaining frame; its J and F
  are means over its frames times 100.

Across videos, J and F are means over all reported objects of all videos (object-weighted, not
video-weighted), and J&F = (J + F) / 2. An object of the ground truth that the prediction lacks is
scored against empty masks (a tracker that lost it); predicted objects absent from the ground truth
are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.evaluation.boundary import boundary_f

__all__ = ["ObjectScore", "Scores", "VideoScores", "aggregate", "evaluate_video", "frame_iou"]


@dataclass(frozen=True)
class ObjectScore:
    """One object's scores in one video, in percent, and the frames they average over."""

    video: str
    obj_id: int
    j: float
    f: float
    first_frame: int  # index into the given frames where the object starts to count
    num_frames: int

    @property
    def jf(self) -> float:
        return (self.j + self.f) / 2


@dataclass
class VideoScores:
    """The reported objects of one video, keyed by object id."""

    name: str
    objects: dict[int, ObjectScore] = field(default_factory=dict)
    j_per_frame: dict[int, np.ndarray] = field(default_factory=dict)  # over the counted frames, in [0, 1]
    f_per_frame: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def j(self) -> dict[int, float]:
        return {k: o.j for k, o in self.objects.items()}

    @property
    def f(self) -> dict[int, float]:
        return {k: o.f for k, o in self.objects.items()}


@dataclass(frozen=True)
class Scores:
    """Object-weighted J, F and J&F (percent) over a set of videos; NaN when no object is reported."""

    j: float
    f: float
    jf: float
    per_object: list[ObjectScore]

    @property
    def num_objects(self) -> int:
        return len(self.per_object)


def frame_iou(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-frame IoU of (T, H, W) bool masks; a frame where both are empty scores 1."""
    inter = np.logical_and(gt, pred).sum(axis=(1, 2))
    union = np.logical_or(gt, pred).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _as_masks(name: str, obj_id: int, masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"{name} masks of object {obj_id} must be (T, H, W), got shape {masks.shape}")
    return masks if masks.dtype == np.bool_ else masks != 0


def evaluate_video(
    gt: Mapping[int, np.ndarray],
    pred: Mapping[int, np.ndarray],
    skip_first_and_last: bool = True,
    *,
    name: str = "",
    bound_th: float = 0.008,
) -> VideoScores:
    """Score one video's predicted masklets against its ground truth.

    ``gt`` and ``pred`` map object ids to (T, H, W) masks over the *annotated* frames (in SA-V,
    every 4th frame), all of one shape.
    """
    scores = VideoScores(name=name)
    shape: tuple[int, ...] | None = None
    for obj_id, gt_masks in gt.items():
        g = _as_masks("ground-truth", obj_id, gt_masks)
        shape = shape or g.shape
        if g.shape != shape:
            raise ValueError(f"object {obj_id}: ground truth shape {g.shape} differs from {shape}")
        p = _as_masks("predicted", obj_id, pred[obj_id]) if obj_id in pred else np.zeros_like(g)
        if p.shape != g.shape:
            raise ValueError(
                f"object {obj_id}: prediction shape {p.shape} differs from ground truth {g.shape}"
            )
        offset = 0
        if skip_first_and_last:
            g, p, offset = g[1:-1], p[1:-1], 1
        gt_present = g.any(axis=(1, 2))
        if not gt_present.any():
            continue  # not in the ground truth on any evaluated frame: not reported
        first = int(np.argmax(gt_present | p.any(axis=(1, 2))))
        g, p = g[first:], p[first:]
        j = frame_iou(g, p)
        f = boundary_f(g, p, bound_th)
        scores.objects[obj_id] = ObjectScore(
            video=name,
            obj_id=obj_id,
            j=float(j.mean() * 100),
            f=float(f.mean() * 100),
            first_frame=first + offset,
            num_frames=int(g.shape[0]),
        )
        scores.j_per_frame[obj_id] = j
        scores.f_per_frame[obj_id] = f
    return scores


def aggregate(videos: Iterable[VideoScores]) -> Scores:
    """Object-weighted means over every reported object of every video."""
    per_object = [o for v in videos for o in v.objects.values()]
    if not per_object:
        nan = float("nan")
        return Scores(j=nan, f=nan, jf=nan, per_object=[])
    j = float(np.mean([o.j for o in per_object]))
    f = float(np.mean([o.f for o in per_object]))
    return Scores(j=j, f=f, jf=(j + f) / 2, per_object=per_object)
