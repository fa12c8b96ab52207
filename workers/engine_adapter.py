"""The engine adapter of a GPU worker process: it owns the models and the open video sessions.

One ``EngineAdapter`` per worker process (``adapter()``). Tasks call it with typed requests; it
never sees HTTP or Django: frames and checkpoints come through the two callables it is built with.

- Models are loaded once per model version (``ModelSpec.key``), on the device and in the precision
  chosen in one place (``choose_device`` / ``ENGINE_DEVICE``, ``ENGINE_DTYPE``).
- Open sessions live in an LRU keyed by task id, bounded by a count and a memory estimate.
- A session is always brought to "the replay of the task's effective prompts up to one
  interaction" (``SessionRequest.events``): when the cached session has applied a prefix of
  them (usually all but the last), only the rest is applied; when it has applied them all (a
  redelivered message), nothing is applied; otherwise (lost, evicted, undo, another worker held
  it) the session is rebuilt by replaying every event. A message delivered twice never
  double-applies, and a rebuilt session gives the same masks as the one that was lost.

Phases (what an event does):
- 1: SAM on each frame on its own: clicks and boxes on a frame that is never propagated.
- 2: clicks and boxes go to SAM on their frame; the resulting mask (or a brush mask) is the
  object's mask prompt for a mask-only tracking session, which propagates.
- 3: full SAM 2: every prompt goes to the tracking session, whose memory refines it.

In every phase a mask prompt's frame shows the mask exactly as painted, in its answer, in
propagation and after a replay (``VideoSession(exact_mask_prompts=True)``); the model receives it
as its mask prompt, at its input resolution, for its memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from engine.frames import CallableFrames, FrameSource

PromptKind = Literal["click", "box", "mask"]
EventKind = Literal["click", "box", "mask", "propagate", "applied"]  # applied: an id-only placeholder
Direction = Literal["forward", "backward", "both"]


# ---- Requests and responses --------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """Which weights: ``key`` names the model version (loaded once per key)."""

    key: str
    config_name: str
    checkpoint_key: str = ""  # empty: the shipped weights of the config


@dataclass(frozen=True)
class VideoSpec:
    video_id: int
    frame_count: int
    height: int
    width: int


@dataclass(frozen=True)
class SessionEvent:
    """One effective interaction of a task, in the engine's terms."""

    interaction_id: int
    kind: EventKind
    frame_index: int
    object_number: int | None = None
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = field(default=None, compare=False)  # (H, W) bool, kind "mask"
    direction: Direction = "forward"


@dataclass(frozen=True)
class SessionRequest:
    """Bring task ``task_id``'s session to the state after ``events`` (oldest first)."""

    task_id: int
    phase: int
    model: ModelSpec
    video: VideoSpec
    events: tuple[SessionEvent, ...]


@dataclass(frozen=True)
class SyncResult:
    replayed: bool  # the session was rebuilt from the events
    applied: int  # events applied by this call
    latency_ms: float  # engine time of this call


@dataclass(frozen=True)
class MaskResponse:
    frame_index: int
    object_number: int
    mask: np.ndarray  # (H, W) bool
    latency_ms: float  # engine time: applying the prompt (and any replay)
    replayed: bool


@dataclass(frozen=True)
class AutoMaskletsRequest:
    """Candidate masklets of a video: automatic masks on its first frame, propagated together."""

    model: ModelSpec
    video: VideoSpec
    generator: dict[str, Any]  # AutoMaskGenerator keyword arguments (points_per_side, thresholds...)
    max_masklets: int = 100


@dataclass
class AutoMaskletsRun:
    """``candidates``: the first frame's records (best first); ``frames()``: per frame, for each
    candidate (object number 1..N), its mask and stability score."""

    candidates: list[dict[str, Any]]
    frames: Callable[[], Iterator[tuple[int, dict[int, tuple[np.ndarray, float]]]]]
    # Per filter of the generator, in order, what it kept (then ``max_masklets``): why there are few.
    filter_counts: dict[str, int] = field(default_factory=dict)


# ---- Device, precision, frames -----------------------------------------------------------------


