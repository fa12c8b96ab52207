"""Annotation task reads, and the task lock every change to a task's work starts with."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError

from annotation.models import AnnotationTask, Interaction
from dataplatform.errors import ConflictError, ForbiddenError, NotFoundError
from dataplatform.queries import CompiledValues
from dataplatform.roles import is_admin


def task_list(*, status: str | None = None, phase: int | None = None, project_id: int | None = None,
              video_id: int | None = None, assignee_id: int | None = None,
              kind: str | None = None) -> QuerySet[AnnotationTask]:
    """Tasks, highest priority and oldest first, optionally filtered."""
    tasks = AnnotationTask.objects.select_related("video", "assignee", "masklet__label")
    filters = {"status": status, "phase": phase, "video__project_id": project_id, "video_id": video_id,
               "assignee_id": assignee_id, "kind": kind}
    return tasks.filter(**{key: value for key, value in filters.items() if value is not None})


def task_get(*, task_id: int) -> AnnotationTask:
    task = task_list().filter(pk=task_id).first()
    if task is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    return task


def task_get_readable(*, task_id: int, user) -> AnnotationTask:
    """The task, for the person it is leased to (or kept for) and for admins; anyone else gets 403.
    Its work (the task's masks, prompt answers included) is read through this check."""
    task = task_get(task_id=task_id)
    if task.assignee_id != user.pk and not is_admin(user):
        raise ForbiddenError(f"Task {task_id} is not yours.")
    return task


# ---- The task lock -----------------------------------------------------------------------------


def _locked_task_query(*, task_id: int):
    return AnnotationTask.objects.select_for_update().filter(pk=task_id).values_list(*_TASK_FIELDS)


_TASK_FIELDS = [field.attname for field in AnnotationTask._meta.concrete_fields]
# Every session call (each click) starts here: compiled once, as building it took longer than running it.
_LOCKED_TASK = CompiledValues(_locked_task_query, task_id=int)


def task_lock(*, task_id: int) -> AnnotationTask:
    """``AnnotationTask.objects.select_for_update().get(pk=task_id)``, without building the query.
    Call inside a transaction."""
    if connection.get_autocommit():  # the ORM's own check, made when it compiles (here: once)
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    rows = _LOCKED_TASK.rows(task_id=task_id)
    if not rows:
        raise AnnotationTask.DoesNotExist(f"AnnotationTask {task_id} does not exist.")
    return AnnotationTask.from_db(connection.alias, _TASK_FIELDS, rows[0])


def task_lock_held(*, task: AnnotationTask, user) -> AnnotationTask:
    """The task, locked, checked to be leased to ``user``: the one check before any change to a
    task's work (prompts, objects, saves, propagation, submit). Call inside a transaction.

    Submitted or cancelled: 409. Back in the queue: 409. Leased to someone else: 409 when ``user``
    worked on it before (their lease expired and it went on), else 403. An expired lease nobody
    took yet is still the user's: the heartbeat or submit revives it.
    """
    locked = task_lock(task_id=task.pk)
    if locked.status == AnnotationTask.Status.SUBMITTED:
        raise ConflictError(f"Task {locked.pk} was already submitted.")
    if locked.status == AnnotationTask.Status.CANCELLED:
        raise ConflictError(f"Task {locked.pk} was cancelled.")
    if locked.status == AnnotationTask.Status.QUEUED:
        raise ConflictError(f"Task {locked.pk} is not leased to anyone: its lease expired or was released. "
                            "Take a task with 'next task'.")
    if locked.assignee_id != user.pk:
        if Interaction.objects.filter(task=locked, user=user).exists():
            raise ConflictError(f"Your lease on task {locked.pk} expired and it went to someone else; "
                                "take a task with 'next task'.")
        raise ForbiddenError(f"Task {locked.pk} is not leased to you.")
    return locked
