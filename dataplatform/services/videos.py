"""Video writes other than ingest (which lives in ``dataplatform.services.ingest``)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from dataplatform import storage
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job, Video

logger = logging.getLogger("masklet.videos")

UPDATABLE_FIELDS = ("name", "split")


def video_update(*, video: Video, **changes) -> Video:
    """Rename a video or assign it to a split (train/val/test/unassigned)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not updatable: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(video, field, value)
    video.clean_fields(exclude=[f.name for f in Video._meta.fields if f.name not in changes])
    video.save(update_fields=[*changes, "updated_at"] if changes else None)
    return video


def _delete_media(video_id: int) -> None:
    try:
        removed = storage.delete_prefix(storage.video_prefix(video_id))
        logger.info("Deleted %d stored files of video %d", removed, video_id)
    except Exception:  # the row is gone already; leftover files are logged, not an error to the user
        logger.exception("Could not delete the stored files of video %d", video_id)


def video_delete(*, video: Video) -> None:
    """Delete a video, its rows (jobs, masklets, tasks) and, after commit, its stored files.

    Its jobs go with the row: a queued job's task finds no job and returns quietly; a running
    ingest notices the video is gone and removes the frames it wrote after this deletion.
    """
    video_id = video.pk
    with transaction.atomic():
        locked = Video.objects.select_for_update().filter(pk=video_id).first()
        if locked is None:
            return
        Job.objects.filter(video_id=video_id, status=Job.Status.RUNNING).update(cancel_requested=True)
        try:
            locked.delete()
        except (ProtectedError, RestrictedError) as error:
            raise ConflictError("This video has annotations that cannot be deleted with it.") from error
        transaction.on_commit(lambda: _delete_media(video_id))


MAX_VIDEOS_PER_CALL = 1000


def videos_set_split(*, video_ids: list[int], split: str) -> int:
    """Assign many videos to one split at once (all or none); the number changed."""
    ids = sorted(set(video_ids))
    if not 1 <= len(ids) <= MAX_VIDEOS_PER_CALL:
        raise ApplicationError(f"Give between 1 and {MAX_VIDEOS_PER_CALL} videos.", {"fields": {"videos": ["Size."]}})
    if split not in Video.Split.values:
        raise ApplicationError(f"Unknown split {split!r}; the splits are {', '.join(Video.Split.values)}.",
                               {"fields": {"split": ["Unknown split."]}})
    with transaction.atomic():
        found = set(Video.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise ApplicationError(f"Videos {', '.join(map(str, missing[:20]))} do not exist; nothing was changed.",
                                   {"fields": {"videos": ["Unknown videos."]}})
        return Video.objects.filter(pk__in=ids).update(split=split, updated_at=timezone.now())
