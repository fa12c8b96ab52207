"""The propagation task: a Job on the session's worker (thin: claim, propagate, save)."""

from __future__ import annotations

from celery import shared_task
from celery.utils.nodenames import worker_direct

from annotation.models import AnnotationTask
from annotation.services.propagation import job_claim_or_resume, propagation_save
from annotation.services.sessions import session_spec, worker_alive
from dataplatform.celery import GPU_QUEUE, GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher
from engine import rle as rle_ops
from workers.engine_adapter import SessionEvent
from workers.gpu_jobs import RETRY_SECONDS, frames_into_job, gpu_job_failures
from workers.sessions import adapter, session_request


@shared_task(bind=True, name="propagation.run", max_retries=len(RETRY_SECONDS), **GPU_TASK_LIMITS["propagation"])
def run_propagation(self, job_id: int) -> None:
    job = job_claim_or_resume(job_id=job_id, celery_task_id=self.request.id or "")
    if job is None:
        return
    params = job.params
    failures = gpu_job_failures(self, job=job, what="Propagation",
                                time_limit_message="Propagation ran past its time limit; try a shorter range.",
                                release=lambda: adapter().release_memory(keep=params["task"]))
    with failures:
        engine = adapter()
        request = session_request(session_spec(task_id=params["task"], upto=params["interaction"] - 1,
                                               applied=engine.applied_ids(params["task"])))
        event = SessionEvent(params["interaction"], "propagate", params["frame_index"],
                             direction=params["direction"])
        masks: dict[int, dict[int, dict]] = {}
        scores: dict[int, dict[int, dict]] = {}  # object → frame → the engine's scores of its mask

        def keep(frame_index: int, per_object: dict) -> None:
            on_frame = engine.scores_on(params["task"], frame_index)  # of the frame just propagated
            for number, mask in per_object.items():
                masks.setdefault(number, {})[frame_index] = rle_ops.encode(mask)
                if number in on_frame:
                    scores.setdefault(number, {})[frame_index] = on_frame[number]

        if frames_into_job(job=job, frames=engine.propagate(request, event), on_frame=keep):
            propagation_save(job=job, masks=masks, scores=scores)


def dispatch_propagation(job_id: int) -> None:
    """To the session's worker while it answers (its features are warm), else any GPU worker."""
    params = Job.objects.filter(pk=job_id).values_list("params", flat=True).first() or {}
    worker = AnnotationTask.objects.filter(pk=params.get("task")).values_list("session_worker", flat=True).first()
    queue = worker_direct(worker) if worker and worker_alive(worker, timeout=0.5) else GPU_QUEUE
    run_propagation.apply_async(args=[job_id], queue=queue)


job_register_dispatcher(kind=Job.Kind.PROPAGATION, dispatch=dispatch_propagation)
