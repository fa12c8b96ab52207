"""The SAM 2 paper's evaluation protocols on masklets, run through ``VideoSession`` and scored with J&F.

- Semi-supervised VOS (paper §6.1, App. E): each object is prompted on the first frame where it
  appears, with 1, 3 or 5 clicks, its box, or its GT mask; the video is propagated once; J&F as
  the SA-V evaluator computes it (first and last frames skipped).
- Interactive, offline: several passes over the video; each pass puts 3 clicks on every object's
  worst frame (lowest IoU) and propagates the whole video again.
- Interactive, online: one pass; at the first frame (in time order) whose IoU falls under 0.75,
  3 clicks, then tracking goes on from there.

Simulated clicks: the first at the centre of the GT mask (the peak of its distance transform), each
next one at the centre of the largest error region of the current prediction: the distance-transform
peaks of the false negatives and of the false positives are compared, and the click goes to the
deeper one (positive on a false negative, negative on a false positive), as the SAM / RITM click
simulators do. With an empty prediction this is the centre of the GT mask, so one rule serves both.

Annotation time (App. E): 1 s to locate an object, 1.5 s per click, 30 s to examine 300 frames;
offline every pass examines the whole video again, online the video is examined once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.evaluation.jf import Scores, aggregate, evaluate_video, frame_iou
from engine.frames import FrameSource
from engine.modeling.sam2 import SAM2Model
from engine.video_session import VideoSession

__all__ = [
    "CLICKS_PER_INTERACTION",
    "PROMPTS",
    "Click",
    "InteractiveResult",
    "annotation_time",
    "distance_transform",
    "evaluate_interactive",
    "evaluate_semi_supervised",
    "first_click",
    "interactive_offline",
    "interactive_online",
    "mask_box",
    "next_click",
    "segment_semi_supervised",
]

PROMPTS = ("1-click", "3-click", "5-click", "box", "mask")
CLICKS_PER_INTERACTION = 3
ONLINE_IOU_THRESHOLD = 0.75
SECONDS_TO_LOCATE, SECONDS_PER_CLICK, SECONDS_PER_300_FRAMES = 1.0, 1.5, 30.0
_CHUNK = 1 << 22  # elements of the (rows, W, W) block of the exact distance transform


# -- clicks -----------------------------------------------------------------------------------------


def distance_transform(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from each pixel of an (H, W) bool mask to the nearest pixel outside it.

    Pixels beyond the image border count as outside (a mask touching the border is thin there);
    pixels outside the mask are 0. Separable: vertical distances by two sweeps, then, per row, the
    lower envelope min over x' of (x - x')^2 + g(x')^2, computed by blocks. Only the mask's bounding
    box (plus a 1-pixel margin) is computed: nothing outside it can be nearer.
    """
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros(mask.shape, dtype=np.float64)
    if not mask.any():
        return out
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    m = np.pad(mask[y0:y1, x0:x1], 1)  # (h, w) with a background margin
    h, w = m.shape
    inf = float(h + w)
    g = np.where(m, inf, 0.0)
    for y in range(1, h):  # distance to the nearest background pixel above ...
        g[y] = np.where(m[y], np.minimum(g[y], g[y - 1] + 1), 0.0)
    for y in range(h - 2, -1, -1):  # ... or below
        g[y] = np.minimum(g[y], g[y + 1] + 1)
    g2 = g * g
    dx2 = (np.arange(w)[:, None] - np.arange(w)[None, :]).astype(np.float64) ** 2  # (x, x')
    d2 = np.empty_like(g2)
    step = max(1, _CHUNK // (w * w))
    for r in range(0, h, step):
        d2[r:r + step] = (g2[r:r + step, None, :] + dx2[None]).min(axis=2)
    out[y0:y1, x0:x1] = np.sqrt(d2)[1:-1, 1:-1]
    return out


@dataclass(frozen=True)
class Click:
    x: int  # pixel column
    y: int  # pixel row
    positive: bool

    @property
    def label(self) -> int:
        return 1 if self.positive else 0


def _peak(dt: np.ndarray) -> tuple[int, int, float]:
    """(x, y, depth) of the distance-transform peak; among equal peaks (a ridge), the one nearest their
    mean, so a rectangle is clicked in its middle (ties then go to the first in raster order)."""
    top = float(dt.max())
    ys, xs = np.nonzero(dt == top)
    i = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    return int(xs[i]), int(ys[i]), top


def first_click(gt: np.ndarray) -> Click | None:
    """A positive click at the centre of the GT mask (its distance-transform peak); None if empty."""
    x, y, d = _peak(distance_transform(gt))
    return Click(x, y, True) if d > 0 else None


def next_click(gt: np.ndarray, pred: np.ndarray) -> Click | None:
    """A click at the centre of the largest error region of ``pred``; None if it equals ``gt``."""
    gt, pred = np.asarray(gt, dtype=bool), np.asarray(pred, dtype=bool)
    xn, yn, dn = _peak(distance_transform(gt & ~pred))
    xp, yp, dp = _peak(distance_transform(pred & ~gt))
    if dn == 0 and dp == 0:
        return None
    return Click(xn, yn, True) if dn >= dp else Click(xp, yp, False)


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """The box (x0, y0, x1, y1) around a mask's pixels, pixel edges included; None if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)


def _add_clicks(session: VideoSession, frame_idx: int, obj_id: int, gt: np.ndarray, pred: np.ndarray,
                n: int) -> tuple[np.ndarray, int]:
    """Up to n clicks, one at a time, each on the error of the mask the previous one gave."""
    clicks = 0
    for _ in range(n):
        click = next_click(gt, pred)
        if click is None:
            break
        is_new = obj_id not in session.obj_ids
        logits = session.add_points(frame_idx, obj_id, [[click.x, click.y]], [click.label],
                                    clear=is_new)
        pred = logits[obj_id] > 0
        clicks += 1
    return pred, clicks


# -- semi-supervised VOS ----------------------------------------------------------------------------


def _first_frames(gt: Mapping[int, np.ndarray]) -> dict[int, int]:
    firsts = {}
    for obj_id, masks in gt.items():
        present = np.flatnonzero(masks.reshape(masks.shape[0], -1).any(axis=1))
        if present.size:
            firsts[obj_id] = int(present[0])
    return firsts


def _prompt(session: VideoSession, frame_idx: int, obj_id: int, gt: np.ndarray, prompt: str) -> None:
    if prompt == "mask":
        session.add_mask(frame_idx, obj_id, gt)
    elif prompt == "box":
        session.add_points(frame_idx, obj_id, box=mask_box(gt))
    elif prompt.endswith("-click") and prompt in PROMPTS:
        _add_clicks(session, frame_idx, obj_id, gt, np.zeros_like(gt), int(prompt.split("-")[0]))
    else:
        raise ValueError(f"unknown prompt {prompt!r}; known: {', '.join(PROMPTS)}")


def segment_semi_supervised(model: SAM2Model, frames: FrameSource | Sequence[np.ndarray] | np.ndarray,
                            gt: Mapping[int, np.ndarray], prompt: str = "mask") -> dict[int, np.ndarray]:
    """Prompt every object on its first visible frame, propagate forward: {obj_id: (T, H, W) bool}.

    Objects first seen on the same frame share a session; a later object gets its own session, so
    no object is tracked before its prompt (its masks there are empty).
    """
    if prompt not in PROMPTS:
        raise ValueError(f"unknown prompt {prompt!r}; known: {', '.join(PROMPTS)}")
    frames = list(frames) if isinstance(frames, np.ndarray) else frames
    pred = {obj_id: np.zeros(np.shape(m), dtype=bool) for obj_id, m in gt.items()}
    by_frame: dict[int, list[int]] = {}
    for obj_id, t0 in _first_frames(gt).items():
        by_frame.setdefault(t0, []).append(obj_id)
    for t0, objs in sorted(by_frame.items()):
        session = VideoSession(model, frames)
        for obj_id in objs:
            _prompt(session, t0, obj_id, np.asarray(gt[obj_id][t0], dtype=bool), prompt)
        for t, logits in session.propagate(start=t0):
            for obj_id in objs:
                pred[obj_id][t] = logits[obj_id] > 0
    return pred


def evaluate_semi_supervised(model: SAM2Model,
                             videos: Sequence[tuple[FrameSource | Sequence[np.ndarray] | np.ndarray,
                                                    Mapping[int, np.ndarray]]],
                             prompt: str = "mask") -> Scores:
    """J&F (object-weighted over the videos) of the semi-supervised protocol with ``prompt``."""
    results = []
    for i, (frames, gt) in enumerate(videos):
        pred = segment_semi_supervised(model, frames, gt, prompt)
        results.append(evaluate_video(gt, pred, name=str(i)))
    return aggregate(results)


# -- interactive ------------------------------------------------------------------------------------


def annotation_time(num_frames: int, clicks_per_interaction: Sequence[int], mode: str) -> float:
    """Seconds to annotate one object: each interaction is one frame located (1 s) and clicked (1.5 s
    per click); the video is examined (30 s per 300 frames) once online, once per interaction offline.
    """
    examine = SECONDS_PER_300_FRAMES * num_frames / 300
    per_frame = [SECONDS_TO_LOCATE + SECONDS_PER_CLICK * c for c in clicks_per_interaction]
    if mode == "offline":
        return float(sum(examine + t for t in per_frame))
    if mode == "online":
        return float(examine + sum(per_frame))
    raise ValueError(f"mode must be 'offline' or 'online', got {mode!r}")


@dataclass
class InteractiveResult:
    mode: str  # "offline" | "online"
    num_frames: int
    pred: dict[int, np.ndarray]  # final {obj_id: (T, H, W) bool}
    interactions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # obj -> [(frame, clicks)]
    jf_per_pass: list[float] = field(default_factory=list)  # offline: J&F after each pass

    @property
    def clicks(self) -> int:
        return sum(c for inter in self.interactions.values() for _, c in inter)

    @property
    def frames_interacted(self) -> int:
        return sum(len(inter) for inter in self.interactions.values())

    def time_per_object(self) -> dict[int, float]:
        return {obj: annotation_time(self.num_frames, [c for _, c in inter], self.mode)
                for obj, inter in self.interactions.items()}

    @property
    def time_s(self) -> float:
        """Total simulated annotation time of every object."""
        return float(sum(self.time_per_object().values()))


def _jf(gt: Mapping[int, np.ndarray], pred: Mapping[int, np.ndarray]) -> float:
    return aggregate([evaluate_video(gt, pred, skip_first_and_last=False)]).jf


def interactive_offline(model: SAM2Model, frames: FrameSource | Sequence[np.ndarray] | np.ndarray,
                        gt: Mapping[int, np.ndarray], num_passes: int = 3,
                        clicks_per_frame: int = CLICKS_PER_INTERACTION) -> InteractiveResult:
    """Offline interactive protocol: ``num_passes`` passes, each clicking every object's worst frame."""
    frames = list(frames) if isinstance(frames, np.ndarray) else frames
    session = VideoSession(model, frames)
    num_frames = len(frames)
    gt = {k: np.asarray(v, dtype=bool) for k, v in gt.items() if np.asarray(v).any()}
    pred = {k: np.zeros_like(v) for k, v in gt.items()}
    result = InteractiveResult("offline", num_frames, pred, {k: [] for k in gt})
    for _ in range(num_passes):
        clicked = False
        for obj_id, g in gt.items():
            ious = frame_iou(g, pred[obj_id])
            t = int(np.argmin(ious))  # ties: the earliest frame
            if ious[t] >= 1.0:
                continue  # perfect everywhere: nothing to fix
            _, n = _add_clicks(session, t, obj_id, g[t], pred[obj_id][t], clicks_per_frame)
            if n:
                result.interactions[obj_id].append((t, n))
                clicked = True
        if clicked:
            _propagate_all(session, pred)
        result.jf_per_pass.append(_jf(gt, pred))
    return result


def _propagate_all(session: VideoSession, pred: dict[int, np.ndarray]) -> None:
    """Re-track the whole video: forward from the first prompted frame, then backward from it."""
    first = min(t for p in session.prompts if hasattr(p, "frame_idx") for t in [p.frame_idx])
    for obj_id in pred:
        pred[obj_id][:] = False
    passes = [session.propagate(start=first)]
    if first > 0:
        passes.append(session.propagate(start=first, reverse=True))
    for frames in passes:
        for t, logits in frames:
            for obj_id, lg in logits.items():
                pred[obj_id][t] = lg > 0


def interactive_online(model: SAM2Model, frames: FrameSource | Sequence[np.ndarray] | np.ndarray,
                       gt: Mapping[int, np.ndarray], iou_threshold: float = ONLINE_IOU_THRESHOLD,
                       clicks_per_frame: int = CLICKS_PER_INTERACTION) -> InteractiveResult:
    """Online interactive protocol: one pass in time order; a frame under ``iou_threshold`` gets clicks."""
    frames = list(frames) if isinstance(frames, np.ndarray) else frames
    session = VideoSession(model, frames)
    num_frames = len(frames)
    gt = {k: np.asarray(v, dtype=bool) for k, v in gt.items() if np.asarray(v).any()}
    pred = {k: np.zeros_like(v) for k, v in gt.items()}
    result = InteractiveResult("online", num_frames, pred, {k: [] for k in gt})
    for t in range(num_frames):
        if session.obj_ids:
            for _, logits in session.propagate(start=t, max_frames=0):
                for obj_id, lg in logits.items():
                    pred[obj_id][t] = lg > 0
        for obj_id, g in gt.items():
            if frame_iou(g[t:t + 1], pred[obj_id][t:t + 1])[0] >= iou_threshold:
                continue
            mask, n = _add_clicks(session, t, obj_id, g[t], pred[obj_id][t], clicks_per_frame)
            if n:
                pred[obj_id][t] = mask
                result.interactions[obj_id].append((t, n))
    return result


def evaluate_interactive(model: SAM2Model,
                         videos: Sequence[tuple[FrameSource | Sequence[np.ndarray] | np.ndarray,
                                                Mapping[int, np.ndarray]]],
                         mode: str = "offline", **kwargs: int | float) -> tuple[Scores, list[InteractiveResult]]:
    """J&F over every frame (no frame skipped) after the interactive protocol, and each video's result."""
    runs = []
    for frames, gt in videos:
        if mode == "offline":
            runs.append(interactive_offline(model, frames, gt, **kwargs))  # type: ignore[arg-type]
        elif mode == "online":
            runs.append(interactive_online(model, frames, gt, **kwargs))  # type: ignore[arg-type]
        else:
            raise ValueError(f"mode must be 'offline' or 'online', got {mode!r}")
    gts = [{k: np.asarray(v, dtype=bool) for k, v in gt.items()} for _, gt in videos]
    scores = aggregate([evaluate_video(g, r.pred, skip_first_and_last=False, name=str(i))
                        for i, (g, r) in enumerate(zip(gts, runs, strict=True))])
    return scores, runs
