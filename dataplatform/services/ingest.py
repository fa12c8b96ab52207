"""Video ingest: from an upload, a storage URI or a local file to a ready video with JPEG frames.

Flow: the web process checks what it can at once (size, a quick probe of the header) and answers
400 with the reason, storing nothing; otherwise it stores the source, creates the Video and an
ingest Job, and queues the task after commit. The worker (``video_ingest``) claims the Job,
decodes, samples at the project's annotation fps by timestamp, writes the frames and a thumbnail,
and marks the Video ready in one transaction at the end: a half-ingested video is never ready.
Any failure leaves the Video failed with a message, the Job failed with the same message, and
nothing stored behind: no frame, thumbnail or folder, nor the upload (unless KEEP_FAILED_SOURCES).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dataplatform import storage
from dataplatform.errors import ApplicationError
from dataplatform.media import MediaError, MediaLimits, check_first_frame, extract_frames, probe, validate
from dataplatform.models import Job, Project, Video
from dataplatform.services.jobs import (
    job_cancel_requested,
    job_claim,
    job_create,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_succeed,
)

logger = logging.getLogger("masklet.ingest")

PROGRESS_SECONDS = 0.5  # at most two progress writes a second
ProgressHook = Callable[[int, int], None]  # (source frames decoded, source frames expected or 0)


class TransientStorageError(Exception):
    """Storage did not answer (connection lost, timeout, throttling, 5xx): worth a retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IngestFailure(Exception):
    """Ingest cannot succeed for this video (not a media problem: e.g. its source is gone)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Cancelled(Exception):
    pass


def media_limits() -> MediaLimits:
    """The limits of the settings (MAX_UPLOAD_MB, MAX_VIDEO_SECONDS, MAX_VIDEO_WIDTH/HEIGHT, ...)."""
    return MediaLimits(
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_seconds=settings.MAX_VIDEO_SECONDS,
        max_width=settings.MAX_VIDEO_WIDTH,
        max_height=settings.MAX_VIDEO_HEIGHT,
        min_width=settings.MIN_VIDEO_SIDE,
        min_height=settings.MIN_VIDEO_SIDE,
    )


# ---- web side: create a video and its job ------------------------------------------------------


def video_check_source(*, source: str | os.PathLike[str] | IO[bytes], name: str) -> None:
    """Refuse at once (ApplicationError, 400) what a look at the header shows cannot be ingested.

    The header is read and the first frame decoded; what needs the whole stream (a file cut in
    the middle, damage further on) is found by the ingest job. An unexpected error here is logged
    and left for the job to report.
    """
    try:
        limits = media_limits()
        validate(probe(source), limits)
        if hasattr(source, "seek"):
            source.seek(0)
        check_first_frame(source, limits=limits)
    except MediaError as error:
        raise ApplicationError(error.message, {"file": name}) from error
    except Exception:  # the job decodes it properly and reports what it finds
        logger.exception("Quick probe of %r failed unexpectedly; leaving it to the ingest job", name)


def video_create_from_upload(*, project: Project, uploaded_file: Any, name: str, user: Any) -> tuple[Video, Job]:
    """Store an uploaded video and queue its ingest. ApplicationError (400) if it is refused at once.

    ``uploaded_file`` is a Django UploadedFile (streamed to a temporary file by Django for large
    uploads); it is streamed to storage, never read into memory whole.
    """
    size = uploaded_file.size
    limits = media_limits()
    if limits.max_bytes is not None and size is not None and size > limits.max_bytes:
        raise ApplicationError(
            f"The file is {size / 1024**2:.0f} MB; the upload limit is {limits.max_bytes / 1024**2:.0f} MB. "
            "Cut the video into shorter parts or re-encode it at a lower bitrate.",
            {"file": name},
        )
    path = uploaded_file.temporary_file_path() if hasattr(uploaded_file, "temporary_file_path") else None
    if path is None:
        uploaded_file.seek(0)
    video_check_source(source=path or uploaded_file.file, name=name)
    uploaded_file.seek(0)
    return _video_create_with_source(project=project, name=name, user=user, fileobj=uploaded_file, size=size,
                                     source_name=getattr(uploaded_file, "name", None) or name)


def video_create_from_path(
    *, project: Project, path: str | os.PathLike[str], name: str | None = None, user: Any = None,
    annotation_fps: float | None = None, dispatch: bool = True,
) -> tuple[Video, Job]:
    """Store a local video file (the ``ingest`` command) and create its ingest Job.

    ``dispatch=False`` leaves the Job for the caller to run in-process with ``video_ingest``.
    """
    path = Path(path)
    name = name or path.name
    video_check_source(source=path, name=name)
    with path.open("rb") as handle:
        return _video_create_with_source(project=project, name=name, user=user, fileobj=handle,
                                         size=path.stat().st_size, source_name=path.name,
                                         annotation_fps=annotation_fps, dispatch=dispatch)


def _video_create_with_source(
    *, project: Project, name: str, user: Any, fileobj: IO[bytes], size: int | None, source_name: str,
    annotation_fps: float | None = None, dispatch: bool = True,
) -> tuple[Video, Job]:
    key = ""
    try:
        with transaction.atomic():
            video = Video.objects.create(project=project, name=name[:255], source_kind=Video.SourceKind.UPLOAD,
                                         source_uri="", size_bytes=size, created_by=_user_or_none(user))
            key = storage.source_key(video.pk, source_name)
            _store_source(key, fileobj)
            video.source_uri = key
            video.save(update_fields=["source_uri", "updated_at"])
            job = _ingest_job_create(video=video, user=user, annotation_fps=annotation_fps, dispatch=dispatch)
    except TransientStorageError as error:
        raise ApplicationError(error.message, {"file": name}, status_code=503, code="storage_unavailable") from error
    except BaseException:
        if key:
            _delete_video_media(video.pk)
        raise
    return video, job


def video_register_uri(*, project: Project, uri: str, name: str, user: Any = None) -> tuple[Video, Job]:
    """Register a video already in the platform's storage (``s3://<bucket>/<key>`` or ``<key>``).

    ApplicationError (400) for another scheme or bucket, or when nothing is stored at the URI.
    """
    key = _storage_key_of(uri)
    try:
        found = storage.exists(key)
    except Exception as error:  # any storage failure is "try again later"
        raise ApplicationError("Storage did not answer; try again in a minute.", {"uri": uri},
                               status_code=503, code="storage_unavailable") from error
    if not found:
        raise ApplicationError(f"Nothing is stored at {uri!r}. Check the bucket and the key.", {"uri": uri})
    with transaction.atomic():
        video = Video.objects.create(project=project, name=name[:255], source_kind=Video.SourceKind.URI,
                                     source_uri=key, created_by=_user_or_none(user))
        job = _ingest_job_create(video=video, user=user)
    return video, job


def _ingest_job_create(*, video: Video, user: Any, annotation_fps: float | None = None,
                       dispatch: bool = True) -> Job:
    fps = annotation_fps or video.project.annotation_fps
    return job_create(kind=Job.Kind.INGEST, project=video.project, video=video, params={"annotation_fps": fps},
                      created_by=_user_or_none(user), dispatch=dispatch)


def _storage_key_of(uri: str) -> str:
    uri = uri.strip()
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        if settings.STORAGE_BACKEND != "s3" or bucket != settings.S3_BUCKET:
            raise ApplicationError(
                f"Only videos in the platform's own bucket can be registered ({_bucket_hint()}); "
                f"{uri!r} is elsewhere. Copy it there first.", {"uri": uri})
    elif "://" in uri or uri.startswith(("/", "~", "\\")):
        raise ApplicationError(
            f"{uri!r} is not a storage location we can read. Give s3://<bucket>/<key> or a key in the "
            "platform's storage (e.g. uploads/clip.mp4).", {"uri": uri})
    else:
        key = uri
    if not key or key.endswith("/") or ".." in key.split("/"):
        raise ApplicationError(f"{uri!r} does not name a file.", {"uri": uri})
    return key


def _bucket_hint() -> str:
    return f"s3://{settings.S3_BUCKET}/..." if settings.STORAGE_BACKEND == "s3" else "keys in local storage"


# ---- worker side: the ingest itself ---------------------------------------------------------------


def video_ingest(*, job: Job, celery_task_id: str = "", on_progress: ProgressHook | None = None) -> Job | None:
    """Run an ingest Job: the body of the ``ingest.video`` task (and of the ``ingest`` command).

    Claims the Job (queued → running); returns None at once if it is gone, running elsewhere or
    finished, so a second delivery is harmless. Returns the finished Job. Media problems and a
    missing source end as a failed Job and Video with the reason; TransientStorageError is raised
    after putting the Job back in the queue (the task retries it). Frames already written are
    removed on every failure.
    """
    claimed = job_claim(job_id=job.pk, celery_task_id=celery_task_id)
    if claimed is None:
        logger.info("Ingest job %s is gone or already claimed; nothing to do", job.pk)
        return None
    video = Video.objects.select_related("project").filter(pk=claimed.video_id).first()
    if video is None:
        job_fail(job=claimed, message="The video was deleted before it could be ingested.")
        return _refreshed(claimed)
    Video.objects.filter(pk=video.pk).update(status=Video.Status.INGESTING, status_message="",
                                             updated_at=timezone.now())
    fps = float(claimed.params.get("annotation_fps") or video.project.annotation_fps)
    written: list[str] = []
    try:
        _ingest(video=video, job=claimed, fps=fps, written=written, on_progress=on_progress)
    except (MediaError, IngestFailure) as error:
        _fail(video=video, job=claimed, message=error.message, written=written)
    except _Cancelled:
        _fail(video=video, job=claimed, message="Ingest was cancelled. Start it again to use this video.",
              written=written, cancelled=True)
    except TransientStorageError:
        _remove_frames(video.pk, written)
        _requeue(video=video, job=claimed)
        raise
    except Exception:
        logger.exception("Ingest of video %s (job %s) failed unexpectedly", video.pk, claimed.pk)
        _fail(video=video, job=claimed, written=written,
              message=f"Ingest failed because of an error on our side (logged with job {claimed.pk}). "
                      "Try again; if it fails again, tell an administrator.")
    return _refreshed(claimed)


def video_ingest_abandoned(job: Job) -> None:
    """An ingest Job that ended without its task (cancelled while queued, given up by the reaper):
    its video fails with the Job's message and nothing stays stored for it, as after any failure."""
    video = Video.objects.filter(pk=job.video_id, status__in=[Video.Status.UPLOADED, Video.Status.INGESTING]).first()
    if video is None:
        return
    job.refresh_from_db()
    cancelled = job.status == Job.Status.CANCELLED
    message = ("Ingest was cancelled. Start it again to use this video." if cancelled
               else job.message or "Ingest failed.")
    _fail(video=video, job=job, message=message, written=[], cancelled=cancelled)


