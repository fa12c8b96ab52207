"""The evaluation task: thin; the service claims the Job, scores the version, records its J&F."""

from __future__ import annotations

from celery import shared_task

from annotation.services.evaluations import model_version_evaluation_run
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher


@shared_task(bind=True, name="models.evaluate", **GPU_TASK_LIMITS.get("model_evaluation", {}))
def evaluate_model_version(self, job_id: int) -> None:
    model_version_evaluation_run(job_id=job_id, celery_task_id=self.request.id or "")


job_register_dispatcher(kind=Job.Kind.MODEL_EVALUATION, dispatch=lambda job_id: evaluate_model_version.delay(job_id))
