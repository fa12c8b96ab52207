"""Periodic queue maintenance: annotation task leases that expired go back to the queue.

``task_next_for`` already hands expired leases out; this task makes the queue's state true for
everyone else too (admin lists, metrics, the UI). Routed to the cpu queue by its ``jobs.`` prefix;
scheduled by Celery beat (``expire-task-leases`` in ``dataplatform/celery.py``).
"""

from __future__ import annotations

from celery import shared_task

from annotation.services.tasks import tasks_expire_leases


@shared_task(name="jobs.expire_task_leases")
def expire_task_leases() -> list[int]:
    """The ids of the tasks returned to the queue."""
    return tasks_expire_leases()
