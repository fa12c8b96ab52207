"""Automatic masklets: a GPU Job per video. Automatic masks on the first frame (SAM's grid,
filtered by predicted IoU, stability and NMS) are propagated together through the video and saved
as auto masklets, submitted, so they enter the verification queue. All saved in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.models import Masklet, ModelVersion
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.modelversions import model_version_ensure_default
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job, Video
from dataplatform.services.jobs import job_create, job_succeed

# Parameter → (default, minimum, maximum); the generator's names and SAM's defaults.
PARAMS: dict[str, tuple[Any, Any, Any]] = {
    "points_per_side": (32, 1, 64),
    "points_per_batch": (64, 1, 1024),
    "pred_iou_thresh": (0.8, 0.0, 1.0),
    "stability_score_thresh": (0.95, 0.0, 1.0),
    "box_nms_thresh": (0.7, 0.0, 1.0),
    "crop_n_layers": (0, 0, 3),
    "min_region_area": (0, 0, 1_000_000),
    "max_masklets": (100, 1, 1000),
}
GENERATOR_PARAMS = tuple(name for name in PARAMS if name != "max_masklets")


def automasklets_params(*, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter, defaults filled in, each checked against its range (400 with its name)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ApplicationError(f"Unknown parameters {unknown}; known: {', '.join(PARAMS)}.")
    checked = {}
    for name, (default, low, high) in PARAMS.items():
        value = params.get(name, default)
        kind = type(default)
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
            raise ApplicationError(f"{name} must be a{'n integer' if kind is int else ' number'}, got {value!r}.",
                                   {"field": name})
        if not low <= value <= high:
            raise ApplicationError(f"{name} must be between {low} and {high}, got {value!r}.", {"field": name})
        checked[name] = kind(value)
    return checked


def automasklets_start(*, video: Video, user, params: dict[str, Any]) -> Job:
    """Queue the automatic masklets of a ready video (admins)."""
    if video.status != Video.Status.READY:
        raise ApplicationError(f"Video {video.pk} is not ready (status: {video.status}).")
    checked = automasklets_params(params=params)
    with transaction.atomic():
        Video.objects.select_for_update().filter(pk=video.pk).first()
        if Job.objects.filter(kind=Job.Kind.AUTO_MASKLETS, video=video, status__in=Job.ACTIVE).exists():
            raise ConflictError(f"Automatic masklets of video {video.pk} are already being made.")
        version = video.project.model_version or model_version_ensure_default()
        return job_create(kind=Job.Kind.AUTO_MASKLETS, project=video.project, video=video, created_by=user,
                          params={**checked, "model_version": version.pk}, progress_total=video.frame_count)


def automasklets_model_version(*, job: Job) -> ModelVersion:
    return ModelVersion.objects.get(pk=job.params["model_version"])


# What each step of the first frame's generation kept, in order, as the Job's result says it.
FILTER_LABELS = {
    "points": "grid points (prompts)",
    "masks": "masks predicted (3 per prompt)",
    "pred_iou": "predicted IoU above pred_iou_thresh",
    "stability": "stability at least stability_score_thresh",
    "whole_in_crop": "not empty, not cut by a crop's edge",
    "box_nms": "after duplicates removed (box_nms_thresh)",
    "crop_nms": "after duplicates across crops removed",
    "min_region_area": "after small islands and holes removed (min_region_area)",
    "max_masklets": "kept (at most max_masklets)",
}


def automasklets_filters(filter_counts: dict[str, int] | None) -> list[dict[str, Any]]:
    """The counts as the result's ``filters``: ``[{"filter", "label", "kept"}]`` in the filters' order."""
    return [{"filter": name, "label": FILTER_LABELS.get(name, name), "kept": int(kept)}
            for name, kept in (filter_counts or {}).items()]


def automasklets_save(*, job: Job, masklets: list[dict[str, Any]], filter_counts: dict[str, int] | None = None
                      ) -> dict:
    """Save the candidates as submitted auto masklets, with the Job's success, in one transaction.

    ``masklets``: per candidate, ``masks`` (frame → RLE) and ``stability_scores`` (one per frame);
    ``filter_counts``: what each filter of the generator kept, recorded in the result as ``filters``
    so that "0 masklets" says which threshold removed them.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update(of=("self",)).select_related("video").get(pk=job.pk)
        if locked.status != Job.Status.RUNNING:
            return locked.result
        version = automasklets_model_version(job=locked)
        ids = []
        for candidate in masklets:
            masklet = masklet_create(video=locked.video, kind=Masklet.Kind.AUTO)
            masklet_revision_create(masklet=masklet, masks=candidate["masks"], model_version=version,
                                    stability_scores=candidate["stability_scores"], source="auto", prompts=1)
            Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.SUBMITTED)
            ids.append(masklet.pk)
        result = {"masklets": ids, "candidates": len(masklets), "filters": automasklets_filters(filter_counts)}
        job_succeed(job=locked, result=result)
    return result
