"""Interactive video segmentation: prompt objects on any frame, propagate, correct, propagate again.

    session = VideoSession(model, frames)                # frames: arrays, a JPEG folder, a FrameSource
    logits = session.add_points(0, obj_id=1, points=[[320, 240]], labels=[1])   # {1: (H, W) float32}
    for frame_idx, per_object in session.propagate():     # {obj_id: (H, W) float32 logits}
        ...
    session.add_points(40, obj_id=1, points=[[300, 200]], labels=[0])   # a correction
    rebuilt = VideoSession.replay(model, frames, session.prompts)       # e.g. on another worker
    before = session.snapshot(); session.add_points(...); session.restore(before)   # an undo

Semantics are the reference ``SAM2VideoPredictor``'s (masks > 0 are the object; an absent object
has logits -1024), its post-processing included: background holes of up to ``fill_hole_area``
pixels of the low-res mask (8 in the official configs) are filled, always (the reference does it
only where its CUDA extension is built). One difference: every frame that received a prompt stays
a conditioning frame, so a correction is never overwritten by the next propagation (sam2 issue #719).

A mask prompt reaches the model at its input resolution, and the reference answers it with that
mask as the model sees it (on the low-res grid, upsampled back: a painted 40×40 square comes back
with its edges moved). ``exact_mask_prompts=True`` (what an annotation tool wants: a brush edit is
kept as painted) makes every output of a frame whose latest prompt for an object is a mask show
that mask pixel for pixel, as logits of +-10 (the reference's mask-as-output values): the prompt's
answer, ``logits_on`` and propagation (a prompted frame is a conditioning frame, never tracked
over). The model's state is the reference's either way: it receives the mask as its mask prompt,
for the frame's memory and object pointer.

Memory is bounded by a budget, not by the video's length. Frame features live in a small LRU
(``feature_cache_size`` frames). Every tracked frame keeps each object's memory (features stored in
bfloat16, as the reference stores them), object pointer and low-res logits, so a correction click on
any tracked frame is the reference's: conditioned on the memories around it, with the frame's
previous logits fed back as a mask prompt. When what is stored passes ``memory_budget_mb``
(``stored_bytes``), the least useful frames go first: those farthest from the propagation front and
from the object's prompted frames lose their memory and logits (and, beyond the object-pointer
window, their entry). What the next tracked frames need is never evicted (the ``num_maskmem``
memories around the front and each prompted frame, the pointers within ``max_obj_ptrs_in_encoder``),
so a budget of 0 keeps only that. A click on an evicted frame still works, as a correction
conditioned on whatever memories remain around it (at least the prompted frames), without previous
logits; other objects evicted there return -1024 in that click's output until tracked again.

For long videos on a GPU, ``offload_to="cpu"`` keeps what is stored behind the propagation front in
host memory: as each tracked frame leaves the ``num_maskmem`` window behind the front, its memory and
logits move there (``offloaded_bytes``), and a later use (a correction near it, a pass the other way)
reads them back to the model's device. The masks are the same as without offloading. Frames are never
all in memory: they are decoded on the host when their features are computed.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from engine.frames import FrameSource, as_frame_source, check_frame, preprocess_frame
from engine.modeling.sam2 import SAM2Model
from engine.tracking import (
    MASK_OUT_BIAS,
    MASK_OUT_SCALE,
    NO_OBJ_SCORE,
    FrameFeatures,
    FrameOutput,
    ObjectMemory,
    ObjectStep,
    compute_frame_features,
    encode_prompted,
    track_frame,
)

DEFAULT_MEMORY_BUDGET_MB = 1024.0  # per session: ~1300 object-frames of sam2.1 at 1024 px
LOGIT_CLAMP = 32.0  # previous logits fed back as a mask prompt are clamped, as the reference does


@dataclass(frozen=True)
class PointPrompt:
    frame_idx: int
    obj_id: int
    points: np.ndarray  # (P, 2) float32 pixel (x, y) at video resolution; P may be 0 with a box
    labels: np.ndarray  # (P,) int32: 1 positive, 0 negative
    box: np.ndarray | None  # (4,) float32 x0, y0, x1, y1
    clear: bool


@dataclass(frozen=True)
class MaskPrompt:
    frame_idx: int
    obj_id: int
    mask: np.ndarray  # (H, W) bool at video resolution


@dataclass(frozen=True)
class RemoveObject:
    obj_id: int


@dataclass
class Propagation:
    start: int | None
    reverse: bool
    max_frames: int | None  # frames actually processed when the caller stopped early


SessionEvent = PointPrompt | MaskPrompt | RemoveObject | Propagation


@dataclass
class ObjectState:
    memory: ObjectMemory = field(default_factory=ObjectMemory)
    points: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # (1,P,2), (1,P)
    pending: dict[int, FrameOutput] = field(default_factory=dict)  # prompted, memory not encoded yet
    painted: dict[int, np.ndarray] = field(default_factory=dict)  # frames whose latest prompt is a mask


@dataclass
class SessionState:
    objects: dict[int, ObjectState] = field(default_factory=dict)  # insertion order = output order
    prompts: list[SessionEvent] = field(default_factory=list)


@dataclass(frozen=True)
class SessionSnapshot:
    """A session's state at one moment (``VideoSession.snapshot``), to go back to with ``restore``.

    It shares the state's tensors (never changed in place) and copies only the containers, so a
    snapshot costs the bytes of what the live session drops or replaces later (evicted memories,
    re-prompted frames), not a copy of everything."""

    state: SessionState
    stored: int


def _state_copy(state: SessionState) -> SessionState:
    """The containers of a state copied (outputs too: eviction and encoding set their fields),
    tensors shared."""
    def outputs(store: dict[int, FrameOutput]) -> dict[int, FrameOutput]:
        return {t: copy.copy(out) for t, out in store.items()}

    objects = {
        obj_id: ObjectState(
            memory=ObjectMemory(cond=outputs(o.memory.cond), non_cond=outputs(o.memory.non_cond),
                                reverse_of=dict(o.memory.reverse_of)),
            points=dict(o.points), pending=outputs(o.pending), painted=dict(o.painted))
        for obj_id, o in state.objects.items()}
    prompts = [replace(e) if isinstance(e, Propagation) else e for e in state.prompts]  # max_frames is set late
    return SessionState(objects=objects, prompts=prompts)


class VideoSession:
    """One video, any number of objects; see the module docstring.

    ``memory_budget_mb`` bounds the memories, pointers and logits kept for tracked frames (MiB,
    counted by ``stored_bytes``; ``None``: no limit); the working set of the next tracked frames is
    kept even beyond it. Frame features are bounded separately by ``feature_cache_size``.
    ``exact_mask_prompts``: a mask-prompted frame outputs the mask as given (module docstring).
    ``offload_to``: where the memories and logits behind the propagation front go (e.g. "cpu"; None: stay).
    """

    def __init__(self, model: SAM2Model, frames: FrameSource | Sequence[np.ndarray] | str | Path,
                 feature_cache_size: int = 4, memory_budget_mb: float | None = DEFAULT_MEMORY_BUDGET_MB,
                 exact_mask_prompts: bool = False, offload_to: str | torch.device | None = None) -> None:
        if memory_budget_mb is not None and not memory_budget_mb >= 0:
            raise ValueError(f"memory_budget_mb must be >= 0 or None, got {memory_budget_mb!r}")
        self.model = model.eval()
        self.frames = as_frame_source(frames)
        self.num_frames = len(self.frames)
        first = check_frame(self.frames[0], 0)
        self.video_size: tuple[int, int] = (int(first.shape[0]), int(first.shape[1]))  # (H, W)
        self.feature_cache_size = max(1, feature_cache_size)
        self._features: OrderedDict[int, FrameFeatures] = OrderedDict()
        self.memory_budget_mb = memory_budget_mb
        self._budget = None if memory_budget_mb is None else int(memory_budget_mb * 2**20)
        self._stored = 0  # bytes of every object's memory.cond and memory.non_cond outputs
        self._pos_enc: torch.Tensor | None = None  # the memories' position encoding, one tensor for all
        self.exact_mask_prompts = exact_mask_prompts
        self.offload_to = None if offload_to is None else torch.device(offload_to)
        self._offloaded = 0  # bytes moved to ``offload_to`` (memories and logits behind the front)
        self.state = SessionState()

    @property
    def stored_bytes(self) -> int:
        """Bytes held by the tracked frames' outputs (memories, pointers, logits), what the budget bounds."""
        return self._stored

    @property
    def offloaded_bytes(self) -> int:
        """Bytes of tracked frames' memories and logits moved to ``offload_to`` so far."""
        return self._offloaded

    @property
    def prompts(self) -> list[SessionEvent]:
        """Everything added, in order: replaying it rebuilds this session (``VideoSession.replay``)."""
        return list(self.state.prompts)

    @property
    def obj_ids(self) -> list[int]:
        return list(self.state.objects)

    @classmethod
    def replay(cls, model: SAM2Model, frames: FrameSource | Sequence[np.ndarray] | str | Path,
               prompts: Sequence[SessionEvent], feature_cache_size: int = 4,
               memory_budget_mb: float | None = DEFAULT_MEMORY_BUDGET_MB,
               exact_mask_prompts: bool = False, offload_to: str | torch.device | None = None) -> VideoSession:
        session = cls(model, frames, feature_cache_size, memory_budget_mb, exact_mask_prompts, offload_to)
        for event in prompts:
            if isinstance(event, PointPrompt):
                box = None if event.box is None else event.box
                pts = event.points if len(event.points) else None
                labels = event.labels if len(event.points) else None
                session.add_points(event.frame_idx, event.obj_id, pts, labels, box=box, clear=event.clear)
            elif isinstance(event, MaskPrompt):
                session.add_mask(event.frame_idx, event.obj_id, event.mask)
            elif isinstance(event, RemoveObject):
                session.remove_object(event.obj_id)
            else:
                for _ in session.propagate(event.start, event.reverse, event.max_frames):
                    pass
        return session

    # -- prompts ---------------------------------------------------------------------------------

    @torch.inference_mode()
    def add_points(self, frame_idx: int, obj_id: int, points: ArrayLike | None = None,
                   labels: ArrayLike | None = None, box: ArrayLike | None = None,
                   clear: bool = True) -> dict[int, np.ndarray]:
        """Clicks (pixel x, y; label 1 positive, 0 negative) and/or a box (x0, y0, x1, y1) on a frame.

        ``clear=False`` adds the clicks to the frame's earlier ones. Returns every object's logits
        on that frame, {obj_id: (H, W) float32}.
        """
        frame_idx = self._check_frame_idx(frame_idx)
        obj_id = _check_obj_id(obj_id)
        xy, lab, box_arr = _check_point_prompt(points, labels, box, self.video_size)
        if box_arr is not None and not clear:
            raise ValueError("a box must come first: use clear=True when giving a box")
        h, w = self.video_size
        s = self.model.image_size
        # Pixel (x, y) -> model pixels, with the reference's float32 arithmetic.
        coords = torch.from_numpy(xy).reshape(1, -1, 2)
        labels_t = torch.from_numpy(lab.astype(np.int32)).reshape(1, -1)
        if box_arr is not None:
            coords = torch.cat([torch.from_numpy(box_arr).reshape(1, 2, 2), coords], dim=1)
            labels_t = torch.cat([torch.tensor([[2, 3]], dtype=torch.int32), labels_t], dim=1)
        coords = coords / torch.tensor([w, h]) * s
        obj = self.state.objects.setdefault(obj_id, ObjectState())
        if not clear and frame_idx in obj.points:
            old_xy, old_lab = obj.points[frame_idx]
            coords, labels_t = torch.cat([old_xy, coords], dim=1), torch.cat([old_lab, labels_t], dim=1)
        device = self.model.device
        obj.points[frame_idx] = (coords, labels_t)
        obj.painted.pop(frame_idx, None)  # the frame shows the model's answer to the clicks again
        self.state.prompts.append(PointPrompt(frame_idx, obj_id, xy, lab.astype(np.int32), None if box_arr is None
                                              else box_arr.reshape(4), clear))
        step = ObjectStep(obj.memory, is_init_cond_frame=frame_idx not in obj.memory.reverse_of,
                          point_coords=coords.to(device), point_labels=labels_t.to(device),
                          prev_mask_logits=self._previous_logits(obj, frame_idx))
        return self._run_prompt(frame_idx, obj, step)

    @torch.inference_mode()
    def add_mask(self, frame_idx: int, obj_id: int, mask: ArrayLike) -> dict[int, np.ndarray]:
        """A binary (H, W) mask at video resolution as the object's prompt on a frame."""
        frame_idx = self._check_frame_idx(frame_idx)
        obj_id = _check_obj_id(obj_id)
        m = np.asarray(mask)
        if m.shape != self.video_size:
            raise ValueError(f"mask must have the video's shape {self.video_size}, got {m.shape}")
        if m.dtype != np.bool_ and not (np.issubdtype(m.dtype, np.integer) and np.isin(m, (0, 1)).all()):
            raise ValueError(f"mask must be boolean (or 0/1 integers), got {m.dtype}")
        m = m.astype(bool)
        s = self.model.image_size
        mask_t = torch.from_numpy(m)[None, None].float().to(self.model.device)
        if mask_t.shape[-2:] != (s, s):
            mask_t = F.interpolate(mask_t, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
            mask_t = (mask_t >= 0.5).float()
        obj = self.state.objects.setdefault(obj_id, ObjectState())
        obj.points.pop(frame_idx, None)
        obj.painted[frame_idx] = m
        self.state.prompts.append(MaskPrompt(frame_idx, obj_id, m))
        step = ObjectStep(obj.memory, is_init_cond_frame=frame_idx not in obj.memory.reverse_of, mask_input=mask_t)
        return self._run_prompt(frame_idx, obj, step)

    def remove_object(self, obj_id: int) -> None:
        """Forget an object: its prompts, memories and outputs. Other objects are unaffected."""
        if obj_id not in self.state.objects:
            raise ValueError(f"unknown object {obj_id!r}; objects: {self.obj_ids}")
        mem = self.state.objects.pop(obj_id).memory
        self._stored -= sum(o.nbytes() for store in (mem.cond, mem.non_cond) for o in store.values())
        self.state.prompts.append(RemoveObject(obj_id))

    def snapshot(self) -> SessionSnapshot:
        """The session's state now (objects, prompts, memories, outputs), for ``restore``: going
        back to it gives the same masks as replaying the prompts made up to now."""
        return SessionSnapshot(_state_copy(self.state), self._stored)

    def restore(self, snapshot: SessionSnapshot) -> None:
        """Go back to a snapshot of this session (the snapshot stays usable). Frame features are a
        cache and stay as they are."""
        self.state = _state_copy(snapshot.state)
        self._stored = snapshot.stored

    def reset(self) -> None:
        """Forget every object and prompt (frame features stay cached)."""
        self.state = SessionState()
        self._stored = 0

    def _run_prompt(self, frame_idx: int, obj: ObjectState, step: ObjectStep) -> dict[int, np.ndarray]:
        reverse = obj.memory.reverse_of.get(frame_idx, False)
        out = track_frame(self.model, self._frame_features(frame_idx), frame_idx, [step], self.num_frames,
                          reverse, run_mem_encoder=False)[0]
        obj.pending[frame_idx] = out
        return self.logits_on(frame_idx)

    def _previous_logits(self, obj: ObjectState, frame_idx: int) -> torch.Tensor | None:
        """This object's latest logits on the frame, fed back with new clicks (reference semantics)."""
        for store in (obj.pending, obj.memory.cond, obj.memory.non_cond):
            out = store.get(frame_idx)
            if out is not None:
                if out.pred_masks is None:
                    return None
                return out.pred_masks.to(self.model.device).clamp(-LOGIT_CLAMP, LOGIT_CLAMP)
        return None

    # -- propagation -----------------------------------------------------------------------------

    def propagate(self, start: int | None = None, reverse: bool = False,
                  max_frames: int | None = None) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Track every object from ``start`` (default: the first prompted frame) forward or back.

        Yields (frame_idx, {obj_id: (H, W) float32 logits}) frame by frame; prompted frames give
        their prompted output. ``max_frames`` bounds the frames after ``start``.
        """
        if not self.state.objects:
            raise ValueError("no object to propagate: add points, a box or a mask first")
        if start is not None:
            start = self._check_frame_idx(start)
        if max_frames is not None and max_frames < 0:
            raise ValueError(f"max_frames must be >= 0, got {max_frames}")
        return self._propagate(Propagation(start, reverse, max_frames))

    def _propagate(self, record: Propagation) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        with torch.inference_mode():
            self._consolidate_prompts()
        start = record.start
        if start is None:
            start = min(t for obj in self.state.objects.values() for t in obj.memory.cond)
        limit = self.num_frames if record.max_frames is None else record.max_frames
        if record.reverse:
            order = range(start, max(start - limit, 0) - 1, -1) if start > 0 else range(0)
        else:
            order = range(start, min(start + limit, self.num_frames - 1) + 1)
        self.state.prompts.append(record)
        done = 0
        try:
            for frame_idx in order:
                with torch.inference_mode():
                    self._propagate_frame(frame_idx, record.reverse)
                    logits = self.logits_on(frame_idx)
                done += 1
                yield frame_idx, logits
        finally:  # a caller that stops early is logged with the frames it actually got
            if done == 0:
                self.state.prompts.remove(record)
            elif done < len(order):
                record.max_frames = done - 1  # frames after the start

    def _propagate_frame(self, frame_idx: int, reverse: bool) -> None:
        objects = list(self.state.objects.values())
        todo = [o for o in objects if frame_idx not in o.memory.cond]
        if todo:
            steps = [ObjectStep(o.memory) for o in todo]
            outs = track_frame(self.model, self._frame_features(frame_idx), frame_idx, steps, self.num_frames,
                               reverse, run_mem_encoder=True)
            for o, out in zip(todo, outs, strict=True):
                self._put(o.memory.non_cond, frame_idx, out)
        for o in objects:
            o.memory.reverse_of[frame_idx] = reverse
        if self.offload_to is not None:
            self._offload_behind(frame_idx, reverse)
        self._evict(frame_idx)

    def _offload_behind(self, head: int, reverse: bool) -> None:
        """Move the memories and logits of the frame that has just left the ``num_maskmem`` window
        behind the propagation front to ``offload_to`` (host memory). A later read (a correction
        near it, a pass the other way) brings them back to the model's device for that use."""
        m = self.model
        t = head + m.num_maskmem * max(1, m.memory_temporal_stride_for_eval) * (1 if reverse else -1)
        for obj in self.state.objects.values():
            out = obj.memory.non_cond.get(t)
            if out is None:
                continue
            for name in ("maskmem_features", "pred_masks"):
                tensor = getattr(out, name)
                if tensor is not None:  # on the CPU, where the model runs there already, .to moves nothing
                    setattr(out, name, tensor.to(self.offload_to))
                    self._offloaded += tensor.numel() * tensor.element_size()

    @torch.inference_mode()
    def _consolidate_prompts(self) -> None:
        """Encode the memories of prompted frames; every prompted frame becomes a conditioning frame."""
        by_frame: dict[int, list[tuple[ObjectState, FrameOutput]]] = {}
        for obj in self.state.objects.values():
            for frame_idx, out in obj.pending.items():
                by_frame.setdefault(frame_idx, []).append((obj, out))
        for frame_idx, items in sorted(by_frame.items()):
            encode_prompted(self.model, self._frame_features(frame_idx), [out for _, out in items])
            for obj, out in items:
                self._put(obj.memory.cond, frame_idx, out)
                self._pop(obj.memory.non_cond, frame_idx)
                obj.pending.pop(frame_idx)

    def _put(self, store: dict[int, FrameOutput], frame_idx: int, out: FrameOutput) -> None:
        pos = out.maskmem_pos_enc  # a view of one cached encoding: keep one view object, so that
        if pos is not None:  # a walk over the session's tensors (the worker's estimate) counts it once
            old = self._pos_enc
            if (old is not None and old.shape == pos.shape and old.dtype == pos.dtype
                    and old.device == pos.device and old.data_ptr() == pos.data_ptr()):
                out.maskmem_pos_enc = old
            else:
                self._pos_enc = pos
        self._pop(store, frame_idx)
        store[frame_idx] = out
        self._stored += out.nbytes()

    def _pop(self, store: dict[int, FrameOutput], frame_idx: int) -> None:
        old = store.pop(frame_idx, None)
        if old is not None:
            self._stored -= old.nbytes()

    def _evict(self, head: int) -> None:
        """Over budget: free the tracked frames farthest from the front (``head``) and from each
        object's prompted frames first. Within ``num_maskmem`` frames of those, memories and logits
        stay; within ``max_obj_ptrs_in_encoder``, object pointers stay (the next frames use them)."""
        if self._budget is None or self._stored <= self._budget:
            return
        m = self.model
        mem_radius = m.num_maskmem * max(1, m.memory_temporal_stride_for_eval)
        ptr_radius = m.max_obj_ptrs_in_encoder
        candidates: list[tuple[int, int, int, ObjectMemory]] = []  # (distance, object rank, frame, memory)
        for rank, obj in enumerate(self.state.objects.values()):
            mem = obj.memory
            anchors = np.array([head, *mem.cond])
            for t, out in mem.non_cond.items():
                dist = int(np.abs(anchors - t).min())
                if dist > ptr_radius or (dist > mem_radius and out.pred_masks is not None):
                    candidates.append((dist, rank, t, mem))
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        for dist, _, t, mem in candidates:
            if self._stored <= self._budget:
                break
            if dist > ptr_radius:
                self._pop(mem.non_cond, t)
            else:  # keep the pointer, drop the memory and the logits
                out = mem.non_cond[t]
                self._stored -= out.nbytes()
                out.maskmem_features = out.maskmem_pos_enc = out.pred_masks = None
                self._stored += out.nbytes()

    # -- helpers ---------------------------------------------------------------------------------

    def _frame_features(self, frame_idx: int) -> FrameFeatures:
        feats = self._features.get(frame_idx)
        if feats is None:
            frame = check_frame(self.frames[frame_idx], frame_idx)
            if frame.shape[:2] != self.video_size:
                raise ValueError(f"frame {frame_idx} is {frame.shape[:2]}, the video is {self.video_size}")
            feats = compute_frame_features(self.model, preprocess_frame(frame, self.model.image_size))
            self._features[frame_idx] = feats
            while len(self._features) > self.feature_cache_size:
                self._features.popitem(last=False)
        else:
            self._features.move_to_end(frame_idx)
        return feats

    def logits_on(self, frame_idx: int) -> dict[int, np.ndarray]:
        """Every object's latest low-res logits on a frame, upsampled to the video: {obj_id: (H, W)}.
        With ``exact_mask_prompts``, an object whose latest prompt on the frame is a mask shows it as given."""
        s4 = self.model.image_size // 4
        lows = []
        for obj in self.state.objects.values():
            out = obj.pending.get(frame_idx) or obj.memory.cond.get(frame_idx) or obj.memory.non_cond.get(frame_idx)
            low = None if out is None else out.pred_masks
            lows.append(low if low is not None else torch.full((1, 1, s4, s4), NO_OBJ_SCORE))
        if not lows:
            return {}
        low = torch.cat([x.to(self.model.device) for x in lows], dim=0)  # (N, 1, S/4, S/4)
        video = F.interpolate(low, size=self.video_size, mode="bilinear", align_corners=False)
        arrays = video[:, 0].float().cpu().numpy()
        if self.exact_mask_prompts:
            for i, obj in enumerate(self.state.objects.values()):
                painted = obj.painted.get(frame_idx)
                if painted is not None:
                    arrays[i] = np.where(painted, MASK_OUT_SCALE + MASK_OUT_BIAS, MASK_OUT_BIAS)
        return {obj_id: arrays[i] for i, obj_id in enumerate(self.state.objects)}

    def scores_on(self, frame_idx: int) -> dict[int, dict[str, float | None]]:
        """Every object's latest scores on a frame, the verifier's signals: the decoder's predicted IoU
        (``None`` where the mask came from a mask prompt) and the object-score logit (> 0: present);
        both ``None`` on a frame the object has no output on yet."""
        scores: dict[int, dict[str, float | None]] = {}
        for obj_id, obj in self.state.objects.items():
            out = obj.pending.get(frame_idx) or obj.memory.cond.get(frame_idx) or obj.memory.non_cond.get(frame_idx)
            iou = None if out is None or out.iou_scores is None else float(out.iou_scores.reshape(-1)[0])
            logit = None if out is None else float(out.object_score_logits.reshape(-1)[0])
            scores[obj_id] = {"predicted_iou": iou, "object_score": logit}
        return scores

    def _check_frame_idx(self, frame_idx: int) -> int:
        if isinstance(frame_idx, bool) or not isinstance(frame_idx, int | np.integer):
            raise ValueError(f"frame index must be an integer, got {frame_idx!r}")
        if not 0 <= frame_idx < self.num_frames:
            raise ValueError(f"frame {frame_idx} is out of range: the video has {self.num_frames} frames")
        return int(frame_idx)


def _check_obj_id(obj_id: int) -> int:
    if isinstance(obj_id, bool) or not isinstance(obj_id, int | np.integer):
        raise ValueError(f"object id must be an integer, got {obj_id!r}")
    return int(obj_id)


def _check_point_prompt(points: ArrayLike | None, labels: ArrayLike | None, box: ArrayLike | None,
                        hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate clicks and box: ((P, 2) float32, (P,) int64, (2, 2) float32 or None)."""
    h, w = hw
    if (points is None) != (labels is None):
        raise ValueError("points and labels go together: give both or neither")
    xy = np.zeros((0, 2), np.float32) if points is None else np.asarray(points, dtype=np.float32)
    lab = np.zeros((0,), np.int64) if labels is None else np.asarray(labels)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must have shape (P, 2) of pixel (x, y), got {xy.shape}")
    if lab.shape != (xy.shape[0],):
        raise ValueError(f"got {xy.shape[0]} points but labels of shape {lab.shape}: one label per point")
    if xy.shape[0] == 0 and box is None:
        raise ValueError("empty prompt: give at least one point or a box")
    if not np.all(np.isfinite(xy)):
        raise ValueError("points must be finite numbers")
    outside = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if outside.any():
        x, y = xy[np.argmax(outside)]
        raise ValueError(f"point ({x:g}, {y:g}) is outside the image (width {w}, height {h})")
    if lab.size and not np.all(np.isin(lab, (0, 1))):
        raise ValueError(f"labels must be 1 (positive) or 0 (negative), got {sorted(set(lab.tolist()))}")
    box_arr = None
    if box is not None:
        b = np.asarray(box, dtype=np.float32)
        if b.shape not in ((4,), (1, 4)) or not np.all(np.isfinite(b)):
            raise ValueError(f"box must be 4 finite numbers (x0, y0, x1, y1), got shape {b.shape}")
        x0, y0, x1, y1 = b.reshape(4).tolist()
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"box must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1, got {[x0, y0, x1, y1]}")
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            raise ValueError(f"box {[x0, y0, x1, y1]} is outside the image (width {w}, height {h})")
        box_arr = b.reshape(2, 2)
    return xy, lab.astype(np.int64), box_arr
