"""Annotation task reads."""

from __future__ import annotations

from django.db.models import QuerySet

from annotation.models import AnnotationTask
from dataplatform.errors import NotFoundError


def task_list(*, status: str | None = None, phase: int | None = None, project_id: int | None = None,
              video_id: int | None = None, assignee_id: int | None = None,
              kind: str | None = None) -> QuerySet[AnnotationTask]:
    """Tasks, highest priority and oldest first, optionally filtered."""
    tasks = AnnotationTask.objects.select_related("video", "assignee")
    filters = {"status": status, "phase": phase, "video__project_id": project_id, "video_id": video_id,
               "assignee_id": assignee_id, "kind": kind}
    return tasks.filter(**{key: value for key, value in filters.items() if value is not None})


def task_get(*, task_id: int) -> AnnotationTask:
    task = task_list().filter(pk=task_id).first()
    if task is None:
        raise NotFoundError(f"Task {task_id} does not exist.")
    return task
