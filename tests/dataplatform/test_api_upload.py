"""Upload and URI registration through the API (the ingest service does the work)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from dataplatform import storage
from dataplatform.media.synth import write_video
from dataplatform.models import Job, Video
from tests.conftest import wait_for
from tests.dataplatform.conftest import error_of


def clip(tmp_path: Path, name: str = "clip.mp4", **kwargs) -> Path:
    path = tmp_path / name
    write_video(path, **{"fps": 24, "frames": 24, "width": 96, "height": 64, **kwargs})
    return path


def upload_body(path: Path, **fields) -> dict:
    return {"file": SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/mp4"), **fields}


@pytest.mark.django_db
def test_admin_uploads_a_video_and_gets_its_ingest_job(admin_user, api_client_for, project, tmp_path,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/",
                                                   upload_body(clip(tmp_path), name="Kitchen"),
                                                   format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["video"]["name"] == "Kitchen" and body["video"]["status"] == "uploaded"
    assert body["job"]["kind"] == "ingest" and body["job"]["status"] == "queued"
    assert body["job"]["video"] == body["video"]["id"]
    assert len(callbacks) == 1  # the ingest task is queued after commit
    video = Video.objects.get(pk=body["video"]["id"])
    assert video.project == project and video.created_by == admin_user
    assert storage.exists(video.source_uri)


@pytest.mark.django_db
def test_upload_name_defaults_to_the_file_name(admin_user, api_client_for, project, tmp_path):
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/",
                                               upload_body(clip(tmp_path, "beach.mp4")), format="multipart")
    assert response.status_code == 201
    assert response.json()["video"]["name"] == "beach.mp4"


@pytest.mark.django_db
def test_not_a_video_is_refused_at_once_with_the_reason(admin_user, api_client_for, project):
    body = {"file": SimpleUploadedFile("notes.mp4", b"these are not frames" * 100, content_type="video/mp4")}
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/", body, format="multipart")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid" and len(error["message"]) > 10
    assert not Video.objects.exists() and not Job.objects.exists()


@pytest.mark.django_db
def test_upload_validation(admin_user, api_client_for, project):
    client = api_client_for(admin_user)
    response = client.post(f"/api/projects/{project.pk}/videos/", {}, format="multipart")
    assert response.status_code == 400 and "file" in error_of(response)["fields"]
    response = client.post(f"/api/projects/{project.pk}/videos/", {"file": "text, not a file"},
                           format="multipart")
    assert response.status_code == 400 and "file" in error_of(response)["fields"]
    response = client.post(f"/api/projects/{project.pk}/videos/", {"file": "x"}, format="json")
    assert response.status_code == 415
    response = client.post("/api/projects/77777/videos/", {}, format="multipart")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_only_admins_upload_or_register(role, user_factory, api_client_for, project, tmp_path):
    client = api_client_for(user_factory(role))
    response = client.post(f"/api/projects/{project.pk}/videos/", upload_body(clip(tmp_path)), format="multipart")
    assert response.status_code == 403
    response = client.post(f"/api/projects/{project.pk}/videos/register/", {"uri": "a/b.mp4"}, format="json")
    assert response.status_code == 403
    assert not Video.objects.exists()


@pytest.mark.django_db
def test_register_a_uri_in_the_bucket(s3_storage, admin_user, api_client_for, project, tmp_path):
    path = clip(tmp_path)
    with path.open("rb") as handle:
        storage.put_file("incoming/clip.mp4", handle)
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/register/",
                                               {"uri": f"s3://{s3_storage}/incoming/clip.mp4"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["video"]["name"] == "clip.mp4" and body["video"]["source_kind"] == "uri"
    assert body["job"]["status"] == "queued"


@pytest.mark.django_db
@pytest.mark.parametrize("uri", ["s3://someone-elses/clip.mp4", "https://example.com/clip.mp4", "/etc/passwd",
                                 "missing/clip.mp4", "folder/", "../up.mp4"])
def test_register_bad_uris_are_400(uri, s3_storage, admin_user, api_client_for, project):
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/register/", {"uri": uri},
                                               format="json")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"
    assert not Video.objects.exists()


@pytest.mark.django_db
def test_register_needs_a_uri(admin_user, api_client_for, project):
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/register/", {}, format="json")
    assert response.status_code == 400 and "uri" in error_of(response)["fields"]


@pytest.mark.slow
def test_upload_ingest_and_fetch_frames_end_to_end(live_platform, user_factory, api_client_for, tmp_path):
    """The production path: upload over the API, a real worker ingests, the UI polls the job,
    then fetches presigned frame URLs from S3."""
    from dataplatform.models import Project

    admin = user_factory("admin")
    client = api_client_for(admin)
    project = Project.objects.create(name="Live", annotation_fps=6)
    response = client.post(f"/api/projects/{project.pk}/videos/", upload_body(clip(tmp_path, frames=48)),
                           format="multipart")
    assert response.status_code == 201, response.content
    job_id, video_id = response.json()["job"]["id"], response.json()["video"]["id"]

    def finished():
        job = client.get(f"/api/jobs/{job_id}/").json()
        return job if job["status"] not in ("queued", "running") else None

    job = wait_for(finished, timeout=90, what="the ingest job to finish")
    assert job["status"] == "succeeded", job
    assert job["progress"]["percent"] == 100.0
    video = client.get(f"/api/videos/{video_id}/").json()
    assert video["status"] == "ready" and video["frame_count"] == 12  # 2 s at 6 fps
    assert len(video["frame_urls"]) == 12
    frame = requests.get(video["frame_urls"][-1], timeout=10)
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"  # a JPEG
    assert requests.get(video["thumbnail_url"], timeout=10).status_code == 200
    assert client.get(f"/api/projects/{project.pk}/").json()["video_counts"]["ready"] == 1
