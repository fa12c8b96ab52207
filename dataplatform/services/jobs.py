"""Job services: the life of any long work, keyed on a Job row so that tasks are idempotent.

A task claims its Job with a conditional update (queued → running); a second delivery of the same
message finds it running or finished and returns quietly. Progress and heartbeats are single-row
updates, so the UI and CLI can show them while the work runs. The reaper re-queues running jobs
whose heartbeat went stale (their worker died) and fails them after JOB_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dataplatform.models import Job

logger = logging.getLogger("masklet.jobs")

# kind → function(job_id) that puts the job's task on its queue; filled in by workers at import.
_DISPATCHERS: dict[str, Callable[[int], None]] = {}


# kind → function(job) that cleans up after a job that ended without its task running to the end
# (cancelled while queued, given up by the reaper); filled in by workers at import.
_ABANDON_HANDLERS: dict[str, Callable[[Job], None]] = {}


def job_register_dispatcher(*, kind: str, dispatch: Callable[[int], None],
                            on_abandoned: Callable[[Job], None] | None = None) -> None:
    """Register how a kind's task is queued, and what cleans up after a job of that kind whose
    task will never finish it (a queued ingest cancelled: its video and upload must not stay)."""
    _DISPATCHERS[kind] = dispatch
    if on_abandoned is not None:
        _ABANDON_HANDLERS[kind] = on_abandoned


def job_abandoned(*, job_id: int) -> None:
    """Run the cleanup of a job that ended (cancelled or failed) without its task: after commit."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    import workers  # noqa: F401 - importing workers registers the handlers

    handler = _ABANDON_HANDLERS.get(job.kind)
    if handler is None:
        return
    try:
        handler(job)
    except Exception:  # the job has ended either way; the cleanup's failure is logged, not raised
        logger.exception("Could not clean up after %s job %s", job.kind, job.pk)


def job_create(*, kind: str, project=None, video=None, params: dict | None = None, created_by=None,
               progress_total: int = 0, dispatch: bool = True) -> Job:
    """Create a queued Job; its task is queued after the surrounding transaction commits."""
    job = Job.objects.create(kind=kind, project=project, video=video, params=params or {},
                             created_by=created_by, progress_total=progress_total)
    if dispatch:
        transaction.on_commit(lambda: job_dispatch(job_id=job.pk))
    return job


def job_dispatch(*, job_id: int) -> None:
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    if kind is None:
        return
    import workers  # noqa: F401 - importing workers registers the dispatchers

    dispatch = _DISPATCHERS.get(kind)
    if dispatch is None:
        raise RuntimeError(f"No task is registered for {kind} jobs")
    try:
        dispatch(job_id)
    except Exception:
        # The rows are committed and the job stays queued: the reaper sends it again later, so a
        # broker outage delays the work instead of failing the request that created it.
        logger.exception("Could not queue %s job %s; the reaper will retry", kind, job_id)


def job_claim(*, job_id: int, celery_task_id: str = "") -> Job | None:
    """Claim a queued job for this worker: queued → running. None if gone, running or finished."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1,
        celery_task_id=celery_task_id,
    )
    if not claimed:
        return None
    return Job.objects.get(pk=job_id)


def job_progress(*, job: Job, done: int, total: int | None = None) -> None:
    """Record progress (and a heartbeat) on a running job."""
    fields = {"progress_done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["progress_total"] = total
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields)
    job.progress_done = done
    if total is not None:
        job.progress_total = total


def job_cancel_requested(*, job: Job) -> bool:
    return Job.objects.filter(pk=job.pk, cancel_requested=True).exists()


def job_succeed(*, job: Job, result: dict | None = None, message: str = "") -> None:
    """Mark a running job succeeded. Call inside the transaction that saves its result."""
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.SUCCEEDED, result=result or {}, message=message, finished_at=timezone.now(),
        progress_done=F("progress_total"),
    )


def job_fail(*, job: Job, message: str) -> None:
    """Mark a job failed with a message a person can act on."""
    Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE).update(
        status=Job.Status.FAILED, message=message or "The job failed.", finished_at=timezone.now(),
    )


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued job at once; ask a running one to stop (its task checks between steps)."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.CANCELLED, finished_at=now, cancel_requested=True, message="Cancelled."):
        transaction.on_commit(lambda: job_abandoned(job_id=job.pk))
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_mark_cancelled(*, job: Job) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message="Cancelled.")


def jobs_reap_stale(*, now=None) -> dict[str, list[int]]:
    """Re-queue running jobs whose heartbeat is older than JOB_STALE_SECONDS; fail those out of tries."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    requeued: list[int] = []
    failed: list[int] = []
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", "attempts")
    for job_id, attempts in list(stale):
        if attempts >= settings.JOB_MAX_ATTEMPTS:
            n = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
                status=Job.Status.FAILED, finished_at=now,
                message=f"The worker running this job stopped responding {attempts} times; "
                        "it was given up. Check the worker logs, then start it again.")
            if n:
                failed.append(job_id)
                transaction.on_commit(lambda job_id=job_id: job_abandoned(job_id=job_id))
            continue
        n = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
            status=Job.Status.QUEUED, started_at=None, heartbeat_at=None)
        if n:
            requeued.append(job_id)
            transaction.on_commit(lambda job_id=job_id: job_dispatch(job_id=job_id))
    # Queued jobs whose message may never have reached the broker (it was down at creation):
    # sending again is harmless, since a task claims its job before doing anything.
    resent = list(Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=cutoff, started_at__isnull=True)
                  .values_list("pk", flat=True))
    for job_id in resent:
        transaction.on_commit(lambda job_id=job_id: job_dispatch(job_id=job_id))
    if requeued or failed or resent:
        logger.warning("Reaped stale jobs: re-queued %s, failed %s, re-sent %s", requeued, failed, resent)
    return {"requeued": requeued, "failed": failed, "resent": resent}
