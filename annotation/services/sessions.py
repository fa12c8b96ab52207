"""Interactive sessions: an annotator's prompts reach the GPU worker that holds the task's session
and come back as masks in one round trip; every prompt is an Interaction first.

Replay makes loss harmless. The worker's session for a task is always brought to "the replay of
the task's effective interactions up to one interaction" (``session_events``): prompts that were
not undone, of objects that still exist, and propagations that did not fail. A worker that holds
the session at the previous state applies one prompt; one that lost it (restart, eviction, a
different worker) replays them all. A message delivered twice never applies twice.

Routing. ``session.open`` goes to the ``gpu`` queue (or to the recorded worker while it answers);
the worker that takes it records itself in ``task.session_worker``. Prompts go to that worker's
direct queue (Celery's ``worker_direct``). When it does not answer within
``ENGINE_SESSION_REPLY_TIMEOUT`` and does not answer a ping either, it is taken for dead: the
session is reopened on another worker and the prompt sent again; the client sees the same mask.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery.utils.nodenames import worker_direct
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone

from annotation.models import AnnotationTask, Interaction, Label, Masklet, ModelVersion, Review
from annotation.selectors.labels import project_labels
from annotation.selectors.masklets import task_masklets_open
from annotation.selectors.reviews import task_review_feedback
from annotation.selectors.tasks import task_lock_held
from annotation.services.checkpoints import model_version_require_usable
from annotation.services.labels import label_of_project
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.modelversions import model_version_ensure_default
from annotation.services.phases import phase_check_tool
from annotation.services.prompts import objects_check_room, prompt_payload
from annotation.services.signals import engine_scores, revision_frame_scores
from dataplatform.celery import GPU_QUEUE, app
from dataplatform.commits import DiskFlush, commit_without_waiting, flush_start
from dataplatform.errors import ApplicationError, ConflictError, NotFoundError
from dataplatform.models import Job, Video
from dataplatform.queries import CompiledValues
from dataplatform.replies import Reply, progress_read, result_reply, task_send
from dataplatform.selectors.videos import video_frame_urls
from engine import rle as rle_ops

PROMPT_KINDS = (Interaction.Kind.CLICK_POSITIVE, Interaction.Kind.CLICK_NEGATIVE, Interaction.Kind.BOX,
                Interaction.Kind.MASK)
EVENT_KINDS = (*PROMPT_KINDS, Interaction.Kind.PROPAGATE)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def reply_timeout() -> float:
    """Seconds to wait for a prompt's answer before checking that the worker is alive."""
    return _setting("ENGINE_SESSION_REPLY_TIMEOUT", 5.0)


def open_timeout() -> float:
    """Seconds a session.open may wait for a GPU worker (model load and replay included)."""
    return _setting("ENGINE_SESSION_OPEN_TIMEOUT", 120.0)


def max_wait() -> float:
    """Seconds a prompt may wait on a live but busy worker (e.g. behind a propagation)."""
    return _setting("ENGINE_SESSION_MAX_WAIT", 300.0)


class WorkerUnavailable(Exception):
    """The session's worker did not answer a prompt nor a ping."""


# ---- The task's objects and effective events ---------------------------------------------------


def _objects_of(*, task_id: int, masklet_id: int | None = None) -> QuerySet[Masklet]:
    mine = Q(task_id=task_id) if masklet_id is None else Q(task_id=task_id) | Q(pk=masklet_id)
    return Masklet.objects.filter(mine).select_related("label").order_by("object_number")


def task_objects(*, task: AnnotationTask) -> list[Masklet]:
    """The masklets a task works on: those it added (``Masklet.task``), and a refinement task's
    masklet. Another task's objects on the same video, drafts included, are not among them."""
    return list(_objects_of(task_id=task.pk, masklet_id=task.masklet_id))


@dataclass(frozen=True)
class SessionEventRecord:
    """One effective interaction, as plain data for the worker (RLE masks, pixel coordinates)."""

    interaction_id: int
    kind: str  # click | box | mask | propagate; "applied": an id-only placeholder of an applied event
    frame_index: int
    object_number: int | None = None
    points: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: list[float] | None = None
    mask: dict | None = None
    direction: str = "forward"


