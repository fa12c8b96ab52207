"""Propagation: a Job that tracks the task's objects through the video on the session's worker.

``propagation_start`` records a ``propagate`` Interaction and a Job; the worker claims the Job,
brings the session to the state just before that interaction, propagates frame by frame (progress,
cancel checked between frames), and ``propagation_save`` writes one new MaskletRevision per object
in ONE transaction at the end: no partial revision is ever visible. A redelivered message (its
worker was killed) takes the Job over and runs again from the start; it saves once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import AnnotationTask, Interaction
from annotation.selectors.masklets import task_masklets_open
from annotation.selectors.tasks import task_lock_held
from annotation.services.masklets import masklet_revision_create
from annotation.services.phases import phase_check_tool
from annotation.services.sessions import PROMPT_KINDS, interactions_effective, task_masks_latest, task_objects
from annotation.services.signals import engine_scores
from dataplatform.errors import ApplicationError
from dataplatform.models import Job
from dataplatform.services.jobs import job_claim, job_create, job_fail, job_succeed
from engine import rle as rle_ops

DIRECTIONS = ("forward", "backward", "both")


def propagation_start(*, task: AnnotationTask, user, frame_index: int, direction: str = "forward",
                      client_timestamp: datetime | None = None) -> Job:
    """Queue a propagation of every prompted object of the task from ``frame_index``."""
    if direction not in DIRECTIONS:
        raise ApplicationError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        locked = AnnotationTask.objects.select_related("video__project").get(pk=locked.pk)
        phase_check_tool(phase=locked.phase, tool="propagate")
        video = locked.video
        if not 0 <= frame_index < video.frame_count:
            raise ApplicationError(f"Frame {frame_index} is outside the video (0–{video.frame_count - 1}).",
                                   {"field": "frame_index"})
        if not any(r.kind in PROMPT_KINDS for r in interactions_effective(task=locked)):
            raise ApplicationError("Nothing to propagate yet: prompt an object on a frame first.")
        forward = video.frame_count - frame_index if direction != "backward" else 0
        backward = frame_index + 1 if direction != "forward" else 0
        job = job_create(kind=Job.Kind.PROPAGATION, project=video.project, video=video, created_by=user,
                         progress_total=forward + backward)
        interaction = Interaction.objects.create(
            task=locked, user=user, kind=Interaction.Kind.PROPAGATE, frame_index=frame_index,
            payload={"frame_index": frame_index, "direction": direction, "job": job.pk},
            client_timestamp=client_timestamp, phase=locked.phase, model_version_id=locked.model_version_id)
        job.params = {"task": locked.pk, "interaction": interaction.pk, "frame_index": frame_index,
                      "direction": direction}
        job.save(update_fields=["params"])
    return job


def job_claim_or_resume(*, job_id: int, celery_task_id: str) -> Job | None:
    """Claim a queued job, or take over a running one whose message came back (same Celery task
    id: its worker died before acknowledging it). None when there is nothing to do."""
    claimed = job_claim(job_id=job_id, celery_task_id=celery_task_id)
    if claimed is not None or not celery_task_id:
        return claimed
    now = timezone.now()
    resumed = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, celery_task_id=celery_task_id,
                                 attempts__lt=getattr(settings, "JOB_MAX_ATTEMPTS", 3)).update(
        attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, progress_done=0)
    return Job.objects.get(pk=job_id) if resumed else None


def propagation_save(*, job: Job, masks: dict[int, dict[int, dict]],
                     scores: dict[int, dict[int, dict]] | None = None) -> dict:
    """One new revision per propagated object, all in one transaction with the Job's success.

    ``masks``: object number → frame → RLE; ``scores`` (optional): object number → frame → the
    engine's scores of that mask (predicted IoU, object-score logit), the revision's signals. Frames the propagation did not reach keep the
    object's latest masks. Edited frames: the frames that received prompts of the object. The
    result names, per object, the propagated frames where its mask is empty (``empty_frames``:
    the object vanished there), so that the annotator is told rather than shown "done".
    The masks land only while the job's author still holds the task (``task_lock_held``) and on
    masklets still open to it (``task_masklets_open``); else the Job fails and nothing is saved.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Job.Status.RUNNING:
            return locked.result
        try:
            task_lock_held(task=AnnotationTask(pk=locked.params["task"]), user=locked.created_by)
        except ApplicationError as refusal:
            job_fail(job=locked, message=f"The propagation's masks were not saved: {refusal.message}")
            return {}
        task = AnnotationTask.objects.select_related("video", "model_version").get(pk=locked.params["task"])
        prompts = [r for r in interactions_effective(task=task, upto=locked.params["interaction"])
                   if r.kind in PROMPT_KINDS]
        objects = {m.object_number: m for m in task_objects(task=task)}
        kept = {number: frames for number, frames in sorted(masks.items()) if number in objects}  # not removed
        opened = set(task_masklets_open(task=task, user=locked.created_by).values_list("pk", flat=True))
        closed = [number for number in kept if objects[number].pk not in opened]
        if closed:
            job_fail(job=locked, message=f"The propagation's masks were not saved: object {closed[0]} is "
                                         f"{objects[closed[0]].status} and no longer changes in this task.")
            return {}
        revisions, empty_frames = {}, {}
        for number, frames in kept.items():
            latest = task_masks_latest(task=task, object_number=number, with_scores=True)[0]
            merged = {**latest["masks"], **{str(i): m for i, m in frames.items()}}
            propagated = (scores or {}).get(number, {})
            frame_scores = {**latest["scores"], **{int(i): engine_scores(propagated.get(i)) for i in frames}}
            edited = sorted({r.frame_index for r in prompts if r.object_number == number})
            revision = masklet_revision_create(
                masklet=objects[number], masks=merged, author=locked.created_by, phase=task.phase,
                model_version=task.model_version, edited_frames=edited, source="propagation",
                prompts=sum(1 for r in prompts if r.object_number == number),
                frame_scores={i: v for i, v in frame_scores.items() if v})
            revisions[str(number)] = revision.pk
            areas = rle_ops.area_batch(list(frames.values()))
            empty_frames[str(number)] = sorted(i for i, a in zip(frames, areas, strict=True) if a == 0)
        result = {"task": task.pk, "revisions": revisions, "frames": locked.progress_total,
                  "empty_frames": empty_frames}
        job_succeed(job=locked, result=result)
    return result
