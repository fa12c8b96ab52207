"""The ingest.video task in a real Celery worker, on PostgreSQL, Redis and S3 over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dataplatform import storage
from dataplatform.media.synth import write_video
from dataplatform.models import Job, Project, Video
from dataplatform.services.ingest import video_create_from_upload
from tests.conftest import wait_for

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"


def finished(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.is_terminal else None


def upload(project: Project, path: Path) -> tuple[Video, Job]:
    uploaded = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/mp4")
    return video_create_from_upload(project=project, uploaded_file=uploaded, name=path.name, user=None)


def test_the_worker_ingests_an_upload(live_platform) -> None:
    project = Project.objects.create(name="Worker ingest")
    video, job = upload(project, VIDEOS / "05_default_juggle.mp4")

    wait_for(lambda: finished(job), timeout=90, what="the ingest job to finish")
    video.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.celery_task_id and job.attempts == 1
    assert (video.status, video.frame_count, video.source_frame_count) == (Video.Status.READY, 62, 247)
    assert video.frame_timestamps[:3] == pytest.approx([0.0, 1 / 6, 2 / 6], abs=1e-6)
    assert storage.exists(storage.frame_key(video.pk, 61)) and not storage.exists(storage.frame_key(video.pk, 62))


def test_a_second_delivery_of_the_task_is_harmless(live_platform) -> None:
    from workers.ingest import ingest_video

    project = Project.objects.create(name="Worker twice")
    video, job = upload(project, VIDEOS / "bedroom.mp4")
    wait_for(lambda: finished(job), timeout=90, what="the ingest job to finish")
    ready_at = Video.objects.get(pk=video.pk).ready_at

    ingest_video.apply_async(args=[job.pk]).get(timeout=30)  # as if the broker redelivered it
    job.refresh_from_db()
    video.refresh_from_db()
    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 1)
    assert (video.status, video.frame_count, video.ready_at) == (Video.Status.READY, 40, ready_at)


def test_the_worker_fails_a_truncated_video_and_removes_its_frames(live_platform, tmp_path: Path) -> None:
    full = tmp_path / "full.mp4"
    write_video(full, fps=30, frames=90, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    project = Project.objects.create(name="Worker failure")
    video, job = upload(project, cut)

    wait_for(lambda: finished(job), timeout=90, what="the ingest job to finish")
    video.refresh_from_db()
    assert job.status == Job.Status.FAILED and "the file is truncated" in job.message
    assert video.status == Video.Status.FAILED and video.status_message == job.message
    assert not storage.exists(storage.frame_key(video.pk, 0))
    assert not storage.exists(storage.thumbnail_key(video.pk))
