"""Scoring a model version on a project's held-out split (a Job, like a retraining round's evaluation).

``model_version_evaluation_launch`` checks the version (usable), the project and the split (``val``
by default, the development split; ``test``, the untouched one, is only for reporting) and queues a
``model_evaluation`` Job. ``model_version_evaluation_run`` is the worker's body (the CLI runs it
in-process): it claims the Job (a second delivery does nothing), scores the version with the
semi-supervised protocols (GT mask, one click, box on each object's first frame) on the split's
accepted masklets, and records the scores in the version's ``metrics["evaluations"]`` under
"<project id>/<split>" (the latest evaluation replaces the previous one of that project and split),
and in the Job's result. Any failure fails the Job with a message.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.models import ModelVersion
from annotation.selectors.reviews import dataset_masklets
from dataplatform.errors import ApplicationError
from dataplatform.models import Job, Project, Video
from dataplatform.services.jobs import job_claim, job_create, job_fail, job_progress, job_succeed

logger = logging.getLogger("masklet.evaluations")

EVALUATION_SPLITS = (Video.Split.VAL.value, Video.Split.TEST.value)
MAX_EVALUATION_VIDEOS = 1000


def evaluation_key(*, project_id: int, split: str) -> str:
    return f"{project_id}/{split}"


def model_version_evaluation_launch(*, version: ModelVersion, project: Project, split: str = "val",
                                    max_videos: int = 20, user=None, dispatch: bool = True) -> Job:
    """Queue the evaluation of ``version`` on ``project``'s ``split`` (ApplicationError saying what is wrong)."""
    from annotation.services.checkpoints import model_version_require_usable

    model_version_require_usable(version=version)
    if split not in EVALUATION_SPLITS:
        raise ApplicationError(f"split must be one of {', '.join(EVALUATION_SPLITS)}, got {split!r}.",
                               {"fields": {"split": ["Not a held-out split."]}})
    if isinstance(max_videos, bool) or not isinstance(max_videos, int) or not 1 <= max_videos <= MAX_EVALUATION_VIDEOS:
        raise ApplicationError(f"max_videos must be an integer between 1 and {MAX_EVALUATION_VIDEOS}, "
                               f"got {max_videos!r}.", {"fields": {"max_videos": ["Out of range."]}})
    if not dataset_masklets(project=project, split=split).exists():
        raise ApplicationError(f"Project {project.name!r} has no accepted masklets on {split} videos: nothing to "
                               f"score on. Assign annotated videos to {split} (or import a labelled {split} set).",
                               {"fields": {"split": ["Empty."]}})
    return job_create(kind=Job.Kind.MODEL_EVALUATION, project=project, created_by=user, dispatch=dispatch,
                      params={"model_version": version.pk, "split": split, "max_videos": max_videos})


def model_version_evaluation_run(*, job_id: int, celery_task_id: str = "") -> ModelVersion | None:
    """The worker's body (see the module docstring). None when the Job was not claimable."""
    claimed = job_claim(job_id=job_id, celery_task_id=celery_task_id)
    if claimed is None:
        return None
    try:
        return _run(claimed)
    except Exception as error:
        logger.exception("Evaluation job %s failed", claimed.pk)
        message = error.message if isinstance(error, ApplicationError) else f"{type(error).__name__}: {error}"
        job_fail(job=claimed, message=f"Evaluation failed: {message}")
        return None


def _run(job: Job) -> ModelVersion:
    from annotation.services.retraining import (
        EVAL_PROTOCOLS,
        engine_device,
        evaluate_model,
        model_version_load,
    )
    from annotation.training_data import masklet_videos

    version = ModelVersion.objects.get(pk=job.params["model_version"])
    split, project = job.params["split"], job.project
    held_out = masklet_videos(dataset_masklets(project=project, split=split).distinct())[: job.params["max_videos"]]
    if not held_out:
        raise ApplicationError(f"no accepted masklets on {split} videos of project {project.name!r} any more")
    job_progress(job=job, done=0, total=len(EVAL_PROTOCOLS))
    with tempfile.TemporaryDirectory(prefix="masklet-eval-") as folder:
        model = model_version_load(version=version, folder=Path(folder), device=engine_device())
        model.eval()
        pairs = [(frames, masks) for _, frames, masks in held_out]
        scores = evaluate_model(model, pairs, names=[str(video.pk) for video, _, _ in held_out])
    record: dict[str, Any] = {
        "project": project.pk, "project_name": project.name, "split": split, "scores": scores,
        "videos": len(held_out), "objects": sum(len(m) for _, _, m in held_out), "protocols": list(EVAL_PROTOCOLS),
        "job": job.pk, "evaluated_at": timezone.now().isoformat()}
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        metrics = dict(locked.metrics or {})
        metrics["evaluations"] = {**(metrics.get("evaluations") or {}),
                                  evaluation_key(project_id=project.pk, split=split): record}
        ModelVersion.objects.filter(pk=locked.pk).update(metrics=metrics)
        summary = {p: {k: v for k, v in s.items() if k != "per_object"} for p, s in scores.items()}
        job_progress(job=job, done=len(EVAL_PROTOCOLS))
        job_succeed(job=job, result={"model_version": version.pk, "model_version_name": version.name,
                                     "split": split, "videos": record["videos"], "objects": record["objects"],
                                     "scores": summary},
                    message="Held-out J&F " + ", ".join(f"{p} {v['jf']:.1f}" for p, v in summary.items()))
    locked.refresh_from_db()
    return locked


__all__ = ["EVALUATION_SPLITS", "evaluation_key", "model_version_evaluation_launch", "model_version_evaluation_run"]
