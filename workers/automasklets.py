"""The automatic masklets task: a GPU Job per video (thin: claim, generate and propagate, save)."""

from __future__ import annotations

from celery import shared_task

from annotation.services.automasklets import GENERATOR_PARAMS, automasklets_model_version, automasklets_save
from annotation.services.propagation import job_claim_or_resume
from dataplatform.celery import GPU_TASK_LIMITS
from dataplatform.models import Job
from dataplatform.services.jobs import job_register_dispatcher
from engine import rle as rle_ops
from workers.engine_adapter import AutoMaskletsRequest, VideoSpec
from workers.gpu_jobs import RETRY_SECONDS, frames_into_job, gpu_job_failures
from workers.sessions import adapter, model_spec


@shared_task(bind=True, name="automasklets.run", max_retries=len(RETRY_SECONDS), **GPU_TASK_LIMITS["automasklets"])
def run_automasklets(self, job_id: int) -> None:
    job = job_claim_or_resume(job_id=job_id, celery_task_id=self.request.id or "")
    if job is None:
        return
    failures = gpu_job_failures(
        self, job=job, what="Automatic masklets",
        time_limit_message="Automatic masklets ran past the time limit; try a shorter video or fewer points.",
        release=lambda: adapter().release_memory())
    with failures:
        video = job.video
        version = automasklets_model_version(job=job)
        run = adapter().auto_masklets(AutoMaskletsRequest(
            model=model_spec(version_id=version.pk, config_name=version.config_name,
                             checkpoint_key=version.checkpoint_key),
            video=VideoSpec(video.pk, video.frame_count, video.height, video.width),
            generator={name: job.params[name] for name in GENERATOR_PARAMS},
            max_masklets=job.params["max_masklets"]))
        candidates = [{"masks": {}, "stability_scores": [None] * video.frame_count} for _ in run.candidates]

        def keep(frame_index: int, per_object: dict) -> None:
            for number, (mask, stability) in per_object.items():
                candidates[number - 1]["masks"][str(frame_index)] = rle_ops.encode(mask)
                candidates[number - 1]["stability_scores"][frame_index] = round(stability, 4)

        if frames_into_job(job=job, frames=run.frames(), on_frame=keep):
            automasklets_save(job=job, masklets=candidates, filter_counts=run.filter_counts)


job_register_dispatcher(kind=Job.Kind.AUTO_MASKLETS, dispatch=lambda job_id: run_automasklets.delay(job_id))
