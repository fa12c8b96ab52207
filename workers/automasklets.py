"""The automatic masklets task: a GPU Job per video (thin: claim, generate and propagate, save)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from annotation.services.automasklets import GENERATOR_PARAMS, automasklets_model_version, automasklets_save
from annotation.services.propagation import job_claim_or_resume
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import (
    job_cancel_requested,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_register_dispatcher,
)
from engine import rle as rle_ops
from workers.engine_adapter import AutoMaskletsRequest, VideoSpec
from workers.propagation import RETRY_SECONDS, TRANSIENT_ERRORS
from workers.sessions import adapter, model_spec

logger = logging.getLogger("masklet.workers")


@shared_task(bind=True, name="automasklets.run", max_retries=len(RETRY_SECONDS), **GPU_TASK_LIMITS["automasklets"])
def run_automasklets(self, job_id: int) -> None:
    job = job_claim_or_resume(job_id=job_id, celery_task_id=self.request.id or "")
    if job is None:
        return
    try:
        video = job.video
        version = automasklets_model_version(job=job)
        run = adapter().auto_masklets(AutoMaskletsRequest(
            model=model_spec(version_id=version.pk, config_name=version.config_name,
                             checkpoint_key=version.checkpoint_key),
            video=VideoSpec(video.pk, video.frame_count, video.height, video.width),
            generator={name: job.params[name] for name in GENERATOR_PARAMS},
            max_masklets=job.params["max_masklets"]))
        candidates = [{"masks": {}, "stability_scores": [None] * video.frame_count} for _ in run.candidates]
        frames = run.frames()
        done = 0
        for frame_index, per_object in frames:
            for number, (mask, stability) in per_object.items():
                candidates[number - 1]["masks"][str(frame_index)] = rle_ops.encode(mask)
                candidates[number - 1]["stability_scores"][frame_index] = round(stability, 4)
            done += 1
            job_progress(job=job, done=min(done, job.progress_total))
            if job_cancel_requested(job=job):
                frames.close()
                job_mark_cancelled(job=job)
                return
        automasklets_save(job=job, masklets=candidates)
    except SoftTimeLimitExceeded:
        job_fail(job=job, message="Automatic masklets ran past the time limit; try a shorter video or fewer points.")
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            job_fail(job=job, message=f"Automatic masklets failed {self.max_retries + 1} times: {error}")
            return
        adapter().release_memory()
        raise self.retry(exc=error, countdown=RETRY_SECONDS[self.request.retries]) from error
    except Exception as error:
        logger.exception("Automatic masklets job %s failed", job_id)
        job_fail(job=job, message=f"Automatic masklets failed: {error}")


job_register_dispatcher(kind=Job.Kind.AUTO_MASKLETS, dispatch=lambda job_id: run_automasklets.delay(job_id))