def video_ingest_give_up(*, job: Job, message: str) -> None:
    """After the last retry of a transient storage failure: fail the Job and its Video."""
    video = Video.objects.filter(pk=job.video_id).first()
    if video is not None:
        _fail(video=video, job=job, written=[], message=f"{message} Gave up after several tries; try again later.")
    else:
        job_fail(job=job, message=message)


def _ingest(*, video: Video, job: Job, fps: float, written: list[str], on_progress: ProgressHook | None) -> None:
    limits = media_limits()
    _remove_frames(video.pk, [])  # leftovers of an earlier attempt (a worker that died mid-way)
    with _local_source(video) as path:
        info = probe(path)
        validate(info, limits)
        total = info.frame_count or 0
        job_progress(job=job, done=0, total=total)
        lock = threading.Lock()

        def write_frame(index: int, data: bytes) -> None:
            key = storage.frame_key(video.pk, index)
            _save_new(key, data)
            with lock:
                written.append(key)

        result = extract_frames(path, fps=fps, limits=limits, write_frame=write_frame,
                                quality=settings.FRAME_JPEG_QUALITY,
                                on_progress=_progress_reporter(job, total, on_progress))
    thumbnail = storage.thumbnail_key(video.pk)
    _save_new(thumbnail, result.thumbnail)
    written.append(thumbnail)
    with transaction.atomic():
        locked = Video.objects.select_for_update().filter(pk=video.pk).first()
        if locked is None:
            raise IngestFailure("The video was deleted while it was being ingested.")
        locked.status = Video.Status.READY
        locked.status_message = ""
        locked.source_fps = info.fps
        locked.source_frame_count = result.source_frames
        locked.annotation_fps = fps
        locked.frame_count = result.frame_count
        locked.width, locked.height = result.width, result.height
        locked.duration = result.duration
        locked.frame_timestamps = result.timestamps
        locked.thumbnail_key = thumbnail
        locked.size_bytes = locked.size_bytes or info.size_bytes
        locked.ready_at = timezone.now()
        locked.save()
        Job.objects.filter(pk=job.pk).update(progress_total=max(result.source_frames, job.progress_total))
        job_succeed(job=job, result={
            "video": video.pk, "frame_count": result.frame_count, "source_frame_count": result.source_frames,
            "source_fps": info.fps, "annotation_fps": fps, "width": result.width, "height": result.height,
            "duration": result.duration, "codec": info.codec,
        })
    _log_done(video, result.frame_count, result.source_frames)