@dataclass(frozen=True)
class _Row:
    """An interaction row without its payload (whose prompt answers are big)."""

    pk: int
    kind: str
    frame_index: int | None
    object_number: int | None
    server_timestamp: datetime
    undoes: int | None
    job: int | None


def _event_rows_query(*, task_id: int, upto: int | None = None) -> QuerySet:
    rows = Interaction.objects.filter(task_id=task_id, kind__in=[*EVENT_KINDS, Interaction.Kind.UNDO])
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    # Only undo and propagation rows' payloads are read (in SQL, so that the prompt answers stored
    # in the others' payloads are never fetched nor decompressed: this runs on every prompt).
    def key_of(kind: str, key: str) -> Case:  # an integer, as text then cast (alike on SQLite)
        return Case(When(kind=kind, then=Cast(KeyTextTransform(key, "payload"), IntegerField())))

    undoes, job = key_of(Interaction.Kind.UNDO, "undoes"), key_of(Interaction.Kind.PROPAGATE, "job")
    return rows.order_by("pk").values_list("pk", "kind", "frame_index", "object_number", "server_timestamp",
                                           undoes, job)


# Run on every prompt: compiled once (building it took longer than running it, ~1 ms vs 0.6 ms).
_EVENT_ROWS = CompiledValues(_event_rows_query, task_id=int)
_EVENT_ROWS_UPTO = CompiledValues(_event_rows_query, task_id=int, upto=int)


def _event_rows(*, task_id: int, upto: int | None) -> list[_Row]:
    """The task's prompt, propagation and undo rows up to ``upto``, oldest first (without payloads)."""
    rows = _EVENT_ROWS.rows(task_id=task_id) if upto is None else _EVENT_ROWS_UPTO.rows(task_id=task_id, upto=upto)
    return [_Row(*values) for values in rows]


def interactions_effective(*, task: AnnotationTask, upto: int | None = None,
                           objects: Sequence[Masklet | _Object] | None = None) -> list[_Row]:
    """The task's prompt and propagation rows that count, oldest first, up to ``upto`` inclusive."""
    rows = _event_rows(task_id=task.pk, upto=upto)
    undone = {int(r.undoes) for r in rows if r.kind == Interaction.Kind.UNDO and r.undoes is not None}
    born = {m.object_number: m.created_at for m in (task_objects(task=task) if objects is None else objects)}
    jobs = [r.job for r in rows if r.kind == Interaction.Kind.PROPAGATE]
    dropped_jobs = set(Job.objects.filter(pk__in=jobs, status__in=[Job.Status.FAILED, Job.Status.CANCELLED])
                       .values_list("pk", flat=True)) if jobs else set()
    kept = []
    for row in rows:
        if row.kind == Interaction.Kind.UNDO or row.pk in undone:
            continue
        if row.kind == Interaction.Kind.PROPAGATE:
            if row.job not in dropped_jobs:
                kept.append(row)
            continue
        # An object's prompts count from its masklet's creation: a removed object's number may
        # be given again to a new object, which starts empty.
        if row.object_number in born and row.server_timestamp >= born[row.object_number]:
            kept.append(row)
    return kept


_PAYLOAD_KEYS = ("points", "labels", "box", "mask", "direction", "frame_index")


def _events_of(rows: list[_Row], *, known: int = 0, payloads: dict[int, dict] | None = None
               ) -> list[SessionEventRecord]:
    """Events of effective rows; the first ``known`` are id-only placeholders (already applied)."""
    if payloads is None:
        payloads = {pk: dict(zip(_PAYLOAD_KEYS, values, strict=True)) for pk, *values in
                    Interaction.objects.filter(pk__in=[r.pk for r in rows[known:]]).values_list(
                        "pk", *(KeyTransform(key, "payload") for key in _PAYLOAD_KEYS))} if rows[known:] else {}
    events = [SessionEventRecord(r.pk, "applied", -1) for r in rows[:known]]
    for row in rows[known:]:
        p = payloads[row.pk]
        if row.kind == Interaction.Kind.PROPAGATE:
            events.append(SessionEventRecord(row.pk, "propagate", int(p["frame_index"]),
                                             direction=p.get("direction") or "forward"))
            continue
        kind = {Interaction.Kind.BOX: "box", Interaction.Kind.MASK: "mask"}.get(row.kind, "click")
        events.append(SessionEventRecord(row.pk, kind, row.frame_index, row.object_number,
                                         points=p.get("points") or [], labels=p.get("labels") or [],
                                         box=p.get("box"), mask=p.get("mask")))
    return events


