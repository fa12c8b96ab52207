"""Ingest services against PostgreSQL and S3 over HTTP (moto's server): what an admin sees.

The worker body (``video_ingest``) runs in the test process here; tests/workers/test_ingest.py
runs it in a real Celery worker.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from dataplatform import storage
from dataplatform.errors import ApplicationError
from dataplatform.media.synth import write_video
from dataplatform.models import Job, Project, Video
from dataplatform.services import ingest
from dataplatform.services.ingest import (
    TransientStorageError,
    video_create_from_upload,
    video_ingest,
    video_register_uri,
)

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"
pytestmark = pytest.mark.django_db


def bucket_keys(bucket: str, s3_server: str, prefix: str = "") -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def upload_of(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="video/mp4")


def make_clip(tmp_path: Path, name: str = "clip.mp4", **kwargs) -> Path:
    path = tmp_path / name
    write_video(path, **{"fps": 24, "frames": 48, **kwargs})
    return path


def upload(project: Project, path: Path, capture, **kwargs) -> tuple[Video, Job]:
    with capture(execute=False) as callbacks:
        video, job = video_create_from_upload(project=project, uploaded_file=upload_of(path), name=path.name,
                                              user=None, **kwargs)
    assert len(callbacks) == 1  # the task is queued after commit, once
    return video, job


def assert_failed(video: Video, job: Job, message: str, bucket: str, s3_server: str) -> None:
    video.refresh_from_db()
    job.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert message in video.status_message
    assert job.status == Job.Status.FAILED and job.message == video.status_message
    assert video.frame_count == 0 and video.frame_timestamps == [] and video.ready_at is None
    assert bucket_keys(bucket, s3_server, f"videos/{video.pk}/") == []  # no frame, thumbnail nor source
    assert video.source_uri == ""


# ---- the happy path ----------------------------------------------------------------------------


def test_upload_then_ingest_makes_a_ready_video_with_frames_on_s3(
        project, s3_storage, s3_server, django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, VIDEOS / "02_cups.mp4", django_capture_on_commit_callbacks)
    assert video.status == Video.Status.UPLOADED and job.status == Job.Status.QUEUED
    assert job.kind == Job.Kind.INGEST and job.video_id == video.pk and job.params == {"annotation_fps": 6.0}
    assert bucket_keys(s3_storage, s3_server) == [f"videos/{video.pk}/source/02_cups.mp4"]

    finished = video_ingest(job=job)

    video.refresh_from_db()
    assert finished.status == Job.Status.SUCCEEDED
    assert finished.progress_done == finished.progress_total == 300
    assert video.status == Video.Status.READY and video.status_message == ""
    assert video.source_fps == pytest.approx(29.97, abs=1e-3)
    assert (video.source_frame_count, video.frame_count, video.width, video.height) == (300, 61, 1280, 720)
    assert video.duration == pytest.approx(10.01)
    assert video.annotation_fps == 6.0
    assert len(video.frame_timestamps) == 61
    assert video.frame_timestamps[:3] == pytest.approx([0.0, 5 * 1001 / 30000, 10 * 1001 / 30000], abs=1e-6)
    frames = bucket_keys(s3_storage, s3_server, f"videos/{video.pk}/frames/")
    assert frames == [storage.frame_key(video.pk, i) for i in range(61)]
    assert storage.read_bytes(frames[0])[:3] == b"\xff\xd8\xff"
    assert video.thumbnail_key == storage.thumbnail_key(video.pk) and storage.exists(video.thumbnail_key)
    assert video.ready_at is not None and finished.result["frame_count"] == 61


def test_project_fps_decides_the_sampling(project, s3_storage, s3_server, tmp_path,
                                          django_capture_on_commit_callbacks) -> None:
    project.annotation_fps = 12
    project.save()
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    video_ingest(job=job)
    video.refresh_from_db()
    assert (video.frame_count, video.annotation_fps) == (24, 12.0)  # 2 s at 12 fps: every 2nd frame of 24


def test_a_large_upload_streams_from_its_temporary_file(project, s3_storage, s3_server, tmp_path,
                                                        django_capture_on_commit_callbacks) -> None:
    path = make_clip(tmp_path, width=640, height=360)
    uploaded = TemporaryUploadedFile("big.mp4", "video/mp4", path.stat().st_size, None)
    uploaded.write(path.read_bytes())
    uploaded.seek(0)
    with django_capture_on_commit_callbacks(execute=False):
        video, job = video_create_from_upload(project=project, uploaded_file=uploaded, name="Big one", user=None)
    assert video.name == "Big one" and video.size_bytes == path.stat().st_size
    assert storage.read_bytes(video.source_uri) == path.read_bytes()
    video_ingest(job=job)
    video.refresh_from_db()
    assert (video.status, video.frame_count, video.width) == (Video.Status.READY, 12, 640)


def test_running_the_same_job_twice_is_harmless(project, s3_storage, s3_server, tmp_path,
                                                django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    assert video_ingest(job=job).status == Job.Status.SUCCEEDED
    before = bucket_keys(s3_storage, s3_server)
    assert video_ingest(job=job) is None  # already done: nothing happens
    video.refresh_from_db()
    assert video.status == Video.Status.READY and video.frame_count == 12
    assert bucket_keys(s3_storage, s3_server) == before


def test_a_requeued_job_starts_clean(project, s3_storage, s3_server, tmp_path,
                                     django_capture_on_commit_callbacks) -> None:
    """A worker died mid-way (the reaper re-queued its Job): the leftover frames do not survive."""
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    storage.put_bytes(storage.frame_key(video.pk, 99), b"left by a dead worker")
    video_ingest(job=job)
    frames = bucket_keys(s3_storage, s3_server, f"videos/{video.pk}/frames/")
    assert frames == [storage.frame_key(video.pk, i) for i in range(12)]


def test_register_a_uri_in_the_bucket(project, s3_storage, s3_server, tmp_path,
                                      django_capture_on_commit_callbacks) -> None:
    key = "incoming/batch-1/clip.mp4"
    storage.put_bytes(key, make_clip(tmp_path).read_bytes())
    with django_capture_on_commit_callbacks(execute=False):
        video, job = video_register_uri(project=project, uri=f"s3://{s3_storage}/{key}", name="clip.mp4")
    assert (video.source_kind, video.source_uri) == (Video.SourceKind.URI, key)
    video_ingest(job=job)
    video.refresh_from_db()
    assert video.status == Video.Status.READY and video.frame_count == 12
    assert storage.exists(key)  # the registered source is the admin's: left where it was


# ---- refused at once: 400, nothing stored -----------------------------------------------------------


@pytest.mark.parametrize(("content", "message"), [
    (b"just some notes\n" * 40, "This is a text file, not a video"),
    (b"%PDF-1.5\n" + b"\x00\x01" * 300, "This is a PDF document"),
    (b"", "The file is empty"),
])
def test_an_upload_that_is_not_a_video_is_refused_and_nothing_is_stored(
        project, s3_storage, s3_server, content: bytes, message: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        video_create_from_upload(project=project, uploaded_file=SimpleUploadedFile("x.mp4", content),
                                 name="x.mp4", user=None)
    assert message in caught.value.message and caught.value.status_code == 400
    assert caught.value.extra == {"file": "x.mp4"}
    assert Video.objects.count() == 0 and Job.objects.count() == 0
    assert bucket_keys(s3_storage, s3_server) == []


def test_an_upload_with_its_header_but_no_pictures_is_refused_at_once(project, s3_storage, s3_server,
                                                                      tmp_path) -> None:
    full = make_clip(tmp_path, fps=30, frames=60, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 16])  # the index, then next to nothing
    with pytest.raises(ApplicationError, match="None of the 60 frames the video's header announces could be read"):
        video_create_from_upload(project=project, uploaded_file=upload_of(cut), name="cut.mp4", user=None)
    assert Video.objects.count() == 0 and bucket_keys(s3_storage, s3_server) == []


def test_an_upload_over_the_size_limit_is_refused(project, s3_storage, s3_server, settings, tmp_path) -> None:
    settings.MAX_UPLOAD_BYTES = 10_000
    with pytest.raises(ApplicationError, match="the upload limit is 0 MB"):
        video_create_from_upload(project=project, uploaded_file=upload_of(make_clip(tmp_path)), name="c.mp4",
                                 user=None)
    assert Video.objects.count() == 0 and bucket_keys(s3_storage, s3_server) == []


def test_an_upload_over_the_duration_limit_is_refused(project, s3_storage, s3_server, settings) -> None:
    settings.MAX_VIDEO_SECONDS = 5
    with pytest.raises(ApplicationError, match=r"6.7 s long; the limit is 5.0 s"):
        video_create_from_upload(project=project, uploaded_file=upload_of(VIDEOS / "bedroom.mp4"),
                                 name="bedroom.mp4", user=None)
    assert Video.objects.count() == 0 and bucket_keys(s3_storage, s3_server) == []


@pytest.mark.parametrize(("uri", "message"), [
    ("https://example.com/video.mp4", "is not a storage location we can read"),
    ("/etc/passwd", "is not a storage location we can read"),
    ("s3://someone-elses-bucket/video.mp4", "Only videos in the platform's own bucket"),
    ("incoming/../secrets/video.mp4", "does not name a file"),
    ("incoming/missing.mp4", "Nothing is stored at 'incoming/missing.mp4'"),
])
def test_registering_a_bad_uri_is_refused(project, s3_storage, uri: str, message: str) -> None:
    with pytest.raises(ApplicationError, match=message.replace(".", r"\.").replace("(", r"\(")):
        video_register_uri(project=project, uri=uri, name="v.mp4")
    assert Video.objects.count() == 0


# ---- failing in the job: video failed with its message, job failed, no frames left ------------------


def test_a_truncated_upload_fails_in_the_job_and_leaves_no_frames(
        project, s3_storage, s3_server, tmp_path, django_capture_on_commit_callbacks, monkeypatch) -> None:
    full = make_clip(tmp_path, fps=30, frames=90, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # header says 90 frames
    written: list[str] = []
    save = ingest._save_new
    monkeypatch.setattr(ingest, "_save_new", lambda key, data: (written.append(key), save(key, data)))

    video, job = upload(project, cut, django_capture_on_commit_callbacks)  # the header looks fine
    video_ingest(job=job)

    # frames were written before the end was found missing (how many depends on how far the
    # JPEG writers got before the decoder hit the end; the rest are cancelled) ...
    assert written and all(key.startswith(f"videos/{video.pk}/frames/") for key in written)
    assert_failed(video, job, "the file is truncated", s3_storage, s3_server)  # ... and removed
    assert bucket_keys(s3_storage, s3_server) == []


def test_a_corrupt_stream_fails_in_the_job(project, s3_storage, s3_server, tmp_path,
                                           django_capture_on_commit_callbacks) -> None:
    path = make_clip(tmp_path, frames=96)
    data = bytearray(path.read_bytes())
    start = data.find(b"mdat") + 8
    end = data.find(b"moov")  # the index stays intact: the upload looks fine
    a, b = start + (end - start) // 3, start + 2 * (end - start) // 3
    data[a:b] = bytes((i * 97) % 251 for i in range(b - a))
    path.write_bytes(bytes(data))
    video, job = upload(project, path, django_capture_on_commit_callbacks)
    video_ingest(job=job)
    assert_failed(video, job, "The video stream is corrupt", s3_storage, s3_server)


def test_a_video_longer_than_its_header_says_fails_in_the_job(
        project, s3_storage, s3_server, tmp_path, settings, django_capture_on_commit_callbacks) -> None:
    path = tmp_path / "raw.h264"  # a raw stream has no duration in its header
    write_video(path, fps=25, frames=75)
    settings.MAX_VIDEO_SECONDS = 2
    video, job = upload(project, path, django_capture_on_commit_callbacks)
    video_ingest(job=job)
    assert_failed(video, job, "runs past the 2 s limit", s3_storage, s3_server)


def test_a_source_missing_from_storage_fails_clearly(project, s3_storage, s3_server, tmp_path,
                                                     django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    storage.delete_keys([video.source_uri])
    video_ingest(job=job)
    assert_failed(video, job, "could not be read from storage", s3_storage, s3_server)
    assert "it is not there" in video.status_message


def test_a_job_whose_video_was_deleted_returns_quietly(project, s3_storage, tmp_path,
                                                       django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    video.delete()  # its jobs go with it
    assert video_ingest(job=job) is None
    assert not Job.objects.filter(pk=job.pk).exists()


def test_a_storage_outage_puts_the_job_back_for_a_retry(
        project, s3_storage, s3_server, tmp_path, django_capture_on_commit_callbacks, monkeypatch) -> None:
    from botocore.exceptions import EndpointConnectionError
    from storages.backends.s3 import S3Storage

    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    real_save = S3Storage.save
    calls = {"n": 0}

    def flaky_save(self, name, content, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise EndpointConnectionError(endpoint_url="http://s3.invalid")
        return real_save(self, name, content, *args, **kwargs)

    monkeypatch.setattr(S3Storage, "save", flaky_save)
    with pytest.raises(TransientStorageError, match="storage did not answer"):
        video_ingest(job=job)
    video.refresh_from_db()
    job.refresh_from_db()
    assert (video.status, job.status) == (Video.Status.UPLOADED, Job.Status.QUEUED)
    assert bucket_keys(s3_storage, s3_server, f"videos/{video.pk}/frames/") == []

    monkeypatch.setattr(S3Storage, "save", real_save)
    assert video_ingest(job=job).status == Job.Status.SUCCEEDED  # the retry claims it again
    assert job.attempts + 1 == Job.objects.get(pk=job.pk).attempts


def test_a_cancelled_ingest_stops_and_cleans_up(project, s3_storage, s3_server, tmp_path, monkeypatch,
                                                django_capture_on_commit_callbacks) -> None:
    monkeypatch.setattr(ingest, "PROGRESS_SECONDS", 0.0)
    video, job = upload(project, make_clip(tmp_path, frames=120), django_capture_on_commit_callbacks)

    def cancel_midway(done: int, total: int) -> None:
        if done >= 50:
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    finished = video_ingest(job=job, on_progress=cancel_midway)
    video.refresh_from_db()
    assert finished.status == Job.Status.CANCELLED
    assert video.status == Video.Status.FAILED and "cancelled" in video.status_message
    assert bucket_keys(s3_storage, s3_server, f"videos/{video.pk}/") == []


def test_local_storage_works_too(project, media_root, tmp_path, django_capture_on_commit_callbacks) -> None:
    video, job = upload(project, make_clip(tmp_path), django_capture_on_commit_callbacks)
    video_ingest(job=job)
    video.refresh_from_db()
    assert video.status == Video.Status.READY
    assert sorted(p.name for p in (media_root / f"videos/{video.pk}/frames").iterdir()) == [
        f"{i:05d}.jpg" for i in range(12)]
