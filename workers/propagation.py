"""The propagation task: a Job on the session's worker (thin: claim, propagate, save)."""

from __future__ import annotations

import logging

import torch
from botocore.exceptions import BotoCoreError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.nodenames import worker_direct
from django.db import InterfaceError, OperationalError

from annotation.models import AnnotationTask
from annotation.services.propagation import job_claim_or_resume, propagation_save
from annotation.services.sessions import session_spec, worker_alive
from dataplatform.celery import GPU_QUEUE, GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import (
    job_cancel_requested,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_register_dispatcher,
)
from engine import rle as rle_ops
from workers.engine_adapter import SessionEvent
from workers.sessions import adapter, session_request

logger = logging.getLogger("masklet.workers")


# Worth a retry: out of GPU memory (other sessions are dropped first), storage or database
# connections lost or timed out. Anything else is final: the Job fails with the error.
TRANSIENT_ERRORS = (torch.cuda.OutOfMemoryError, ConnectionError, TimeoutError, BotoCoreError,
                    InterfaceError, OperationalError)
RETRY_SECONDS = (5, 30)


@shared_task(bind=True, name="propagation.run", max_retries=len(RETRY_SECONDS), **GPU_TASK_LIMITS["propagation"])
def run_propagation(self, job_id: int) -> None:
    job = job_claim_or_resume(job_id=job_id, celery_task_id=self.request.id or "")
    if job is None:
        return
    params = job.params
    try:
        engine = adapter()
        request = session_request(session_spec(task_id=params["task"], upto=params["interaction"] - 1,
                                               applied=engine.applied_ids(params["task"])))
        event = SessionEvent(params["interaction"], "propagate", params["frame_index"],
                             direction=params["direction"])
        masks: dict[int, dict[int, dict]] = {}
        frames = engine.propagate(request, event)
        done = 0
        for frame_index, per_object in frames:
            for number, mask in per_object.items():
                masks.setdefault(number, {})[frame_index] = rle_ops.encode(mask)
            done += 1
            job_progress(job=job, done=min(done, job.progress_total))
            if job_cancel_requested(job=job):
                frames.close()
                job_mark_cancelled(job=job)
                return
        propagation_save(job=job, masks=masks)
    except SoftTimeLimitExceeded:
        job_fail(job=job, message="Propagation ran past its time limit; try a shorter range.")
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            job_fail(job=job, message=f"Propagation failed {self.max_retries + 1} times: {error}")
            return
        adapter().release_memory(keep=params["task"])
        # The retry carries this task's id, so it takes the running Job over (claim or resume).
        raise self.retry(exc=error, countdown=RETRY_SECONDS[self.request.retries]) from error
    except Exception as error:
        logger.exception("Propagation job %s failed", job_id)
        job_fail(job=job, message=f"Propagation failed: {error}")


def dispatch_propagation(job_id: int) -> None:
    """To the session's worker while it answers (its features are warm), else any GPU worker."""
    params = Job.objects.filter(pk=job_id).values_list("params", flat=True).first() or {}
    worker = AnnotationTask.objects.filter(pk=params.get("task")).values_list("session_worker", flat=True).first()
    queue = worker_direct(worker) if worker and worker_alive(worker, timeout=0.5) else GPU_QUEUE
    run_propagation.apply_async(args=[job_id], queue=queue)


job_register_dispatcher(kind=Job.Kind.PROPAGATION, dispatch=dispatch_propagation)