def session_events(*, task: AnnotationTask, upto: int | None = None,
                   applied: list[int] | None = None) -> list[SessionEventRecord]:
    """The effective events up to ``upto``. When ``applied`` (what the worker's session holds) is
    a prefix of them, those come as id-only placeholders: only the new events are loaded."""
    rows = interactions_effective(task=task, upto=upto)
    known = len(applied) if applied and [r.pk for r in rows[:len(applied)]] == list(applied) else 0
    return _events_of(rows, known=known)


def session_model_version(*, task: AnnotationTask) -> ModelVersion:
    """The task's model version, fixed when its session first opens (the project's or the active one)."""
    if task.model_version_id is None:
        project = task.video.project
        version = model_version_require_usable(version=project.model_version or model_version_ensure_default())
        AnnotationTask.objects.filter(pk=task.pk, model_version__isnull=True).update(model_version=version)
        task.refresh_from_db(fields=["model_version"])
    return ModelVersion.objects.get(pk=task.model_version_id)


@dataclass(frozen=True)
class SessionSpecRecord:
    """What a worker needs to bring a task's session to a state."""

    task_id: int
    phase: int
    model_version_id: int
    config_name: str
    checkpoint_key: str
    video_id: int
    frame_count: int
    height: int
    width: int
    events: list[SessionEventRecord]


def session_spec(*, task_id: int, upto: int | None = None, applied: list[int] | None = None) -> SessionSpecRecord:
    """What a worker needs to bring the task's session to ``upto`` (see ``session_events``)."""
    task = (AnnotationTask.objects.select_related("video__project", "model_version")
            .filter(pk=task_id).first())
    if task is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    version = task.model_version or session_model_version(task=task)
    video = task.video
    return SessionSpecRecord(task.pk, task.phase, version.pk, version.config_name, version.checkpoint_key,
                             video.pk, video.frame_count, video.height, video.width,
                             session_events(task=task, upto=upto, applied=applied))


def session_worker_record(*, task_id: int, hostname: str) -> None:
    """The worker that took ``session.open`` holds the session from now on."""
    AnnotationTask.objects.filter(pk=task_id).update(session_worker=hostname, session_opened_at=timezone.now())


# ---- Round trips to the worker -----------------------------------------------------------------


def worker_alive(hostname: str, *, timeout: float = 1.0) -> bool:
    replies = app.control.ping(destination=[hostname], timeout=timeout)
    return any(hostname in reply for reply in replies)


def _wait(fetch: Callable[[float], Reply | None], *, timeout: float, hostname: str | None) -> Any:
    """The task's return value. Waits past ``timeout`` only while ``hostname`` answers pings."""
    deadline = time.monotonic() + max_wait()
    while (reply := fetch(timeout)) is None:
        if hostname is None:
            raise WorkerUnavailable
        if not worker_alive(hostname):
            raise WorkerUnavailable
        if time.monotonic() > deadline:
            raise ApplicationError("The GPU worker holding your session is busy; try again in a moment.",
                                   status_code=503, code="engine_busy")
    if not reply.ok:
        raise ApplicationError(f"The model could not answer: {reply.value}", status_code=502, code="engine_error")
    return reply.value  # a Celery result expires with result_expires; a direct reply was popped


def _open_on(task: AnnotationTask, hostname: str | None) -> str:
    queue = worker_direct(hostname) if hostname else GPU_QUEUE
    result = app.send_task("session.open", args=[task.pk], queue=queue, expires=open_timeout())
    try:
        reply = _wait(result_reply(result), timeout=open_timeout() if hostname is None else reply_timeout(),
                      hostname=hostname)
    except WorkerUnavailable:
        if hostname is None:
            raise ApplicationError("No GPU worker is available to open the session; try again later.",
                                   status_code=503, code="engine_unavailable") from None
        raise
    task.session_worker = reply["worker"]
    return reply["worker"]


