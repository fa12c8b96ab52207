"""The engine adapter of a GPU worker process: it owns the models and the open video sessions.

One ``EngineAdapter`` per worker process (``adapter()``). Tasks call it with typed requests; it
never sees HTTP or Django: frames and checkpoints come through the two callables it is built with.

- Models are loaded once per model version (``ModelSpec.key``), on the device and in the precision
  chosen in one place (``choose_device`` / ``ENGINE_DEVICE``, ``ENGINE_DTYPE``), compiled or not
  (``ENGINE_COMPILE``); a long video's session keeps old memories in host memory on a GPU
  (``ENGINE_OFFLOAD_FRAMES``). See ``engine.runtime``.
- Open sessions live in an LRU keyed by task id, bounded by a count and a memory estimate.
- A session is always brought to "the replay of the task's effective prompts up to one
  interaction" (``SessionRequest.events``): when the cached session has applied a prefix of
  them (usually all but the last), only the rest is applied; when it has applied them all (a
  redelivered message), nothing is applied; when they are a prefix of what it applied (an undo),
  it goes back to its snapshot of that state (``TaskSession.remember``: one before each event,
  sharing tensors, bounded by ``undo_memory_mb`` beyond the live session, oldest dropped first);
  otherwise (lost, evicted, no snapshot left, another worker held it) the session is rebuilt by
  replaying every event, reporting its progress. A message delivered twice never double-applies,
  and a restored or rebuilt session gives the same masks as the one that applied the events.

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

import dataclasses
import io
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from engine.frames import CallableFrames, FrameSource
from engine.runtime import autocast, compile_model, parse_compile, parse_dtype, parse_offload_frames

if TYPE_CHECKING:
    from engine.video_session import SessionSnapshot

MAX_UNDO_SNAPSHOTS = 200  # per session, whatever their bytes (each holds its containers)
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
    # The engine's scores of that mask (``TaskSession.scores_on``): the verifier's signals.
    scores: dict[str, float | None] = field(default_factory=dict)


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
    """The autocast precision (None: float32); see ``engine.runtime.parse_dtype``."""
    return parse_dtype(setting)


def precision(device: torch.device, dtype: torch.dtype | None) -> Callable[[], Any]:
    """A context factory: autocast to ``dtype`` on CUDA, else nothing."""
    return autocast(device, dtype)


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


def json_scores(scores: dict[str, float | None]) -> dict[str, float | None]:
    """An object's scores on a frame as JSON-safe floats (``None`` where absent or not finite)."""
    return {name: None if value is None or not np.isfinite(value) else float(value)
            for name, value in scores.items()}


def tensor_sizes(value: Any, out: dict[int, int] | None = None, _seen: set[int] | None = None) -> dict[int, int]:
    """Every tensor (and array) reachable from ``value``: its id → its bytes, each once."""
    out = {} if out is None else out
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return out
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        out[id(value)] = value.numel() * value.element_size()
    elif isinstance(value, np.ndarray):
        out[id(value)] = value.nbytes
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            tensor_sizes(getattr(value, f.name), out, seen)
    elif isinstance(value, dict):
        for v in value.values():
            tensor_sizes(v, out, seen)
    elif isinstance(value, list | tuple):
        for v in value:
            tensor_sizes(v, out, seen)
    return out


# ---- One task's session ------------------------------------------------------------------------


