"""The exchange API: starting exports and imports, roles, errors in the one shape (no 500s)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Masklet
from annotation.services.exports import export_run
from annotation.services.imports import import_run
from dataplatform.models import Job
from tests.annotation.conftest import error_of
from tests.annotation.test_exchange import MANUAL, make_sav_video

pytestmark = pytest.mark.django_db


def sav_upload(data: bytes | None = None, name: str = "sav_000001_manual.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MANUAL.read_bytes() if data is None else data, "application/json")


def test_import_then_export_through_the_api(admin_user, api_client_for) -> None:
    client = api_client_for(admin_user)
    video = make_sav_video()
    response = client.post(f"/api/videos/{video.pk}/imports/", {"file": [sav_upload()]}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == "import" and body["status"] == "queued" and body["video"] == video.pk
    assert import_run(job_id=body["id"]).status == Job.Status.SUCCEEDED
    assert Masklet.objects.filter(video=video, status="accepted").count() == 5

    response = client.post("/api/exports/", {"format": "coco", "videos": [video.pk]}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    response = client.get(f"/api/exports/{job_id}/download/")
    assert response.status_code == 409 and error_of(response)["code"] == "not_ready"
    export_run(job_id=job_id)
    response = client.get(f"/api/exports/{job_id}/download/")
    assert response.status_code == 200
    assert response.json()["filename"] == f"masklet-export-{job_id}-coco.zip"
    job = client.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "succeeded" and job["result"]["url"]


@pytest.mark.parametrize(("payload", "message"), [
    ({"format": "sav"}, "Give either project or videos."),
    ({"format": "sav", "project": 1, "videos": [1]}, "Give either project or videos."),
    ({"format": "tiff", "videos": [1]}, "format:"),
    ({"format": "sav", "videos": [987654321]}, "No video with id 987654321."),
    ({"format": "sav", "project": 987654321}, "Project 987654321 does not exist."),
    ({"format": "sav", "videos": [1], "kinds": ["robot"]}, "kinds:"),
])
def test_export_bad_requests(admin_user, api_client_for, payload, message) -> None:
    response = api_client_for(admin_user).post("/api/exports/", payload, format="json")
    assert response.status_code in (400, 404)
    assert message in error_of(response)["message"]


def test_import_bad_uploads(admin_user, api_client_for) -> None:
    client = api_client_for(admin_user)
    video = make_sav_video(width=640)
    response = client.post(f"/api/videos/{video.pk}/imports/", {"file": [sav_upload()]}, format="multipart")
    assert response.status_code == 400
    assert "but video" in error_of(response)["message"] and "640×848" in error_of(response)["message"]
    response = client.post(f"/api/videos/{video.pk}/imports/", {"file": [sav_upload(b"{oops")]},
                           format="multipart")
    assert response.status_code == 400 and "not valid JSON" in error_of(response)["message"]
    response = client.post(f"/api/videos/{video.pk}/imports/", {}, format="multipart")
    assert response.status_code == 400 and error_of(response)["message"].startswith("file:")
    response = client.post("/api/videos/nope/imports/", {"file": [sav_upload()]}, format="multipart")
    assert response.status_code == 404
    response = client.post(f"/api/videos/{video.pk}/imports/", {"file": [sav_upload()], "status": "rejected"},
                           format="multipart")
    assert response.status_code == 400 and error_of(response)["message"].startswith("status:")
    assert not Job.objects.exists()


def test_exchange_needs_the_admin_role(annotator, api_client_for, anon_client) -> None:
    video = make_sav_video()
    response = api_client_for(annotator).post("/api/exports/", {"format": "sav", "videos": [video.pk]},
                                              format="json")
    assert response.status_code == 403 and error_of(response)["message"] == "This needs the admin role."
    response = api_client_for(annotator).post(f"/api/videos/{video.pk}/imports/",
                                              {"file": [io.BytesIO(json.dumps({}).encode())]}, format="multipart")
    assert response.status_code == 403
    assert anon_client.post("/api/exports/", {}, format="json").status_code == 401


def test_schema_has_the_exchange_operations(admin_user, api_client_for) -> None:
    response = api_client_for(admin_user).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/api/exports/"]
    assert "multipart/form-data" in paths["/api/videos/{video_id}/imports/"]["post"]["requestBody"]["content"]
    assert "get" in paths["/api/exports/{job_id}/download/"]