def _call(*, task: AnnotationTask, name: str, args: list, flush: DiskFlush | None = None) -> dict:
    """Send ``name`` to the session's worker and return its answer; reopen elsewhere if it died.
    ``flush`` (under way on this connection) is awaited before any query here."""
    for _ in range(3):
        worker = task.session_worker or _open_on(task, None)
        # Celery's default argsrepr (what monitoring shows) would saferepr every effective
        # event id on every click: the task, interaction, frame and object say enough.
        fetch = task_send(name, args=args, queue=worker_direct(worker), expires=max_wait(),
                          argsrepr=repr(args[:4]))
        try:
            return _wait(fetch, timeout=reply_timeout(), hostname=worker)
        except WorkerUnavailable:
            if flush is not None:
                flush.wait()
            AnnotationTask.objects.filter(pk=task.pk, session_worker=worker).update(session_worker="")
            task.session_worker = ""
    raise ApplicationError("No GPU worker kept your session; try again later.", status_code=503,
                           code="engine_unavailable")


# ---- Opening a session -------------------------------------------------------------------------


def _video_state(video: Video) -> dict:
    return {"id": video.pk, "name": video.name, "frame_count": video.frame_count, "width": video.width,
            "height": video.height, "frames": video_frame_urls(video=video)}


def session_points(*, task: AnnotationTask) -> list[dict]:
    """The clicks that still count, as the workspace draws them (its markers after a reload)."""
    clicks = [r.pk for r in interactions_effective(task=task)
              if r.kind in (Interaction.Kind.CLICK_POSITIVE, Interaction.Kind.CLICK_NEGATIVE)]
    rows = (Interaction.objects.filter(pk__in=clicks).order_by("pk")
            .values_list("frame_index", "object_number", KeyTransform("points", "payload"),
                         KeyTransform("labels", "payload")))
    return [{"frame_index": frame, "object_number": number, "point": point, "label": label}
            for frame, number, points, labels in rows
            for point, label in zip(points or [], labels or [], strict=False)]


def label_state(label: Label) -> dict:
    """A label as the API shows it next to an object."""
    return {"id": label.pk, "name": label.name, "color": label.color}


def session_object_state(masklet: Masklet) -> dict:
    return {"object_number": masklet.object_number, "masklet_id": masklet.pk, "label": label_state(masklet.label)}


def session_state(*, task: AnnotationTask) -> dict:
    return {
        "task": task.pk,
        "kind": task.kind,
        "video": _video_state(task.video),
        "objects": [session_object_state(m) for m in task_objects(task=task)],
        "labels": [label_state(label) for label in project_labels(project=task.video.project)],
        "phase": task.phase,
        "model_version": task.model_version_id,
        "model_version_name": task.model_version.name if task.model_version_id else None,
        "worker": task.session_worker,
        "points": session_points(task=task),
        "review": task_review_feedback(task=task),
    }


def session_open(*, task: AnnotationTask, user) -> dict:
    """Open (or reopen) the task's engine session on a GPU worker; the session's state."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
    locked = AnnotationTask.objects.select_related("video__project").get(pk=locked.pk)
    session_model_version(task=locked)
    current = locked.session_worker
    try:
        _open_on(locked, current if current and worker_alive(current) else None)
    except WorkerUnavailable:
        _open_on(locked, None)
    locked.refresh_from_db()
    return session_state(task=locked)


# ---- Prompts -----------------------------------------------------------------------------------


def _check_object_in(objects: Sequence[Masklet | _Object], object_number: int) -> Masklet | _Object:
    """The masklet of ``object_number`` among the task's ``objects``."""
    for masklet in objects:
        if masklet.object_number == object_number:
            return masklet
    numbers = sorted(m.object_number for m in objects)
    raise ApplicationError(f"Object {object_number} is not an object of this task; add it first "
                           f"(objects: {numbers}).", {"field": "object_number"})


def _check_object(task: AnnotationTask, object_number: int) -> tuple[Masklet, list[Masklet]]:
    """The object's masklet, and every object of the task."""
    listed = task_objects(task=task)
    return _check_object_in(listed, object_number), listed


def _check_frame(video: Video, frame_index: int) -> None:
    if not 0 <= frame_index < video.frame_count:
        raise ApplicationError(f"Frame {frame_index} is outside the video (0–{video.frame_count - 1}).",
                               {"field": "frame_index"})


