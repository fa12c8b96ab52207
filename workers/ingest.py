"""The ingest task: a thin entry point keyed on its Job (see dataplatform.services.ingest)."""

from __future__ import annotations

from celery import shared_task

from dataplatform.celery import CPU_QUEUE
from dataplatform.models import Job
from dataplatform.services.ingest import (
    TransientStorageError,
    video_ingest,
    video_ingest_abandoned,
    video_ingest_give_up,
)
from dataplatform.services.jobs import job_register_dispatcher

RETRY_SECONDS = (5, 30, 120)  # after the 1st, 2nd, 3rd transient storage failure


@shared_task(bind=True, name="ingest.video", queue=CPU_QUEUE, max_retries=len(RETRY_SECONDS))
def ingest_video(self, job_id: int) -> None:
    """Ingest the Job's video. Retries only transient storage failures; everything else is final."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        video_ingest(job=job, celery_task_id=self.request.id or "")
    except TransientStorageError as error:
        if self.request.retries >= self.max_retries:
            video_ingest_give_up(job=job, message=error.message)
            return
        raise self.retry(exc=error, countdown=RETRY_SECONDS[self.request.retries]) from error


job_register_dispatcher(kind=Job.Kind.INGEST, dispatch=lambda job_id: ingest_video.delay(job_id),
                        on_abandoned=video_ingest_abandoned)
