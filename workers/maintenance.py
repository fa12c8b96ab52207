"""Periodic maintenance tasks."""

from __future__ import annotations

from celery import shared_task

from dataplatform.replies import DirectReplyTask
from dataplatform.services.jobs import jobs_reap_stale


@shared_task(name="jobs.reap_stale")
def reap_stale_jobs() -> dict[str, list[int]]:
    return jobs_reap_stale()


@shared_task(name="workers.ping", base=DirectReplyTask)
def ping(value: str) -> str:
    """A round trip through the broker and a worker: used by health checks and tests (through
    Celery's result), and by the click bench as the floor of a prompt's round trip (a direct reply)."""
    return f"pong:{value}"
