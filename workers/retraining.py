"""The retraining task: a GPU Job per round (thin: the service claims, trains, evaluates, saves)."""

from __future__ import annotations

import logging

from celery import shared_task

from annotation.services.retraining import retraining_round_run
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher

logger = logging.getLogger("masklet.workers")


@shared_task(bind=True, name="retraining.run", **GPU_TASK_LIMITS.get("retraining", {}))
def run_retraining(self, job_id: int) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    retraining_round_run(job=job, celery_task_id=self.request.id or "")


job_register_dispatcher(kind=Job.Kind.RETRAINING, dispatch=lambda job_id: run_retraining.delay(job_id))
