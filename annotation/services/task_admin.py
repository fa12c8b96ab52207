"""Admins steering the task queue: priority, keeping a queued task for one annotator, taking a
lease back (release), and reopening a submitted or cancelled task.

A queued task with an assignee is kept for that person (``task_next_for`` hands it only to them);
assigning is that reservation. A leased task is someone's work in progress: it is released first.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.models import AnnotationTask
from annotation.services.tasks import tasks_requeue
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.roles import ANNOTATOR, has_role

UNSET: Any = object()
Status = AnnotationTask.Status


def _annotator(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise ApplicationError(f"User {user_id} does not exist.", {"fields": {"assignee": ["No such user."]}})
    if not user.is_active or not has_role(user, ANNOTATOR):
        raise ApplicationError(f"{user.username} cannot annotate: give them the annotator role (and an active "
                               "account) first.", {"fields": {"assignee": ["Not an active annotator."]}})
    return user


def task_admin_update(*, task: AnnotationTask, priority: int = UNSET, assignee_id: int | None = UNSET
                      ) -> AnnotationTask:
    """Change a task's priority and/or whom a queued task is kept for (``None``: anyone)."""
    with transaction.atomic():
        locked = AnnotationTask.objects.select_for_update().get(pk=task.pk)
        fields = []
        if priority is not UNSET:
            if locked.status in (Status.SUBMITTED, Status.CANCELLED):
                raise ConflictError(f"Task {locked.pk} is {locked.status}: reopen it before changing its priority.")
            locked.priority = priority
            fields.append("priority")
        if assignee_id is not UNSET:
            if locked.status != Status.QUEUED:
                verb = "release it" if locked.status == Status.LEASED else "reopen it"
                raise ConflictError(f"Task {locked.pk} is {locked.status}: only a queued task can be assigned; "
                                    f"{verb} first.")
            locked.assignee = None if assignee_id is None else _annotator(assignee_id)
            fields.append("assignee")
        if fields:
            locked.save(update_fields=fields)
    return locked


def task_admin_release(*, task: AnnotationTask) -> AnnotationTask:
    """Take a lease back: the task returns to the queue (the holder's unsaved clicks stay saved as
    interactions; their draft masklets stay in the video)."""
    with transaction.atomic():
        locked = AnnotationTask.objects.select_for_update().get(pk=task.pk)
        if locked.status != Status.LEASED:
            raise ConflictError(f"Task {locked.pk} is {locked.status}, not leased: there is no lease to release.")
        tasks_requeue(AnnotationTask.objects.filter(pk=locked.pk))
    locked.refresh_from_db()
    return locked


def task_admin_reopen(*, task: AnnotationTask) -> AnnotationTask:
    """Put a submitted or cancelled task back in the queue, kept for whoever last held it."""
    with transaction.atomic():
        locked = AnnotationTask.objects.select_for_update().get(pk=task.pk)
        if locked.status not in (Status.SUBMITTED, Status.CANCELLED):
            raise ConflictError(f"Task {locked.pk} is {locked.status}: only a submitted or cancelled task can be "
                                "reopened.")
        locked.status, locked.submitted_at = Status.QUEUED, None
        locked.lease_expires_at = locked.heartbeat_at = None
        locked.save(update_fields=["status", "submitted_at", "lease_expires_at", "heartbeat_at"])
    return locked