def _answer_record(*, interaction_id: int, latency_ms: float, payload: dict) -> None:
    """Store a prompt's answer on its row (committed before the worker was asked), in one statement.

    On PostgreSQL that statement's commit does not wait for the disk: ``set_config(…, true)``
    turns ``synchronous_commit`` off for its own transaction only (the setting in effect at commit
    decides). It is the second commit of every click, and what it writes is derived data: the
    prompt itself was committed durably before, and a session replaying the prompts computes the
    answer again. Only a database crash within a fraction of a second of a click could lose an
    answer (the masks endpoint would show that frame's previous mask until the next prompt or
    propagation there), never a prompt. Inside a caller's transaction it is a plain update.
    """
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    payload_field = Interaction._meta.get_field("payload")
    with connection.cursor() as cursor:
        cursor.execute(_answer_statement(asynchronous=asynchronous),
                       [latency_ms, payload_field.get_db_prep_save(payload, connection), interaction_id])


@functools.cache
def _answer_statement(*, asynchronous: bool) -> str:
    """The UPDATE of ``_answer_record``, written once from the model's names (the ORM's took longer
    to build than to run, on every click)."""
    qn, meta = connection.ops.quote_name, Interaction._meta
    sql = (f"UPDATE {qn(meta.db_table)} SET {qn(meta.get_field('model_latency_ms').column)} = %s, "
           f"{qn(meta.get_field('payload').column)} = %s WHERE {qn(meta.pk.column)} = %s")
    return sql + " AND set_config('synchronous_commit', 'off', true) = 'off'" if asynchronous else sql


def _mask_answer(*, task: AnnotationTask, interaction: Interaction, frame_index: int, object_number: int,
                 effective: list[int], flush: DiskFlush | None = None) -> dict:
    """Ask the worker for the mask after ``interaction``; recorded on the row, then returned.

    ``effective``: the ids of the effective events up to the interaction (read under the task's
    lock). The message carries them as the ids before it plus the new event itself, so that a
    worker holding the session at that state reads nothing. ``flush``: the interaction's flush to
    disk, under way while the worker works; awaited before anything else touches the database.
    """
    ids = list(effective)
    new: list[dict] = []
    if ids and ids[-1] == interaction.pk:
        ids.pop()
        new.append(dataclasses.asdict(_events_of([_Row(interaction.pk, interaction.kind, frame_index,
                                                        object_number, interaction.server_timestamp, None, None)],
                                                  payloads={interaction.pk: interaction.payload})[0]))
    started = time.perf_counter()  # the round trip: to the worker and back (a reopen included)
    try:
        reply = _call(task=task, name="session.prompt",
                      args=[task.pk, interaction.pk, frame_index, object_number, ids, new], flush=flush)
    finally:
        if flush is not None:
            flush.wait()  # the prompt is on disk before its answer is recorded or sent
    round_trip = (time.perf_counter() - started) * 1000
    payload = {**interaction.payload, "result": reply["mask"], "round_trip_ms": round_trip,
               "replayed": reply["replayed"], "worker": reply["worker"], "worker_ms": reply["worker_ms"],
               "scores": engine_scores(reply.get("scores"))}
    _answer_record(interaction_id=interaction.pk, latency_ms=reply["latency_ms"], payload=payload)
    return {"interaction": interaction.pk, "frame_index": frame_index, "object_number": object_number,
            "mask": reply["mask"], "latency_ms": reply["latency_ms"], "round_trip_ms": round_trip,
            "worker_ms": reply["worker_ms"]}


@dataclass(frozen=True)
class _Object:
    """A task's object as a prompt reads it."""

    object_number: int
    created_at: datetime


def _prompt_objects_query(*, task_id: int, masklet_id: int | None = None) -> QuerySet:
    """``_objects_of`` with the fields of their video that a prompt checks; not the video's
    per-frame timestamps nor its probe metadata (a thousand numbers for a long video)."""
    return _objects_of(task_id=task_id, masklet_id=masklet_id).values_list(
        "object_number", "created_at", "video_id", "video__frame_count", "video__width", "video__height")


# Run on every prompt: compiled once (building a model query with its video took longer than running it).
_PROMPT_OBJECTS = CompiledValues(_prompt_objects_query, task_id=int)
_PROMPT_OBJECTS_REFINE = CompiledValues(_prompt_objects_query, task_id=int, masklet_id=int)


