"""The checkpoint validation task: thin; the service claims the Job, checks the file, marks the version."""

from __future__ import annotations

from celery import shared_task

from annotation.services.checkpoints import model_version_validate, model_version_validation_abandoned
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher


@shared_task(bind=True, name="models.validate", **GPU_TASK_LIMITS.get("model_validation", {}))
def validate_model_version(self, job_id: int) -> None:
    model_version_validate(job_id=job_id, celery_task_id=self.request.id or "")


job_register_dispatcher(kind=Job.Kind.MODEL_VALIDATION, dispatch=lambda job_id: validate_model_version.delay(job_id),
                        on_abandoned=model_version_validation_abandoned)
