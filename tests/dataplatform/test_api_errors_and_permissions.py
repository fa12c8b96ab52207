"""Every error class in the one JSON shape. (The permission matrix of every endpoint:
tests/test_permission_matrix.py.)"""

from __future__ import annotations

import pytest
from django.utils import timezone

from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def test_unexpected_error_is_500_in_the_shape_and_logged(admin_user, api_client_for, monkeypatch, caplog):
    def explode():
        raise RuntimeError("database on fire")

    monkeypatch.setattr("dataplatform.api.projects.project_list", explode)
    response = api_client_for(admin_user).get("/api/projects/")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert "on fire" not in error["message"]  # internals are logged, not shown
    assert "database on fire" in caplog.text


def test_application_errors_keep_their_status_code_and_extra(admin_user, api_client_for, monkeypatch):
    def conflict(**kwargs):
        raise ConflictError("Someone changed it first.", {"current": 3})

    monkeypatch.setattr("dataplatform.api.projects.project_create", conflict)
    response = api_client_for(admin_user).post("/api/projects/", {"name": "x"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "conflict", "message": "Someone changed it first.",
                                         "extra": {"current": 3}}}

    def invalid(**kwargs):
        raise ApplicationError("No.")

    monkeypatch.setattr("dataplatform.api.projects.project_create", invalid)
    response = api_client_for(admin_user).post("/api/projects/", {"name": "x"}, format="json")
    assert response.status_code == 400 and response.json() == {"error": {"code": "invalid", "message": "No."}}


def test_each_error_class_in_one_shape(admin_user, annotator, api_client_for, anon_client, job_factory):
    client = api_client_for(admin_user)
    done = job_factory(status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    cases = [
        (client.post("/api/projects/", {"phase": 9}, format="json"), 400, "invalid"),
        (anon_client.get("/api/videos/"), 401, "not_authenticated"),
        (api_client_for(annotator).post("/api/projects/", {"name": "x"}, format="json"), 403, "permission_denied"),
        (client.get("/api/videos/123456789/"), 404, "not_found"),
        (client.put("/api/videos/"), 405, "method_not_allowed"),
        (client.post(f"/api/jobs/{done.pk}/cancel/"), 409, "conflict"),
        (client.post("/api/projects/", "x", content_type="text/plain"), 415, "unsupported_media_type"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert error_of(response)["code"] == code
    fields = error_of(cases[0][0])["fields"]
    assert set(fields) == {"name", "phase"}


@pytest.mark.parametrize("method, url, body", [
    ("get", "/api/videos/?search=a%00b", None),
    ("get", "/api/videos/?project=1e3", None),
    ("get", "/api/videos/?status=READY", None),
    ("get", "/api/jobs/?video=%F0%9F%8E%A5", None),
    ("get", "/api/jobs/?project=9223372036854775808", None),
    ("get", "/api/projects/?page_size=null", None),
    ("get", "/api/videos/?page_size=", None),
    ("post", "/api/projects/", {"name": "a\x00b"}),
    ("post", "/api/projects/", {"name": "P", "annotation_fps": "Infinity"}),
    ("post", "/api/projects/", {"name": "P", "phase": None}),
    ("post", "/api/projects/", {"name": {"nested": "object"}}),
    ("patch", "/api/projects/{p}/", {"annotation_fps": "NaN"}),
    ("patch", "/api/videos/{v}/", {"split": ["train"]}),
    ("post", "/api/projects/{p}/videos/register/", {"uri": "a\x00b.mp4"}),
    ("post", "/api/projects/{p}/videos/register/", {"uri": 42}),
])
def test_nasty_inputs_are_400_not_500(method, url, body, admin_user, api_client_for, project, video_factory):
    video = video_factory()
    url = url.format(p=project.pk, v=video.pk)
    client = api_client_for(admin_user)
    response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"


def test_json_nan_is_a_parse_error(admin_user, api_client_for, project):
    response = api_client_for(admin_user).patch(f"/api/projects/{project.pk}/", '{"annotation_fps": NaN}',
                                                content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "parse_error"


def test_fallback_handlers_answer_api_paths_in_the_shape(rf):
    import json

    from dataplatform.api.fallback import handler404, handler500

    response = handler404(rf.get("/api/no-such-thing/"), None)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"]["code"] == "not_found"
    response = handler500(rf.get("/api/projects/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
    assert handler404(rf.get("/app/nowhere"), None)["Content-Type"].startswith("text/html")


def test_unknown_api_path_is_404(annotator, api_client_for):
    response = api_client_for(annotator).get("/api/no-such-thing/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("body", [b"--b0\r\n-85064007--b0--\r\n", b"--b0\r\n[]--b0--\r\n",
                                  b"--b0\r\nno headers\r\n\r\nvalue\r\n--b0--\r\n"])
def test_multipart_body_without_a_named_field_is_a_parse_error(body, annotator, api_client_for):
    client = api_client_for(annotator)
    response = client.generic("POST", "/api/tasks/next/", body, content_type="multipart/form-data; boundary=b0")
    assert response.status_code == 400 and error_of(response)["code"] == "parse_error"
    # An empty form is still one: the queue answers (204, nothing queued).
    empty = client.generic("POST", "/api/tasks/next/", b"--b0--\r\n", content_type="multipart/form-data; boundary=b0")
    assert empty.status_code == 204