def _prompt_objects(task: AnnotationTask) -> tuple[list[_Object], Video | None]:
    """The task's objects, and their video's size and length (a bare instance, for the checks)."""
    rows = (_PROMPT_OBJECTS.rows(task_id=task.pk) if task.masklet_id is None
            else _PROMPT_OBJECTS_REFINE.rows(task_id=task.pk, masklet_id=task.masklet_id))
    if not rows:
        return [], None
    _, _, video_id, frame_count, width, height = rows[0]
    video = Video(pk=video_id, frame_count=frame_count, width=width, height=height)
    return [_Object(number, created) for number, created, *_ in rows], video


def session_prompt(*, task_id: int, user, kind: str, frame_index: int, object_number: int,
                   data: dict, client_timestamp: datetime | None = None) -> dict:
    """Record a prompt as an Interaction (committed before the worker sees it, on disk before the
    answer goes back: the flush overlaps the worker's time, see ``dataplatform.commits``), then get
    its mask from the session's worker.

    The hot path of annotation, so its reads are few: the task once, under its lock (hence the id,
    not a loaded task); its objects with their video (every object is in the task's video, and a
    prompt needs an object); the effective events as ids; no model version lookup once the
    session is open. ``tests/workers/test_sessions_queries.py`` holds the count.
    """
    with transaction.atomic():
        durable_later = commit_without_waiting()  # visible at once, on disk before the answer
        try:
            locked = task_lock_held(task=AnnotationTask(pk=task_id), user=user)  # reads the id only
        except AnnotationTask.DoesNotExist:
            raise NotFoundError(f"Task {task_id} does not exist.") from None
        phase_check_tool(phase=locked.phase, tool=kind)
        objects, video = _prompt_objects(locked)
        _check_object_in(objects, object_number)
        _check_frame(video, frame_index)
        interaction_kind, payload = prompt_payload(kind=kind, data=data, video=video)
        if locked.model_version_id is None:
            session_model_version(task=locked)
        interaction = Interaction.objects.create(
            task=locked, user=user, kind=interaction_kind, frame_index=frame_index, object_number=object_number,
            payload=payload, client_timestamp=client_timestamp, phase=locked.phase,
            model_version_id=locked.model_version_id)
        effective = [r.pk for r in interactions_effective(task=locked, upto=interaction.pk, objects=objects)]
    return _mask_answer(task=locked, interaction=interaction, frame_index=frame_index, object_number=object_number,
                        effective=effective, flush=flush_start() if durable_later else None)


def session_progress_key(task_id: int) -> str:
    return f"session-{task_id}"


def session_progress(*, task: AnnotationTask) -> dict:
    """How far the task's session is in recomputing a state (an undo whose snapshot the worker
    dropped, or a session rebuilt after its worker lost it): events replayed of the total; both
    null when nothing is being recomputed."""
    progress = progress_read(session_progress_key(task.pk)) or {}
    return {"done": progress.get("done"), "total": progress.get("total")}


def _revert_propagation(*, task: AnnotationTask, user, job_id: int | None) -> None:
    """The masks from before an undone propagation become its objects' masks again: per object it
    saved, the revision it replaced is current again (or, when that one was already decided on, a
    copy of the masks the annotator saw before it, source ``undo``)."""
    job = Job.objects.filter(pk=job_id).first() if job_id is not None else None
    if job is None or job.status != Job.Status.SUCCEEDED:
        raise ConflictError("A propagation is still running: wait for it or cancel it, then undo.")
    for number, revision_id in sorted((job.result or {}).get("revisions", {}).items()):
        masklet = Masklet.objects.select_for_update().filter(task=task, object_number=int(number)).first()
        if masklet is None and task.masklet_id is not None:
            masklet = Masklet.objects.select_for_update().filter(pk=task.masklet_id,
                                                                 object_number=int(number)).first()
        if masklet is None or masklet.current_revision_id != revision_id:
            continue  # removed since, or saved again since: nothing of the propagation is showing
        propagated = masklet.current_revision
        # What the masks were just before it: its parent revision and the prompt answers after that
        # (what ``task_masks_latest`` reads). The parent becomes current again: one update.
        Masklet.objects.filter(pk=masklet.pk).update(current_revision_id=propagated.parent_id)
        if propagated.parent_id is None or not Review.objects.filter(revision_id=propagated.parent_id).exists():
            continue
        # A parent with a decision (a rework's rejected revision) is not current again as is: a copy.
        masklet.refresh_from_db()
        before = task_masks_latest(task=task, object_number=masklet.object_number)[0]["masks"]
        masklet_revision_create(masklet=masklet, masks=before, author=user, phase=task.phase,
                                model_version=task.model_version, edited_frames=propagated.edited_frames,
                                source="undo")


