"""Job services: the claim that makes tasks idempotent, progress, terminal states, cancel, the reaper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dataplatform.models import Job
from dataplatform.services import jobs as job_services

pytestmark = pytest.mark.django_db


def test_a_job_is_claimed_once(job_factory):
    job = job_factory()
    claimed = job_services.job_claim(job_id=job.pk, celery_task_id="t-1")
    assert claimed.status == Job.Status.RUNNING and claimed.attempts == 1 and claimed.started_at
    assert job_services.job_claim(job_id=job.pk, celery_task_id="t-2") is None, "a redelivery must not run it again"
    assert job_services.job_claim(job_id=10**9) is None, "a job that is gone is ignored"
    assert Job.objects.get(pk=job.pk).celery_task_id == "t-1"


def test_progress_then_success_fills_the_bar(job_factory):
    job = job_services.job_claim(job_id=job_factory().pk)
    job_services.job_progress(job=job, done=3, total=10)
    assert Job.objects.values_list("progress_done", "progress_total").get(pk=job.pk) == (3, 10)
    job_services.job_succeed(job=job, result={"frames": 10})
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.result, job.is_terminal) == ("succeeded", 10, {"frames": 10}, True)
    assert job.finished_at is not None


def test_a_failed_job_keeps_its_message_and_a_finished_one_stays_finished(job_factory):
    job = job_services.job_claim(job_id=job_factory().pk)
    job_services.job_fail(job=job, message="The video file is truncated.")
    job_services.job_succeed(job=job)  # too late: nothing changes
    job.refresh_from_db()
    assert (job.status, job.message) == ("failed", "The video file is truncated.")


def test_cancel_stops_a_queued_job_at_once_and_asks_a_running_one(job_factory):
    queued = job_services.job_cancel(job=job_factory())
    assert queued.status == Job.Status.CANCELLED and queued.finished_at
    running = job_services.job_claim(job_id=job_factory().pk)
    running = job_services.job_cancel(job=running)
    assert running.status == Job.Status.RUNNING and running.cancel_requested
    assert job_services.job_cancel_requested(job=running)
    job_services.job_mark_cancelled(job=running)
    running.refresh_from_db()
    assert running.status == Job.Status.CANCELLED


def test_the_reaper_requeues_stale_jobs_and_gives_up_after_the_attempts(job_factory, settings,
                                                                        django_capture_on_commit_callbacks):
    settings.JOB_STALE_SECONDS = 60
    settings.JOB_MAX_ATTEMPTS = 2
    old = timezone.now() - timedelta(minutes=5)
    stale = job_factory(status=Job.Status.RUNNING, heartbeat_at=old, started_at=old, attempts=1)
    exhausted = job_factory(status=Job.Status.RUNNING, heartbeat_at=old, started_at=old, attempts=2)
    alive = job_factory(status=Job.Status.RUNNING, heartbeat_at=timezone.now(), started_at=old, attempts=1)
    sent: list[int] = []
    job_services.job_register_dispatcher(kind="test-kind", dispatch=sent.append)
    Job.objects.filter(pk__in=[stale.pk, exhausted.pk, alive.pk]).update(kind="test-kind")
    with django_capture_on_commit_callbacks(execute=True):
        result = job_services.jobs_reap_stale()
    assert result["requeued"] == [stale.pk] and result["failed"] == [exhausted.pk]
    assert sent == [stale.pk], "a re-queued job is sent to its task again"
    assert Job.objects.get(pk=stale.pk).status == Job.Status.QUEUED
    exhausted.refresh_from_db()
    assert exhausted.status == Job.Status.FAILED and "stopped responding 2 times" in exhausted.message
    assert Job.objects.get(pk=alive.pk).status == Job.Status.RUNNING


def test_a_broker_outage_leaves_the_job_queued_and_the_reaper_sends_it_again(job_factory, settings,
                                                                            django_capture_on_commit_callbacks):
    settings.JOB_STALE_SECONDS = 60
    attempts: list[int] = []

    def broker_down(job_id: int) -> None:
        attempts.append(job_id)
        raise ConnectionError("broker unreachable")

    job_services.job_register_dispatcher(kind="flaky-kind", dispatch=broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_services.job_create(kind="flaky-kind")  # must not raise into the request
    assert attempts == [job.pk] and Job.objects.get(pk=job.pk).status == Job.Status.QUEUED

    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sent: list[int] = []
    job_services.job_register_dispatcher(kind="flaky-kind", dispatch=sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        result = job_services.jobs_reap_stale()
    assert result["resent"] == [job.pk] and sent == [job.pk]
