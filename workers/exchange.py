"""Export and import tasks: thin entry points (a Job id → the service), on the cpu queue by name."""

from __future__ import annotations

from celery import shared_task

from annotation.services.exports import export_run
from annotation.services.imports import import_run
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher


@shared_task(name="export.run", bind=True)
def run_export(self, job_id: int) -> None:
    export_run(job_id=job_id, celery_task_id=self.request.id or "")


@shared_task(name="import.run", bind=True)
def run_import(self, job_id: int) -> None:
    import_run(job_id=job_id, celery_task_id=self.request.id or "")


job_register_dispatcher(kind=Job.Kind.EXPORT, dispatch=lambda job_id: run_export.delay(job_id))
job_register_dispatcher(kind=Job.Kind.IMPORT, dispatch=lambda job_id: run_import.delay(job_id))
