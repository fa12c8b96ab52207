"""How a simulated annotator works one object of a task in each phase: pure, against a
:class:`TaskSession` (the API in the runner, a fake in unit tests).

One object per task, as the paper's annotators worked (and as the platform's time per frame
assumes). Each click is one prompt; the server adds it to the frame's earlier clicks.

- **Phase 1** (SAM on every frame, with the brush and the eraser): every annotated frame where the
  object is visible is clicked on its own until its IoU reaches ``target_iou`` (or ``max_clicks``),
  then touched up with brush and eraser strokes until ``brush_iou`` (or ``max_strokes``), sent as
  one mask prompt: the paper's phase 1 is "SAM and pixel-precise manual editing tools". No
  propagation, no examination pass; a frame where the object is absent costs the time to look for
  it (1 s).
- **Phase 2** (SAM + SAM 2 Mask): SAM clicks on the first frame where the object is visible, then
  mask-only propagation. Then correction passes: examine the masklet (30 s per 300 frames), take
  the worst frame below ``accept_iou`` that was not corrected yet, make it a **new mask** with SAM
  clicks (from an empty mask: the first click at the GT centre) touched up with the brush as in
  phase 1, re-propagate. Where the object is
  absent but the masklet shows it, SAM clicks cannot make an empty mask: the annotator erases it
  (an empty mask prompt, the eraser), charged like one click after locating (1 s + 1.5 s).
- **Phase 3** (full SAM 2): the same passes, but a correction refines the propagated mask on that
  frame through the memory (the first click goes to the largest error region of that mask; where
  the object is absent, that is a negative click).

The correction passes follow the paper's *offline* protocol (App. E): each pass examines the whole
masklet and corrects its worst frame, then re-segments (propagates); we click that frame until it
is good (``target_iou``) instead of exactly 3 clicks, as a data-engine annotator would. They stop
when every frame reaches ``accept_iou`` (the paper's 0.75, its online protocol's and alignment
threshold), when every failing frame was already corrected, or after ``max_passes`` passes. Every
pass ends with a propagation, so the submitted revision holds every correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from annotation.simulation.annotator import (
    DEFAULT_BRUSH_IOU,
    DEFAULT_MAX_CLICKS,
    DEFAULT_MAX_STROKES,
    DEFAULT_TARGET_IOU,
    Click,
    SimClock,
    brush_until_good,
    click_until_good,
    iou,
)

DEFAULT_ACCEPT_IOU = 0.75
DEFAULT_MAX_PASSES = 5


class TaskSession(Protocol):
    """What the protocols need from a task's interactive session (one object)."""

    def click(self, frame_index: int, click: Click, stamp: datetime) -> np.ndarray:
        """Send one click; the object's mask on that frame after it."""

    def mask(self, frame_index: int, mask: np.ndarray, stamp: datetime) -> np.ndarray:
        """Send a mask prompt (a brush or eraser result); the object's mask on that frame after it."""

    def propagate(self, frame_index: int, direction: str, stamp: datetime) -> dict[int, np.ndarray]:
        """Propagate from a frame and wait; the object's masks on every frame afterwards."""


@dataclass(frozen=True)
class Policy:
    target_iou: float = DEFAULT_TARGET_IOU  # a clicked frame is done at this IoU
    accept_iou: float = DEFAULT_ACCEPT_IOU  # a propagated frame below this gets corrected
    max_clicks: int = DEFAULT_MAX_CLICKS  # per frame and correction
    max_passes: int = DEFAULT_MAX_PASSES  # correction passes (phases 2 and 3)
    brush_iou: float | None = DEFAULT_BRUSH_IOU  # phases 1 and 2: brush a clicked frame up to this IoU (None: never)
    max_strokes: int = DEFAULT_MAX_STROKES  # brush and eraser strokes per frame