class TaskSession:
    """The engine state of one task: the sessions of its phase and the events applied to them."""

    def __init__(self, request: SessionRequest, model: Any, frames: FrameSource,
                 memory_mb: float | None = 1024.0, undo_mb: float = 512.0,
                 offload_to: str | None = None) -> None:
        from engine.video_session import VideoSession

        self.task_id = request.task_id
        self.phase = request.phase
        self.model_key = request.model.key
        self.video = request.video
        # Phase 1 and 3: the one session of every prompt. Phase 2: the mask-only tracking session.
        # Memories of every tracked frame up to ``memory_mb``, so a correction anywhere uses them.
        # A mask prompt (a brush or eraser edit, phase 2's SAM answer) is its frame's mask exactly.
        # A long video on a GPU: memories behind the propagation front go to host memory (offload_to).
        self.tracker = VideoSession(model, frames, memory_budget_mb=memory_mb, exact_mask_prompts=True,
                                    offload_to=offload_to)
        # Phase 2: SAM on a frame; its masks become the tracker's mask prompts. Never propagated.
        self.sam = VideoSession(model, frames, memory_budget_mb=memory_mb) if request.phase == 2 else None
        if self.sam is not None:
            self.sam._features = self.tracker._features  # one feature cache for both (same model, frames)
        self.applied: list[int] = []
        # Undo snapshots: ``snapshots[k]`` is the state after ``applied[:k]`` (tracker, phase 2's SAM
        # session). Their bytes beyond the live session's are bounded by ``undo_mb``, oldest first.
        self.snapshots: OrderedDict[int, tuple[SessionSnapshot, SessionSnapshot | None]] = OrderedDict()
        self.undo_bytes = max(0.0, float(undo_mb)) * 2**20
        # The snapshots' tensors, counted once however many snapshots share them (id → [bytes,
        # snapshots holding it]), so that measuring them never walks every snapshot again.
        self._snapshot_tensors: dict[int, dict[int, int]] = {}
        self._held: dict[int, list[int]] = {}

    def remember(self) -> None:
        """Snapshot the state after ``applied`` (before the next event), for an undo to come back to."""
        if self.undo_bytes <= 0:
            return
        k = len(self.applied)
        for later in [i for i in self.snapshots if i >= k]:
            self.forget(later)
        pair = (self.tracker.snapshot(), None if self.sam is None else self.sam.snapshot())
        self.snapshots[k] = pair
        self._snapshot_tensors[k] = sizes = tensor_sizes(pair)
        for key, nbytes in sizes.items():
            self._held.setdefault(key, [nbytes, 0])[1] += 1
        while len(self.snapshots) > MAX_UNDO_SNAPSHOTS:
            self.forget(next(iter(self.snapshots)))

    def forget(self, k: int) -> None:
        """Drop the snapshot of the state after ``applied[:k]``."""
        del self.snapshots[k]
        for key in self._snapshot_tensors.pop(k):
            held = self._held[key]
            held[1] -= 1
            if not held[1]:
                del self._held[key]

    def trim(self) -> None:
        """Drop the oldest snapshots until what they hold beyond the live session fits the budget
        (after events: what the session replaced or evicted lives on in the snapshots)."""
        while self.snapshots and self.snapshot_nbytes() > self.undo_bytes:
            self.forget(next(iter(self.snapshots)))

    def _live_tensors(self) -> dict[int, int]:
        live = tensor_sizes(self.tracker.state)
        return tensor_sizes(self.sam.state, live) if self.sam is not None else live

    def snapshot_nbytes(self, live: dict[int, int] | None = None) -> int:
        """Bytes the undo snapshots hold that the live session does not (evicted or replaced outputs)."""
        live = self._live_tensors() if live is None else live
        return sum(nbytes for key, (nbytes, _) in self._held.items() if key not in live)

    def go_back(self, applied: Sequence[int]) -> bool:
        """Restore the state after ``applied`` (a prefix of what was applied) from its snapshot;
        False when there is none (the caller replays)."""
        k = len(applied)
        if list(applied) != self.applied[:k] or k not in self.snapshots:
            return False
        tracker, sam = self.snapshots[k]
        self.tracker.restore(tracker)
        if self.sam is not None and sam is not None:
            self.sam.restore(sam)
        del self.applied[k:]
        for later in [i for i in self.snapshots if i > k]:
            self.forget(later)
        return True

    def matches(self, request: SessionRequest) -> bool:
        return (request.phase, request.model.key, request.video) == (self.phase, self.model_key, self.video)

    def nbytes(self) -> int:
        live = self._live_tensors()
        features = tensor_sizes(self.tracker._features)
        return (sum(live.values()) + sum(n for key, n in features.items() if key not in live)
                + self.snapshot_nbytes(live))

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

    def scores_on(self, frame_index: int) -> dict[int, dict[str, float | None]]:
        """Each object's latest engine scores on a frame (predicted IoU, object-score logit), JSON-safe."""
        return {obj: json_scores(scores) for obj, scores in self.tracker.scores_on(frame_index).items()}

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
                 cpu_threads: int = 0, session_memory_mb: float | None = 1024.0,
                 undo_memory_mb: float = 512.0, compile: str | bool = "off", offload_frames: int | str = 0) -> None:
        self.device = choose_device(device)
        self.dtype = choose_dtype(dtype)
        self.compile_mode = parse_compile(compile)  # torch.compile of the image encoder + memory attention
        self.offload_frames = parse_offload_frames(offload_frames)  # 0: never
        self.precision = precision(self.device, self.dtype)
        self.frames_for = frames_for
        self.checkpoint_path = checkpoint_path
        self.max_sessions = max(1, int(max_sessions))
        self.max_session_bytes = float(max_session_mb) * 2**20
        self.session_memory_mb = session_memory_mb  # each session's budget for tracked frames' memories
        self.undo_memory_mb = undo_memory_mb  # each session's budget for its undo snapshots
        if cpu_threads > 0:
            torch.set_num_threads(cpu_threads)
        self._models: dict[str, Any] = {}
        self._sessions: OrderedDict[int, TaskSession] = OrderedDict()
        self.stats = {"models_loaded": 0, "replays": 0, "evictions": 0, "restores": 0}

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
            compile_model(model, self.compile_mode)
            self._models[spec.key] = model
            self.stats["models_loaded"] += 1
        return model

    def offload_to(self, video: VideoSpec) -> str | None:
        """Where a session keeps old memories: host memory for a long video on a GPU, else None."""
        if self.device.type == "cpu" or not self.offload_frames or video.frame_count < self.offload_frames:
            return None
        return "cpu"

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

    def sync(self, request: SessionRequest, progress: Callable[[int, int], None] | None = None
             ) -> tuple[TaskSession, SyncResult]:
        """Bring the task's session to the state after ``request.events``: apply the new ones, or go
        back to an earlier state's snapshot (an undo), or else replay them all, calling
        ``progress(done, total)`` before each replayed event."""
        start = time.perf_counter()
        wanted = [e.interaction_id for e in request.events]
        session = self._sessions.get(request.task_id)
        replayed = False
        if session is not None and session.matches(request) and session.applied == wanted[:len(session.applied)]:
            todo: Sequence[SessionEvent] = request.events[len(session.applied):]  # usually one, or none
        elif session is not None and session.matches(request) and session.go_back(wanted):
            todo = ()  # an undo: back to the snapshot of that state
            self.stats["restores"] += 1
        else:
            if any(e.kind == "applied" for e in request.events):
                raise ValueError(f"task {request.task_id}: a rebuild needs every event, got id-only placeholders")
            self._sessions.pop(request.task_id, None)
            session = TaskSession(request, self.model(request.model), self.frames_for(request.video),
                                  self.session_memory_mb, self.undo_memory_mb, self.offload_to(request.video))
            todo, replayed = request.events, bool(request.events)
            self.stats["replays"] += int(replayed)
        self._sessions[request.task_id] = session
        self._apply(session, todo, progress if replayed else None)
        return session, SyncResult(replayed, len(todo), (time.perf_counter() - start) * 1000)

    def _apply(self, session: TaskSession, events: Sequence[SessionEvent],
               progress: Callable[[int, int], None] | None = None) -> None:
        self._sessions.move_to_end(session.task_id)
        try:
            for done, event in enumerate(events):
                if progress is not None:
                    progress(done, len(events))
                session.remember()
                with self.precision():
                    session.apply(event)
                session.applied.append(event.interaction_id)
            session.trim()
        except BaseException:
            self._sessions.pop(session.task_id, None)  # half-applied: never reuse it
            raise
        self._evict(keep=session.task_id)

    def mask_if_at(self, task_id: int, applied: Sequence[int], events: Sequence[SessionEvent],
                   frame_index: int, object_number: int) -> MaskResponse | None:
        """The fast path of a prompt: when the cached session has applied exactly ``applied``,
        apply ``events`` and answer; else None (the caller syncs from the full event list)."""
        session = self._sessions.get(task_id)
        if session is None:
            return None
        start = time.perf_counter()
        if session.applied != list(applied):
            if not session.go_back(applied):  # an undo: back to the snapshot of that state
                return None
            self.stats["restores"] += 1
        self._apply(session, events)
        mask = session.mask_on(frame_index, object_number)
        return MaskResponse(frame_index, object_number, mask, (time.perf_counter() - start) * 1000, False,
                            session.scores_on(frame_index).get(object_number, {}))

    def mask(self, request: SessionRequest, frame_index: int, object_number: int,
             progress: Callable[[int, int], None] | None = None) -> MaskResponse:
        """Sync, then the object's mask on the frame: the answer to a prompt or an undo."""
        session, result = self.sync(request, progress)
        start = time.perf_counter()
        mask = session.mask_on(frame_index, object_number)
        latency = result.latency_ms + (time.perf_counter() - start) * 1000
        return MaskResponse(frame_index, object_number, mask, latency, result.replayed,
                            session.scores_on(frame_index).get(object_number, {}))

    def propagate(self, request: SessionRequest, event: SessionEvent
                  ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Sync to ``request.events`` (which end before ``event``), then propagate frame by frame.

        Yields (frame, {object: (H, W) bool}). Only a propagation that ran to its end counts as
        applied; one stopped early (cancelled) leaves no session behind, so the next request
        rebuilds it from the events.
        """
        session, _ = self.sync(request)
        session.remember()
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
                session.trim()
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
            session = VideoSession(model, frames, memory_budget_mb=0,  # one pass, never corrected
                                   offload_to=self.offload_to(request.video))
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

    def scores_on(self, task_id: int, frame_index: int) -> dict[int, dict[str, float | None]]:
        """The engine's scores of each object on a frame of the task's open session (empty when
        none is open): between the frames of ``propagate``, those of the frame just yielded."""
        session = self._sessions.get(task_id)
        return session.scores_on(frame_index) if session is not None else {}

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