def choose_device(setting: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU; else the device named."""
    if setting in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def choose_dtype(setting: str = "float32") -> torch.dtype | None:
    """The autocast precision (None: float32). Weights stay float32; reduced precision is
    autocast on CUDA, as SAM 2's own demo runs it; the CPU always computes in float32."""
    if setting in ("", "float32", "fp32"):
        return None
    if setting in ("bfloat16", "bf16"):
        return torch.bfloat16
    if setting in ("float16", "fp16"):
        return torch.float16
    raise ValueError(f"ENGINE_DTYPE must be float32, bfloat16 or float16, got {setting!r}")


def precision(device: torch.device, dtype: torch.dtype | None) -> Callable[[], Any]:
    """A context factory: autocast to ``dtype`` on CUDA, else nothing."""
    if dtype is None or device.type != "cuda":
        return contextlib.nullcontext
    return lambda: torch.autocast("cuda", dtype=dtype)


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> (H, W, 3) uint8 RGB."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def stored_frames(read_frame: Callable[[int], bytes], frame_count: int) -> FrameSource:
    """A lazy frame source: frame ``i`` is read (``read_frame(i)`` -> JPEG bytes) and decoded on use."""
    return CallableFrames(lambda index: decode_jpeg(read_frame(index)), frame_count)


def stability_score(logits: np.ndarray, offset: float = 1.0) -> float:
    """SAM's stability: IoU of the mask thresholded at +offset and at -offset (1.0 when both empty)."""
    outer = int((logits > -offset).sum())
    return 1.0 if outer == 0 else float((logits > offset).sum()) / outer


def tensor_nbytes(value: Any, _seen: set[int] | None = None) -> int:
    """Bytes of every tensor reachable from ``value`` (dataclasses, dicts, lists), each counted once."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(tensor_nbytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return sum(tensor_nbytes(v, seen) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(tensor_nbytes(v, seen) for v in value)
    return 0


# ---- One task's session ------------------------------------------------------------------------


class TaskSession:
    """The engine state of one task: the sessions of its phase and the events applied to them."""

    def __init__(self, request: SessionRequest, model: Any, frames: FrameSource,
                 memory_mb: float | None = 1024.0) -> None:
        from engine.video_session import VideoSession

        self.task_id = request.task_id
        self.phase = request.phase
        self.model_key = request.model.key
        self.video = request.video
        # Phase 1 and 3: the one session of every prompt. Phase 2: the mask-only tracking session.
        # Memories of every tracked frame up to ``memory_mb``, so a correction anywhere uses them.
        # A mask prompt (a brush or eraser edit, phase 2's SAM answer) is its frame's mask exactly.
        self.tracker = VideoSession(model, frames, memory_budget_mb=memory_mb, exact_mask_prompts=True)
        # Phase 2: SAM on a frame; its masks become the tracker's mask prompts. Never propagated.
        self.sam = VideoSession(model, frames, memory_budget_mb=memory_mb) if request.phase == 2 else None
        if self.sam is not None:
            self.sam._features = self.tracker._features  # one feature cache for both (same model, frames)
        self.applied: list[int] = []

    def matches(self, request: SessionRequest) -> bool:
        return (request.phase, request.model.key, request.video) == (self.phase, self.model_key, self.video)

    def nbytes(self) -> int:
        seen: set[int] = set()
        total = tensor_nbytes(self.tracker._features, seen) + tensor_nbytes(self.tracker.state, seen)
        if self.sam is not None:
            total += tensor_nbytes(self.sam.state, seen)
        return total

    def apply(self, event: SessionEvent) -> None:
        if event.kind == "propagate":
            for _ in self.propagate(event):
                pass
            return
        obj = int(event.object_number)
        points = np.asarray(event.points, dtype=np.float32).reshape(-1, 2) if event.points else None
        labels = np.asarray(event.labels, dtype=np.int32) if event.points else None
        if event.kind == "mask":
            self.tracker.add_mask(event.frame_index, obj, np.asarray(event.mask, dtype=bool))
            return
        target = self.sam if self.sam is not None else self.tracker
        if event.kind == "box":
            logits = target.add_points(event.frame_index, obj, points, labels, box=event.box, clear=True)
        else:  # a click adds to the frame's earlier clicks of that object
            logits = target.add_points(event.frame_index, obj, points, labels, clear=False)
        if self.sam is not None:
            self.tracker.add_mask(event.frame_index, obj, logits[obj] > 0)

    def propagate(self, event: SessionEvent) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Track every object from the event's frame; yields (frame, {object: (H, W) bool})."""
        if not self.tracker.obj_ids:
            return
        passes = {"forward": (False,), "backward": (True,), "both": (False, True)}[event.direction]
        for reverse in passes:
            for frame_idx, logits in self.tracker.propagate(event.frame_index, reverse=reverse):
                yield frame_idx, {obj: lg > 0 for obj, lg in logits.items()}

    def mask_on(self, frame_index: int, object_number: int) -> np.ndarray:
        """The object's current mask on a frame (empty when the session has no such object)."""
        logits = self.tracker.logits_on(frame_index)
        if object_number not in logits:
            return np.zeros((self.video.height, self.video.width), dtype=bool)
        return logits[object_number] > 0


# ---- The adapter -------------------------------------------------------------------------------


class EngineAdapter:
    """Owns the models and sessions of one worker process (see the module docstring)."""

    def __init__(self, *, frames_for: Callable[[VideoSpec], FrameSource],
                 checkpoint_path: Callable[[str], str] | None = None, device: str = "auto",
                 dtype: str = "float32", max_sessions: int = 4, max_session_mb: float = 4096.0,
                 cpu_threads: int = 0, session_memory_mb: float | None = 1024.0) -> None:
        self.device = choose_device(device)
        self.dtype = choose_dtype(dtype)
        self.precision = precision(self.device, self.dtype)
        self.frames_for = frames_for
        self.checkpoint_path = checkpoint_path
        self.max_sessions = max(1, int(max_sessions))
        self.max_session_bytes = float(max_session_mb) * 2**20
        self.session_memory_mb = session_memory_mb  # each session's budget for tracked frames' memories
        if cpu_threads > 0:
            torch.set_num_threads(cpu_threads)
        self._models: dict[str, Any] = {}
        self._sessions: OrderedDict[int, TaskSession] = OrderedDict()
        self.stats = {"models_loaded": 0, "replays": 0, "evictions": 0}

    # -- models ------------------------------------------------------------------------------------

    def model(self, spec: ModelSpec) -> Any:
        """The model of a version, loaded on first use and kept for the life of the process."""
        model = self._models.get(spec.key)
        if model is None:
            import engine
            from engine.checkpoint import shipped_weights

            # An empty key means the weights shipped with the engine. A config shipped without
            # weights is refused: a model never runs with random weights (every mask would be noise).
            checkpoint = shipped_weights(spec.config_name)
            if not spec.checkpoint_key and checkpoint is None:
                raise ValueError(
                    f"model {spec.key} has no checkpoint, and config {spec.config_name!r} ships no weights: "
                    "register its checkpoint (python manage.py register_model, or ENGINE_DEFAULT_CHECKPOINT) "
                    "and promote that version")
            if spec.checkpoint_key:
                if self.checkpoint_path is None:
                    raise ValueError(f"model {spec.key} needs checkpoint {spec.checkpoint_key}, "
                                     "and this adapter cannot fetch checkpoints")
                checkpoint = self.checkpoint_path(spec.checkpoint_key)
            model = engine.load_model(spec.config_name, checkpoint=checkpoint, device=self.device)
            self._models[spec.key] = model
            self.stats["models_loaded"] += 1
        return model

    # -- sessions ----------------------------------------------------------------------------------

    @property
    def open_tasks(self) -> list[int]:
        """Task ids of the cached sessions, least recently used first."""
        return list(self._sessions)

    def session(self, task_id: int) -> TaskSession | None:
        return self._sessions.get(task_id)

    def applied_ids(self, task_id: int) -> list[int]:
        """The interaction ids the cached session of a task has applied ([] when none is cached):
        the caller need only load the events after them."""
        session = self._sessions.get(task_id)
        return list(session.applied) if session is not None else []

    def close(self, task_id: int) -> None:
        self._sessions.pop(task_id, None)

    def sync(self, request: SessionRequest) -> tuple[TaskSession, SyncResult]:
        """Bring the task's session to the state after ``request.events``."""
        start = time.perf_counter()
        wanted = [e.interaction_id for e in request.events]
        session = self._sessions.get(request.task_id)
        replayed = False
        if session is not None and session.matches(request) and session.applied == wanted[:len(session.applied)]:
            todo: Sequence[SessionEvent] = request.events[len(session.applied):]  # usually one, or none
        else:
            if any(e.kind == "applied" for e in request.events):
                raise ValueError(f"task {request.task_id}: a rebuild needs every event, got id-only placeholders")
            self._sessions.pop(request.task_id, None)
            session = TaskSession(request, self.model(request.model), self.frames_for(request.video),
                                  self.session_memory_mb)
            todo, replayed = request.events, bool(request.events)
            self.stats["replays"] += int(replayed)
        self._sessions[request.task_id] = session
        self._apply(session, todo)
        return session, SyncResult(replayed, len(todo), (time.perf_counter() - start) * 1000)

    def _apply(self, session: TaskSession, events: Sequence[SessionEvent]) -> None:
        self._sessions.move_to_end(session.task_id)
        try:
            for event in events:
                with self.precision():
                    session.apply(event)
                session.applied.append(event.interaction_id)
        except BaseException:
            self._sessions.pop(session.task_id, None)  # half-applied: never reuse it
            raise
        self._evict(keep=session.task_id)

    def mask_if_at(self, task_id: int, applied: Sequence[int], events: Sequence[SessionEvent],
                   frame_index: int, object_number: int) -> MaskResponse | None:
        """The fast path of a prompt: when the cached session has applied exactly ``applied``,
        apply ``events`` and answer; else None (the caller syncs from the full event list)."""
        session = self._sessions.get(task_id)
        if session is None or session.applied != list(applied):
            return None
        start = time.perf_counter()
        self._apply(session, events)
        mask = session.mask_on(frame_index, object_number)
        return MaskResponse(frame_index, object_number, mask, (time.perf_counter() - start) * 1000, False)

    def mask(self, request: SessionRequest, frame_index: int, object_number: int) -> MaskResponse:
        """Sync, then the object's mask on the frame: the answer to a prompt or an undo."""
        session, result = self.sync(request)
        start = time.perf_counter()
        mask = session.mask_on(frame_index, object_number)
        latency = result.latency_ms + (time.perf_counter() - start) * 1000
        return MaskResponse(frame_index, object_number, mask, latency, result.replayed)

    def propagate(self, request: SessionRequest, event: SessionEvent
                  ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Sync to ``request.events`` (which end before ``event``), then propagate frame by frame.

        Yields (frame, {object: (H, W) bool}). Only a propagation that ran to its end counts as
        applied; one stopped early (cancelled) leaves no session behind, so the next request
        rebuilds it from the events.
        """
        session, _ = self.sync(request)
        finished = False
        frames = session.propagate(event)
        try:
            while True:
                with self.precision():  # entered per frame: the caller's code between frames runs as usual
                    item = next(frames, None)
                if item is None:
                    break
                yield item
            finished = True
        finally:
            if finished:
                session.applied.append(event.interaction_id)
            else:
                self._sessions.pop(request.task_id, None)

    def auto_masklets(self, request: AutoMaskletsRequest) -> AutoMaskletsRun:
        """Automatic masks on frame 0 (SAM's grid), then one session propagating them all."""
        from engine.auto_mask import AutoMaskGenerator
        from engine.rle import decode
        from engine.video_session import VideoSession

        model = self.model(request.model)
        frames = self.frames_for(request.video)
        with self.precision():
            generator = AutoMaskGenerator(model, **request.generator)
            records = generator.generate(frames[0])
        counts = {**generator.counts, "max_masklets": min(len(records), request.max_masklets)}
        records = records[: request.max_masklets]

        def run() -> Iterator[tuple[int, dict[int, tuple[np.ndarray, float]]]]:
            if not records:
                return
            session = VideoSession(model, frames, memory_budget_mb=0)  # one pass, never corrected
            with self.precision():
                for number, record in enumerate(records, start=1):
                    session.add_mask(0, number, decode(record["segmentation"]))
            tracked = session.propagate(0)
            while True:
                with self.precision():
                    item = next(tracked, None)
                if item is None:
                    return
                frame_idx, logits = item
                yield frame_idx, {obj: (lg > 0, stability_score(lg)) for obj, lg in logits.items()}

        return AutoMaskletsRun(records, run, counts)

    def release_memory(self, keep: int | None = None) -> None:
        """Drop every session but ``keep`` (after running out of GPU memory, before a retry)."""
        for task_id in [t for t in self._sessions if t != keep]:
            del self._sessions[task_id]
            self.stats["evictions"] += 1
        self._free_device_cache()

    def _free_device_cache(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _evict(self, keep: int) -> None:
        """Drop least recently used sessions past the count or the memory cap (never ``keep``)."""
        evictions = self.stats["evictions"]
        while len(self._sessions) > self.max_sessions:
            self._drop_oldest(keep)
        total = sum(s.nbytes() for s in self._sessions.values())
        while total > self.max_session_bytes and len(self._sessions) > 1:
            total -= self._drop_oldest(keep)
        if self.stats["evictions"] != evictions:
            self._free_device_cache()

    def _drop_oldest(self, keep: int) -> int:
        for task_id, session in self._sessions.items():
            if task_id != keep:
                nbytes = session.nbytes()
                del self._sessions[task_id]
                self.stats["evictions"] += 1
                return nbytes
        return 0


_ADAPTER: EngineAdapter | None = None


def set_adapter(adapter: EngineAdapter | None) -> None:
    global _ADAPTER
    _ADAPTER = adapter


def current_adapter() -> EngineAdapter | None:
    return _ADAPTER