def session_undo(*, task: AnnotationTask, user, client_timestamp: datetime | None = None) -> dict:
    """Undo the latest interaction that still counts, a prompt or a propagation: the session goes
    back to the state before it (the worker's snapshot of that state, else a replay). The answer
    is the mask of its object on its frame after the undo (a propagation: of the task's first
    object on the frame it started from); ``undone_kind`` says what was undone."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        locked = AnnotationTask.objects.select_related("video", "model_version").get(pk=locked.pk)
        objects = task_objects(task=locked)
        rows = interactions_effective(task=locked, objects=objects)
        if not any(r.kind in PROMPT_KINDS for r in rows):
            raise ConflictError("Nothing to undo: this task has no prompt left.")
        target = rows[-1]
        object_number = target.object_number if target.object_number is not None else objects[0].object_number
        interaction = Interaction.objects.create(
            task=locked, user=user, kind=Interaction.Kind.UNDO, frame_index=target.frame_index,
            object_number=target.object_number, payload={"undoes": target.pk},
            client_timestamp=client_timestamp, phase=locked.phase, model_version_id=locked.model_version_id)
        if target.kind == Interaction.Kind.PROPAGATE:
            _revert_propagation(task=locked, user=user, job_id=target.job)
    # The effective events up to the undo: those before its target, the latest (an undo never counts).
    effective = [r.pk for r in rows[:-1]]
    answer = _mask_answer(task=locked, interaction=interaction, frame_index=target.frame_index,
                          object_number=object_number, effective=effective)
    return {**answer, "undone": target.pk, "undone_kind": target.kind}


# ---- Objects -----------------------------------------------------------------------------------


def session_object_create(*, task: AnnotationTask, user, label_id: int | None = None) -> Masklet:
    """A new object of the task: a draft masklet in its video, belonging to the task, with the
    label ``label_id`` of the video's project (default: the project's default label)."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        if locked.kind == AnnotationTask.Kind.REFINE:
            raise ApplicationError("A refinement task works on its one masklet; it cannot add objects.")
        objects_check_room(count=Masklet.objects.filter(task=locked).count())
        label = label_of_project(project_id=locked.video.project_id, label_id=label_id)
        masklet = masklet_create(video=locked.video, label=label)
        Masklet.objects.filter(pk=masklet.pk).update(task=locked)
        masklet.task = locked
        return masklet


def session_object_label(*, task: AnnotationTask, user, object_number: int, label_id: int | None) -> Masklet:
    """Change the label of an object of the task, while the task may still change it (a draft of
    its own, or a refinement task's masklet being reworked). ``label_id`` None changes nothing."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        masklet, _ = _check_object(locked, object_number)
        if not task_masklets_open(task=locked, user=user).filter(pk=masklet.pk).exists():
            raise ConflictError(f"Object {object_number} is {masklet.status}: its label no longer changes in this "
                                "task.")
        if label_id is None:
            return masklet
        label = label_of_project(project_id=locked.video.project_id, label_id=label_id)
        Masklet.objects.filter(pk=masklet.pk).update(label=label, updated_at=timezone.now())
        masklet.label = label
        return masklet


def session_object_delete(*, task: AnnotationTask, user, object_number: int) -> None:
    """Remove a draft object of the task; its prompts stop counting (telemetry rows stay). The
    removal is recorded first, as a ``remove`` interaction naming the object."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        masklet, _ = _check_object(locked, object_number)
        if locked.masklet_id == masklet.pk:
            raise ConflictError("The masklet of a refinement task cannot be removed.")
        masklet = Masklet.objects.select_for_update().get(pk=masklet.pk)
        if masklet.status != Masklet.Status.DRAFT:
            raise ConflictError(f"Object {object_number} was already submitted; it cannot be removed.")
        Interaction.objects.create(
            task=locked, user=user, kind=Interaction.Kind.REMOVE, object_number=object_number,
            payload={"masklet": masklet.pk}, phase=locked.phase,
            model_version_id=locked.model_version_id)
        Masklet.objects.filter(pk=masklet.pk).update(current_revision=None)
        masklet.revisions.all().delete()
        masklet.delete()