def _progress_reporter(job: Job, total: int, hook: ProgressHook | None) -> Callable[[int], None]:
    last = 0.0

    def report(done: int) -> None:
        nonlocal last
        if hook is not None:
            hook(done, total)
        now = time.monotonic()
        if now - last < PROGRESS_SECONDS:
            return
        last = now
        if job_cancel_requested(job=job):
            raise _Cancelled()
        job_progress(job=job, done=min(done, total) if total else 0)

    return report


def _fail(*, video: Video, job: Job, message: str, written: list[str], cancelled: bool = False) -> None:
    """Fail the Job and the Video, leaving nothing stored for it: no frame, no thumbnail, no folder,
    and no uploaded source unless KEEP_FAILED_SOURCES keeps it (a registered source is not ours)."""
    _remove_frames(video.pk, written)
    keep_source = video.source_kind != Video.SourceKind.UPLOAD or settings.KEEP_FAILED_SOURCES
    _delete_video_media(video.pk, keep=[video.source_uri] if keep_source else [])
    with transaction.atomic():
        Video.objects.filter(pk=video.pk).update(
            status=Video.Status.FAILED, status_message=message, frame_count=0, frame_timestamps=[],
            thumbnail_key="", ready_at=None, updated_at=timezone.now(),
            **({} if keep_source else {"source_uri": ""}))
        if cancelled:
            job_mark_cancelled(job=job)
        else:
            job_fail(job=job, message=message)
    logger.info("Ingest of video %s failed: %s", video.pk, message)