@dataclass(frozen=True)
class SentInteraction:
    """What the client sent, to compare with the platform's Interaction rows."""

    kind: str  # "click+", "click-", "mask" or "propagate" (the platform's Interaction kinds)
    frame_index: int
    stamp: datetime


@dataclass
class ObjectOutcome:
    """One object's annotation: what was sent, the simulated time, the masks at the end."""

    clicks_per_frame: dict[int, int] = field(default_factory=dict)  # frame -> clicks (all passes)
    erased_frames: list[int] = field(default_factory=list)  # frames given an empty mask (phase 2)
    strokes_per_frame: dict[int, int] = field(default_factory=dict)  # frame -> brush/eraser strokes
    sent: list[SentInteraction] = field(default_factory=list)
    propagations: int = 0
    passes: int = 0
    masks: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def clicks(self) -> int:
        return sum(self.clicks_per_frame.values())

    @property
    def strokes(self) -> int:
        return sum(self.strokes_per_frame.values())

    @property
    def prompted_frames(self) -> set[int]:
        """The frames edited by hand: clicked, brushed or erased."""
        return set(self.clicks_per_frame) | set(self.strokes_per_frame) | set(self.erased_frames)


class _Recorder:
    """Wraps the session: stamps clicks from the clock, records what was sent."""

    def __init__(self, session: TaskSession, clock: SimClock, outcome: ObjectOutcome) -> None:
        self.session, self.clock, self.outcome = session, clock, outcome

    def click_frame(self, gt: np.ndarray, frame: int, start: np.ndarray | None, policy: Policy) -> np.ndarray | None:
        pending: list[datetime] = []

        def stamp(click: Click, clicks_so_far: int) -> None:
            pending.append(self.clock.stamp_click(clicks_so_far))

        def predict(click: Click) -> np.ndarray:
            moment = pending[-1]
            self.outcome.sent.append(SentInteraction("click+" if click.positive else "click-", frame, moment))
            self.outcome.clicks_per_frame[frame] = self.outcome.clicks_per_frame.get(frame, 0) + 1
            return self.session.click(frame, click, moment)

        result = click_until_good(gt, predict, start=start, target_iou=policy.target_iou,
                                  max_clicks=policy.max_clicks, on_click=stamp)
        return result.mask

    def brush_frame(self, gt: np.ndarray, frame: int, mask: np.ndarray | None, policy: Policy) -> np.ndarray | None:
        """Touch up a clicked frame's mask with brush and eraser strokes, sent as one mask prompt
        (the platform's brush: the painted mask replaces the frame's); the frame's mask after it."""
        if policy.brush_iou is None:
            return mask
        painted, strokes = brush_until_good(gt, mask, target_iou=policy.brush_iou, max_strokes=policy.max_strokes)
        if strokes == 0:
            return mask
        moment = self.clock.now()
        self.clock.stroke(strokes)
        self.outcome.sent.append(SentInteraction("mask", frame, moment))
        self.outcome.strokes_per_frame[frame] = self.outcome.strokes_per_frame.get(frame, 0) + strokes
        return self.session.mask(frame, painted, moment)

    def new_mask(self, gt: np.ndarray, frame: int, policy: Policy) -> np.ndarray | None:
        """A fresh mask on a frame, phases 1 and 2's way: SAM clicks from an empty mask, then the brush."""
        return self.brush_frame(gt, frame, self.click_frame(gt, frame, None, policy), policy)

    def erase(self, frame: int, shape: tuple[int, int]) -> np.ndarray:
        moment = self.clock.now()
        self.clock.locate()
        self.clock.click()  # one eraser stroke, charged as a click
        self.outcome.sent.append(SentInteraction("mask", frame, moment))
        self.outcome.erased_frames.append(frame)
        return self.session.mask(frame, np.zeros(shape, dtype=bool), moment)

    def propagate(self, frame: int, frame_count: int) -> dict[int, np.ndarray]:
        direction = "both" if frame > 0 else "forward"
        moment = self.clock.now()
        self.outcome.sent.append(SentInteraction("propagate", frame, moment))
        self.outcome.propagations += 1
        masks = self.session.propagate(frame, direction, moment)
        self.clock.examine(frame_count)  # the annotator watches the result
        return masks