# ---- Masks -------------------------------------------------------------------------------------


def task_masks_latest(*, task: AnnotationTask, object_number: int | None = None, start: int = 0,
                      end: int | None = None, with_scores: bool = False) -> list[dict]:
    """Per object, the latest mask of each frame in [start, end]: the newest prompt answers of the
    task after the masklet's current revision, else that revision's masks (else empty).

    ``with_scores``: each object also gets ``scores`` ({frame: the engine's scores of that mask},
    from the prompt's answer or the revision's signals; frames without any left out), for the
    revision that saves these masks."""
    video = task.video
    end = video.frame_count - 1 if end is None else min(end, video.frame_count - 1)
    if start < 0 or start > end:
        raise ApplicationError(f"The frame range {start}–{end} is not within the video (0–{video.frame_count - 1}).")
    objects = task_objects(task=task)
    if object_number is not None:
        objects = [m for m in objects if m.object_number == object_number]
        if not objects:
            raise ApplicationError(f"Object {object_number} is not an object of this task.")
    # Prompt answers that still count, and the answers of undos (the mask after the undo).
    counted = [r.pk for r in interactions_effective(task=task, objects=objects) if r.kind in PROMPT_KINDS]
    rows = (Interaction.objects.filter(Q(pk__in=counted) | Q(task_id=task.pk, kind=Interaction.Kind.UNDO),
                                       frame_index__gte=start, frame_index__lte=end, payload__has_key="result")
            .order_by("pk"))
    empty = rle_ops.empty(video.height, video.width)
    out = []
    for masklet in objects:
        revision = masklet.current_revision
        masks = {i: (revision.masks.get(str(i), empty) if revision else empty) for i in range(start, end + 1)}
        scores = revision_frame_scores(revision_id=revision.pk) if with_scores and revision else {}
        since = revision.created_at if revision else None
        for row in rows:
            if (row.object_number == masklet.object_number and row.server_timestamp >= masklet.created_at
                    and (since is None or row.server_timestamp > since)):
                masks[row.frame_index] = row.payload["result"]
                scores[row.frame_index] = engine_scores(row.payload.get("scores"))
        entry = {"object_number": masklet.object_number, "masklet_id": masklet.pk,
                 "revision": revision.pk if revision else None,
                 "masks": {str(i): m for i, m in masks.items()}}
        if with_scores:
            entry["scores"] = {i: v for i, v in scores.items() if start <= i <= end and v}
        out.append(entry)
    return out


def session_save(*, task: AnnotationTask, user) -> list[dict]:
    """Save the latest masks of the task's objects as revisions, one per object whose prompt
    answers are newer than its current revision, all in one transaction (e.g. phase 1, where no
    propagation saves them; call before submitting). Edited frames: the object's prompted frames."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        locked = AnnotationTask.objects.select_related("video", "model_version").get(pk=locked.pk)
        objects = task_objects(task=locked)
        prompts = [r for r in interactions_effective(task=locked, objects=objects) if r.kind in PROMPT_KINDS]
        opened = set(task_masklets_open(task=locked, user=user).values_list("pk", flat=True))
        saved = []
        for latest in task_masks_latest(task=locked, with_scores=True):
            masklet = next(m for m in objects if m.pk == latest["masklet_id"])
            since = masklet.current_revision.created_at if masklet.current_revision_id else None
            mine = [r for r in prompts if r.object_number == masklet.object_number]
            if not any(since is None or r.server_timestamp > since for r in mine):
                continue  # nothing new since the current revision
            if masklet.pk not in opened:
                raise ConflictError(f"Object {masklet.object_number} is {masklet.status}: its masks no longer "
                                    "change in this task; nothing was saved.")
            revision = masklet_revision_create(
                masklet=masklet, masks=latest["masks"], author=user, phase=locked.phase,
                model_version=locked.model_version, edited_frames=sorted({r.frame_index for r in mine}),
                source="annotation", expected_current_id=masklet.current_revision_id,
                frame_scores=latest["scores"], prompts=len(mine))
            saved.append({"object_number": masklet.object_number, "masklet_id": masklet.pk, "revision": revision.pk})
    return saved
