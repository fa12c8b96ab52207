"""The verifier's tasks (thin): training a version (a Job), and the periodic scoring of the
verification queue with the automatic decisions the policy allows (``verifier-decide`` in
``dataplatform/celery.py``). CPU work, routed by the ``jobs.`` prefix."""

from __future__ import annotations

from celery import shared_task

from annotation.services.verifier_decisions import verifier_decide_queue
from annotation.services.verifiers import verifier_training_run
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher


@shared_task(bind=True, name="jobs.train_verifier")
def train_verifier(self, job_id: int) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    verifier_training_run(job=job, celery_task_id=self.request.id or "")


@shared_task(name="jobs.verifier_decide")
def verifier_decide() -> dict:
    """Score the queue and make the automatic decisions the policy allows; returns the counts."""
    return verifier_decide_queue()


job_register_dispatcher(kind=Job.Kind.VERIFIER_TRAINING, dispatch=lambda job_id: train_verifier.delay(job_id))
