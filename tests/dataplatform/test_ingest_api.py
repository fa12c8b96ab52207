"""Upload and registration through the API: what an admin's browser gets back (ingest run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from dataplatform.media.synth import write_video
from dataplatform.models import Job, Video
from dataplatform.services.ingest import video_ingest
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def test_upload_answers_201_and_the_ingested_video_serves_its_frames(
        admin_user, api_client_for, project, s3_storage, tmp_path: Path, django_capture_on_commit_callbacks) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=24, frames=48)
    client = api_client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/api/projects/{project.pk}/videos/",
                               {"file": SimpleUploadedFile("clip.mp4", path.read_bytes())}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["video"]["status"] == "uploaded" and body["job"]["status"] == "queued"
    assert len(queued) == 1

    video_ingest(job=Job.objects.get(pk=body["job"]["id"]))

    detail = client.get(f"/api/videos/{body['video']['id']}/").json()
    assert (detail["status"], detail["frame_count"], detail["width"], detail["height"]) == ("ready", 12, 320, 240)
    assert len(detail["frame_urls"]) == 12
    frame = requests.get(detail["frame_urls"][11], timeout=10)
    assert frame.status_code == 200 and frame.content[:3] == b"\xff\xd8\xff"
    assert requests.get(detail["thumbnail_url"], timeout=10).content[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.mp4", b"not a video, just words\n" * 30, "This is a text file, not a video"),
    ("photo.mp4", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "This is a PNG image, not a video"),
    ("noise.mp4", bytes(range(256)) * 40, "This file is not a video FFmpeg can read"),
])
def test_upload_of_a_non_video_answers_400_with_the_reason(admin_user, api_client_for, project, s3_storage,
                                                           name: str, content: bytes, message: str) -> None:
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/",
                                               {"file": SimpleUploadedFile(name, content)}, format="multipart")
    assert response.status_code == 400
    error = error_of(response)
    assert message in error["message"] and error["extra"] == {"file": name}
    assert Video.objects.count() == 0 and Job.objects.count() == 0


def test_registering_a_missing_key_answers_400(admin_user, api_client_for, project, s3_storage) -> None:
    response = api_client_for(admin_user).post(f"/api/projects/{project.pk}/videos/register/",
                                               {"uri": f"s3://{s3_storage}/nothing/here.mp4"}, format="json")
    assert response.status_code == 400
    expected = f"Nothing is stored at 's3://{s3_storage}/nothing/here.mp4'. Check the bucket and the key."
    assert error_of(response)["message"] == expected
