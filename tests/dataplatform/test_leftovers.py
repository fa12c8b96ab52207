"""Clean failure on local storage: a failed ingest or a deleted video leaves no file and no folder.

(The same on S3, where a prefix has no folders, is checked by every failing ingest in
test_ingest.py and by the video delete tests in test_api_videos.py.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dataplatform import storage
from dataplatform.models import Job, Video
from dataplatform.services import ingest
from dataplatform.services.ingest import video_create_from_upload, video_ingest, video_register_uri
from dataplatform.services.jobs import job_cancel, jobs_reap_stale
from dataplatform.services.videos import video_delete
from tests.dataplatform.test_ingest import make_clip, upload, upload_of

pytestmark = pytest.mark.django_db


def stored_paths(root: Path) -> list[str]:
    """Every file and folder under the media folder, relative to it."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def truncated_clip(tmp_path: Path) -> Path:
    full = make_clip(tmp_path, fps=30, frames=90, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # the header still says 90 frames
    return cut


def test_a_failed_ingest_leaves_nothing_stored(project, media_root, tmp_path,
                                               django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, truncated_clip(tmp_path), django_capture_on_commit_callbacks)
    assert stored_paths(media_root) != []  # the upload was stored ...
    assert video_ingest(job=job).status == Job.Status.FAILED
    assert stored_paths(media_root) == ["videos"]  # ... and nothing of the video is left, folders included
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "truncated" in video.status_message
    assert video.source_uri == ""


def test_keep_failed_sources_keeps_only_the_upload(project, media_root, tmp_path, settings,
                                                   django_capture_on_commit_callbacks) -> None:
    settings.KEEP_FAILED_SOURCES = True
    video, job = upload(project, truncated_clip(tmp_path), django_capture_on_commit_callbacks)
    video_ingest(job=job)
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert stored_paths(media_root) == ["videos", f"videos/{video.pk}", f"videos/{video.pk}/source",
                                        video.source_uri]


def test_a_registered_source_stays_when_its_ingest_fails(project, media_root, tmp_path,
                                                         django_capture_on_commit_callbacks) -> None:
    key = storage.put_bytes("incoming/cut.mp4", truncated_clip(tmp_path).read_bytes())
    with django_capture_on_commit_callbacks(execute=False):
        video, job = video_register_uri(project=project, uri=key, name="cut.mp4")
    assert video_ingest(job=job).status == Job.Status.FAILED
    assert stored_paths(media_root) == ["incoming", key, "videos"]  # the admin's file is not ours to delete


def test_an_upload_that_cannot_be_stored_leaves_nothing(project, media_root, tmp_path, monkeypatch) -> None:
    def write_then_break(key, fileobj):
        storage.put_file(key, fileobj)
        raise OSError("disk full")

    monkeypatch.setattr(ingest, "_store_source", write_then_break)
    with pytest.raises(OSError, match="disk full"):
        video_create_from_upload(project=project, uploaded_file=upload_of(make_clip(tmp_path)), name="clip.mp4",
                                 user=None)
    assert not Video.objects.exists()
    assert stored_paths(media_root) == ["videos"]


def test_a_deleted_video_leaves_no_file_nor_folder(project, media_root, tmp_path,
                                                   django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    assert video_ingest(job=job).status == Job.Status.SUCCEEDED
    assert f"videos/{video.pk}/frames/00011.jpg" in stored_paths(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        video_delete(video=video)
    assert stored_paths(media_root) == ["videos"]


def test_an_ingest_cancelled_before_it_started_leaves_nothing(project, media_root, tmp_path,
                                                              django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    assert stored_paths(media_root) != []
    with django_capture_on_commit_callbacks(execute=True):
        assert job_cancel(job=job).status == Job.Status.CANCELLED
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "cancelled" in video.status_message
    assert stored_paths(media_root) == ["videos"]
    assert video_ingest(job=job) is None  # the queued message, delivered late, finds nothing to do


def test_an_ingest_the_reaper_gives_up_on_leaves_nothing(project, media_root, tmp_path, settings,
                                                         django_capture_on_commit_callbacks) -> None:
    settings.JOB_MAX_ATTEMPTS = 1
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    storage.put_bytes(f"{storage.video_prefix(video.pk)}frames/00000.jpg", b"a frame of a dead worker")
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=old, heartbeat_at=old, attempts=1)
    Video.objects.filter(pk=video.pk).update(status=Video.Status.INGESTING)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reap_stale()["failed"] == [job.pk]
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and "stopped responding" in video.status_message
    assert stored_paths(media_root) == ["videos"]
