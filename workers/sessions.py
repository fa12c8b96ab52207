"""Interactive session tasks on GPU workers: open a task's session, answer its prompts.

``session.open`` is taken from the ``gpu`` queue by any GPU worker, which records itself as the
session's worker; ``session.prompt`` then reaches that worker through its direct queue. Both
bring the session to a state named by interaction ids (see ``workers.engine_adapter``), so a
redelivered or repeated message is harmless. The adapter of this process is built on first use.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

from celery import shared_task
from django.conf import settings

from annotation.services.sessions import (
    SessionEventRecord,
    SessionSpecRecord,
    session_progress_key,
    session_spec,
    session_worker_record,
)
from dataplatform import storage
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.replies import DirectReplyTask, progress_clear, progress_send
from engine import rle as rle_ops
from engine.frames import FrameSource
from workers.engine_adapter import (
    EngineAdapter,
    ModelSpec,
    SessionEvent,
    SessionRequest,
    VideoSpec,
    current_adapter,
    set_adapter,
    stored_frames,
)


def _frames_for(video: VideoSpec) -> FrameSource:
    return stored_frames(lambda index: storage.read_bytes(storage.frame_key(video.video_id, index)),
                         video.frame_count)


def _checkpoint_path(key: str) -> str:
    """A local copy of a checkpoint in storage, shared by the worker processes of this machine.

    The copy is named after the storage (bucket or folder), the key and the file's size and
    modification time: a checkpoint replaced at the same key, or another deployment's (or a reset
    database's) checkpoint with the same key, gets a copy of its own instead of a stale one."""
    folder = Path(tempfile.gettempdir()) / "masklet-checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    identity = f"{storage.location()}|{key}|{storage.fingerprint(key)}"
    path = folder / (hashlib.sha256(identity.encode()).hexdigest()[:24] + Path(key).suffix)
    if not path.exists():
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(storage.read_bytes(key))
        partial.replace(path)
    return str(path)


def adapter() -> EngineAdapter:
    """This worker process's adapter, made on first use from the settings."""
    current = current_adapter()
    if current is None:
        current = EngineAdapter(
            frames_for=_frames_for, checkpoint_path=_checkpoint_path,
            device=getattr(settings, "ENGINE_DEVICE", "auto"),
            dtype=getattr(settings, "ENGINE_DTYPE", "float32"),
            max_sessions=getattr(settings, "ENGINE_SESSION_CACHE", 4),
            max_session_mb=getattr(settings, "ENGINE_SESSION_CACHE_MB", 4096),
            cpu_threads=getattr(settings, "ENGINE_CPU_THREADS", 0),
            session_memory_mb=getattr(settings, "ENGINE_SESSION_MEMORY_MB", 1024.0),
            undo_memory_mb=getattr(settings, "ENGINE_UNDO_MEMORY_MB", 512.0),
            compile=getattr(settings, "ENGINE_COMPILE", "off"),
            offload_frames=getattr(settings, "ENGINE_OFFLOAD_FRAMES", 0),
        )
        set_adapter(current)
    return current


def model_spec(*, version_id: int, config_name: str, checkpoint_key: str) -> ModelSpec:
    # The checkpoint's key is part of the cache key: a version number seen again after a database
    # reset, by a worker that outlived it, is another model.
    return ModelSpec(f"modelversion:{version_id}:{checkpoint_key}", config_name, checkpoint_key)


def _event(record: SessionEventRecord) -> SessionEvent:
    return SessionEvent(
        interaction_id=record.interaction_id, kind=record.kind, frame_index=record.frame_index,
        object_number=record.object_number, points=tuple(tuple(p) for p in record.points),
        labels=tuple(record.labels), box=None if record.box is None else tuple(record.box),
        mask=None if record.mask is None else rle_ops.decode(record.mask), direction=record.direction or "forward")


def session_request(spec: SessionSpecRecord) -> SessionRequest:
    return SessionRequest(
        task_id=spec.task_id, phase=spec.phase,
        model=model_spec(version_id=spec.model_version_id, config_name=spec.config_name,
                         checkpoint_key=spec.checkpoint_key),
        video=VideoSpec(spec.video_id, spec.frame_count, spec.height, spec.width),
        events=tuple(_event(e) for e in spec.events))


@shared_task(bind=True, name="session.open", **GPU_TASK_LIMITS["session"])
def open_session(self, task_id: int) -> dict:
    """Hold the task's session on this worker, replayed to its latest state."""
    hostname = self.request.hostname or ""
    session_worker_record(task_id=task_id, hostname=hostname)
    engine = adapter()
    spec = session_spec(task_id=task_id, applied=engine.applied_ids(task_id))
    _, result = engine.sync(session_request(spec))
    return {"worker": hostname, "replayed": result.replayed, "latency_ms": result.latency_ms}


@shared_task(bind=True, name="session.prompt", base=DirectReplyTask, track_started=False,
             **GPU_TASK_LIMITS["session"])
def prompt(self, task_id: int, interaction_id: int, frame_index: int, object_number: int,
           applied: list[int] | None = None, events: list[dict] | None = None) -> dict:
    """The object's mask on the frame once the session replays the task up to ``interaction_id``.

    ``applied`` + ``events`` (optional): the effective events up to it, as the ids before and the
    new events themselves; when the cached session holds exactly ``applied``, no database read
    is needed. Otherwise the events are read from the database (only those after the ones the
    cached session applied, or all of them for a rebuild). The answer goes back as a direct reply
    when the caller asked for one (``dataplatform.replies``).
    """
    started = time.perf_counter()
    engine = adapter()
    answer = None
    if applied is not None:
        new = [_event(SessionEventRecord(**event)) for event in events or []]
        answer = engine.mask_if_at(task_id, applied, new, frame_index, object_number)
    if answer is None:
        spec = session_spec(task_id=task_id, upto=interaction_id, applied=engine.applied_ids(task_id))
        key = session_progress_key(task_id)
        try:  # a replay (no snapshot of the state, or a lost session) tells the annotator how far it got
            answer = engine.mask(session_request(spec), frame_index, object_number,
                                 progress=lambda done, total: progress_send(key, done=done, total=total))
        finally:
            progress_clear(key)
    mask = rle_ops.encode(answer.mask)
    return {"mask": mask, "latency_ms": answer.latency_ms, "replayed": answer.replayed, "scores": answer.scores,
            "worker": self.request.hostname or "", "worker_ms": (time.perf_counter() - started) * 1000}