def _requeue(*, video: Video, job: Job) -> None:
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED, started_at=None, heartbeat_at=None, progress_done=0)
        Video.objects.filter(pk=video.pk, status=Video.Status.INGESTING).update(
            status=Video.Status.UPLOADED, updated_at=timezone.now())


def _refreshed(job: Job) -> Job:
    job.refresh_from_db()
    return job


def _log_done(video: Video, frames: int, source_frames: int) -> None:
    logger.info("Ingested video %s: %d annotated frames of %d", video.pk, frames, source_frames)


# ---- storage, as ingest sees its failures ------------------------------------------------------


@contextmanager
def _local_source(video: Video) -> Iterator[str]:
    """A local path to the video's source; a storage failure becomes transient or final."""
    key = video.source_uri
    try:
        with storage.local_copy(key, prefix="masklet-ingest-") as path:
            yield path
    except storage.StorageReadError as error:
        raise _storage_error(error.cause, f"The video's source could not be read from storage ({key!r})") \
            from error.cause


def _storage_error(error: Exception, what: str) -> Exception:
    if storage.is_transient(error):
        return TransientStorageError(f"{what}: storage did not answer ({type(error).__name__}).")
    if isinstance(error, FileNotFoundError) or storage.status_of(error) in (403, 404):
        return IngestFailure(f"{what}: it is not there (deleted, or registered with a wrong key). "
                             "Upload the video again.")
    return IngestFailure(f"{what}: {type(error).__name__}. Upload the video again.")


def _store_source(key: str, fileobj: IO[bytes]) -> None:
    try:
        storage.put_file(key, fileobj)
    except Exception as error:
        if storage.is_transient(error):
            raise TransientStorageError("Storage did not answer while saving the video; try again in a minute.") \
                from error
        raise


def _save_new(key: str, data: bytes) -> None:
    try:
        storage.save_new(key, data)
    except Exception as error:
        raise _storage_error(error, "A frame could not be written to storage") from error


def _remove_frames(video_id: int, written: list[str]) -> None:
    """Delete the video's frames and thumbnail (those written now, and any left by an earlier run)."""
    storage.delete_quietly(written)
    try:
        storage.delete_prefix(f"{storage.video_prefix(video_id)}frames/")
        if storage.exists(storage.thumbnail_key(video_id)):
            storage.delete_keys([storage.thumbnail_key(video_id)])
    except Exception:  # logged; the video is failed either way
        logger.exception("Could not clear the frames of video %s", video_id)


def _delete_video_media(video_id: int, *, keep: list[str] | None = None) -> None:
    """Delete everything stored under the video's prefix but ``keep`` (its upload included), folders too."""
    try:
        storage.delete_prefix(storage.video_prefix(video_id), keep=keep or [])
    except Exception:  # cleanup must not hide the failure it follows
        logger.exception("Could not delete the stored files of video %s", video_id)


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None
