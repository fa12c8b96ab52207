"""Masklets of mixed quality for the verifier's measurement (``simulate_review``), made by the
engine on synthetic videos, with exact ground truth.

Per video, one engine session holds the simulated annotators' objects and the automatic
candidates. An annotator of drawn diligence clicks the object on the first frame (1 to 3 clicks,
each correcting the largest error), lets SAM 2 propagate, and fixes 0 to 2 of the worst frames with
a mask before propagating again; an automatic candidate is one grid point of the first frame,
propagated with the others. The engine's per-frame scores (predicted IoU, object score, stability)
are kept as the revision's signals, as the platform's workers record them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotation.simulation.annotator import iou, next_click
from engine import rle as rle_ops
from engine.auto_mask import stability_score

AUTO_OBJECTS = 100  # object ids of the automatic candidates in the session


@dataclass
class MadeMasklet:
    video_index: int
    kind: str  # manual | auto
    masks: dict[int, dict]  # frame -> RLE
    frame_scores: dict[int, dict]
    edited_frames: list[int]
    prompts: int
    quality: float  # mean IoU with the ground truth over the frames (both empty: 1)


def _frame_masks(session, frames: int) -> tuple[dict[int, dict[int, np.ndarray]], dict[int, dict[int, dict]]]:
    """Each object's masks and scores on every frame: {obj: {frame: mask}}, {obj: {frame: scores}}."""
    masks: dict[int, dict[int, np.ndarray]] = {}
    scores: dict[int, dict[int, dict]] = {}
    for f in range(frames):
        logits = session.logits_on(f)
        frame_scores = session.scores_on(f)
        for obj, lg in logits.items():
            masks.setdefault(obj, {})[f] = lg > 0
            entry = dict(frame_scores.get(obj, {}))
            entry["stability"] = float(stability_score(_tensor(lg)).item())
            scores.setdefault(obj, {})[f] = entry
    return masks, scores


def _tensor(logits: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(logits))[None]


def _quality(gt: np.ndarray, masks: dict[int, np.ndarray]) -> float:
    return float(np.mean([iou(gt[f], masks[f]) for f in range(gt.shape[0])]))


def _best_quality(gts: dict[int, np.ndarray], masks: dict[int, np.ndarray]) -> float:
    return max((_quality(gt, masks) for gt in gts.values()), default=0.0)


def _propagate(session, start: int = 0) -> None:
    for _ in session.propagate(start=start):
        pass
    if start > 0:
        for _ in session.propagate(start=start, reverse=True):
            pass


def make_masklets(model, clip, *, video_index: int, rng: np.random.Generator, auto_points: int = 4
                  ) -> list[MadeMasklet]:
    """The manual and automatic masklets of one synthetic video."""
    from engine.video_session import VideoSession

    frames = clip.frames.shape[0]
    gts = {obj: m for obj, m in clip.masks.items() if m.any()}
    out: list[MadeMasklet] = []
    # Annotators: clicks on the first frame where the object shows, propagation, then fixes.
    session = VideoSession(model, list(clip.frames))
    plans = {}
    for obj, gt in gts.items():
        first = int(np.flatnonzero(gt.reshape(frames, -1).any(1))[0])
        clicks = int(rng.choice([1, 1, 2, 3]))
        points, labels, pred = [], [], None
        for _ in range(clicks):
            click = next_click(gt[first], pred)
            if click is None:
                break
            points.append([click.x, click.y])
            labels.append(click.label)
            pred = session.add_points(first, obj, points=points, labels=labels)[obj] > 0
        plans[obj] = (first, len(points), int(rng.choice([0, 0, 1, 2])))
    # Automatic candidates: single points of the first frame, in the same session (objects are
    # tracked independently; the frames' features are computed once for both).
    h, w = clip.frames.shape[1:3]
    for k in range(auto_points):
        x, y = int(rng.integers(w // 8, w - w // 8)), int(rng.integers(h // 8, h - h // 8))
        session.add_points(0, AUTO_OBJECTS + k, points=[[x, y]], labels=[1])
    _propagate(session)
    masks, scores = _frame_masks(session, frames)
    edited = {obj: {plans[obj][0]} for obj in plans}
    for obj, (_first, _clicks, fixes) in plans.items():
        # The annotator paints the worst frames by hand (a mask edit: no predicted IoU there).
        for _ in range(fixes):
            worst = int(np.argmin([iou(gts[obj][f], masks[obj][f]) for f in range(frames)]))
            masks[obj][worst] = gts[obj][worst].copy()
            scores[obj][worst] = {**scores[obj][worst], "predicted_iou": None, "stability": 1.0}
            edited[obj].add(worst)
    for obj, (_first, clicks, fixes) in plans.items():
        out.append(MadeMasklet(video_index, "manual", {f: rle_ops.encode(m) for f, m in masks[obj].items()},
                               scores[obj], sorted(edited[obj]), clicks + fixes, _quality(gts[obj], masks[obj])))
    for obj in sorted(o for o in masks if o >= AUTO_OBJECTS):
        if not any(m.any() for m in masks[obj].values()):
            continue  # the generator drops empty candidates
        out.append(MadeMasklet(video_index, "auto", {f: rle_ops.encode(m) for f, m in masks[obj].items()},
                               scores[obj], [], 1, _best_quality(gts, masks[obj])))
    return out
