"""Video writes other than ingest (which lives in ``dataplatform.services.ingest``)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from dataplatform import storage
from dataplatform.errors import ConflictError
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