def annotate_phase1(session: TaskSession, gt: np.ndarray, clock: SimClock, policy: Policy = Policy()) -> ObjectOutcome:
    """Phase 1: every frame on its own. ``gt``: (T, H, W) bool, the object's visible masks."""
    outcome = ObjectOutcome()
    recorder = _Recorder(session, clock, outcome)
    empty = np.zeros(gt.shape[1:], dtype=bool)
    for frame in range(gt.shape[0]):
        if not gt[frame].any():
            clock.locate()  # looked for the object, it is not there: nothing to click
            outcome.masks[frame] = empty
            continue
        mask = recorder.new_mask(gt[frame], frame, policy)
        outcome.masks[frame] = empty if mask is None else mask
    return outcome


def frame_ious(gt: np.ndarray, masks: dict[int, np.ndarray]) -> np.ndarray:
    """IoU of each frame's mask with the ground truth (T, H, W); a missing frame is an empty mask,
    and a frame where both are empty scores 1."""
    empty = np.zeros(gt.shape[1:], dtype=bool)
    return np.array([iou(gt[f], masks.get(f, empty)) for f in range(gt.shape[0])])


def _segment(recorder: _Recorder, gt: np.ndarray, frame: int, propagated: np.ndarray | None, phase: int,
             policy: Policy) -> None:
    """Phase 2: a new mask from SAM's clicks, touched up with the brush (propagated as a mask).
    Phase 3: clicks that refine the propagated mask through the memory."""
    if phase == 2:
        recorder.new_mask(gt, frame, policy)
    else:
        recorder.click_frame(gt, frame, propagated, policy)


def annotate_with_propagation(session: TaskSession, gt: np.ndarray, clock: SimClock, *, phase: int,
                              policy: Policy = Policy()) -> ObjectOutcome:
    """Phases 2 and 3 (see the module docstring). ``gt``: (T, H, W) bool."""
    if phase not in (2, 3):
        raise ValueError(f"propagation protocols are phases 2 and 3, got {phase}")
    outcome = ObjectOutcome()
    recorder = _Recorder(session, clock, outcome)
    frames = gt.shape[0]
    visible = np.flatnonzero(gt.reshape(frames, -1).any(axis=1))
    if visible.size == 0:
        return outcome  # never visible: nothing to annotate
    first = int(visible[0])
    _segment(recorder, gt[first], first, None, phase, policy)
    corrected = {first}
    masks = recorder.propagate(first, frames)
    while outcome.passes < policy.max_passes:
        ious = frame_ious(gt, masks)
        failing = [f for f in np.argsort(ious, kind="stable") if ious[f] < policy.accept_iou and f not in corrected]
        if not failing:
            break
        worst = int(failing[0])
        corrected.add(worst)
        if phase == 2 and not gt[worst].any():
            recorder.erase(worst, gt.shape[1:])  # absent there: SAM clicks cannot say so
        else:
            # Phase 2: a new mask from SAM on a fresh frame. Phase 3: refine the propagated mask.
            sent = len(recorder.outcome.sent)
            _segment(recorder, gt[worst], worst, masks.get(worst), phase, policy)
            if len(recorder.outcome.sent) == sent:
                continue  # nothing to click there after all: nothing to re-propagate
        masks = recorder.propagate(first, frames)
        outcome.passes += 1
    outcome.masks = masks
    return outcome


def annotate_object(session: TaskSession, gt: np.ndarray, clock: SimClock, *, phase: int,
                    policy: Policy = Policy()) -> ObjectOutcome:
    """Annotate one object of a task under its phase's rules."""
    if phase == 1:
        return annotate_phase1(session, gt, clock, policy)
    return annotate_with_propagation(session, gt, clock, phase=phase, policy=policy)
