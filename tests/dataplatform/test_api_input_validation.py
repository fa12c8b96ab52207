"""Empty names and filter values are refused, not ignored; a refused choice lists the values allowed.

DRF reads an empty form or query value of an optional field as absent: a PATCH of ``name=``
answered 200 and changed nothing, ``?split=`` listed everything. Every body and query string goes
through ``dataplatform.api.base.validated_input``, which refuses them with a 400 naming the field.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator

from annotation.services.tasks import task_create
from dataplatform.models import Project
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("body, content_type", [
    ({"name": ""}, "json"), ({"name": "   "}, "json"), ("name=", FORM), ("name=%20%20", FORM), ({"name": ""}, "multipart"),
], ids=["json empty", "json spaces", "form empty", "form spaces", "multipart empty"])
@pytest.mark.parametrize("kind", ["project", "video"])
def test_an_empty_name_is_refused_and_nothing_changes(kind, body, content_type, admin_user, api_client_for, project,
                                                      video_factory):
    row = project if kind == "project" else video_factory()
    before = row.name
    client = api_client_for(admin_user)
    url = f"/api/{kind}s/{row.pk}/"
    if content_type in ("json", "multipart"):
        response = client.patch(url, body, format=content_type)
    else:
        response = client.generic("PATCH", url, body, content_type=content_type)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert "name" in error["fields"] and error["message"].startswith("name: ")
    row.refresh_from_db()
    assert row.name == before


def test_a_new_project_needs_a_name(admin_user, api_client_for):
    response = api_client_for(admin_user).generic("POST", "/api/projects/", "name=&phase=2", content_type=FORM)
    assert response.status_code == 400 and "name" in error_of(response)["fields"]
    assert not Project.objects.exists()


@pytest.mark.parametrize("query, field, allowed", [
    ("status=bogus", "status", "Allowed: uploaded, ingesting, ready, failed."),
    ("split=", "split", "may not be empty. Allowed: unassigned, train, val, test."),
    ("status=", "status", "may not be empty. Allowed: uploaded, ingesting, ready, failed."),
    ("project=", "project", "may not be empty."),
])
def test_a_bad_or_empty_filter_is_refused_listing_what_is_allowed(query, field, allowed, annotator, api_client_for):
    response = api_client_for(annotator).get(f"/api/videos/?{query}")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert field in error["fields"] and allowed in error["message"], error


def test_an_empty_search_still_finds_everything(annotator, api_client_for, video_factory):
    video_factory()
    assert api_client_for(annotator).get("/api/videos/?search=").json()["count"] == 1


def test_a_refused_choice_in_a_body_lists_what_is_allowed(admin_user, api_client_for):
    client = api_client_for(admin_user)
    response = client.post("/api/exports/", {"format": "bogus", "project": 1}, format="json")
    assert "Allowed: sav, coco, davis, sav_png." in error_of(response)["message"]
    response = client.post("/api/exports/", {"format": "coco", "project": 1, "kinds": ["manual", "x"]}, format="json")
    assert error_of(response)["fields"]["kinds"] == {"1": ['"x" is not a valid choice. Allowed: manual, auto.']}


def _query_parameters():
    """(path, parameter, enum) of every GET operation's query parameters, from the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] not in ("page", "page_size", "search"):
                yield path, parameter["name"], parameter["schema"].get("enum")


def test_every_filter_of_every_endpoint_refuses_empty_and_unknown_values(user_factory, api_client_for, video_factory):
    """The mechanism, for filters to come: each query parameter the schema declares (but the
    pagination and the free-text search) answers an empty value, and an enum an unknown one, with
    a 400 naming it and, for an enum, every value allowed."""
    admin = user_factory(("admin", "annotator", "reviewer"))
    client = api_client_for(admin)
    video = video_factory(ready=True)
    task_create(video=video)
    from annotation.services.tasks import task_next_for

    task = task_next_for(user=admin)
    ids = {"project_id": video.project_id, "video_id": video.pk, "task_id": task.pk}
    checked = 0
    for path, name, enum in _query_parameters():
        url = path.format(**ids)
        cases = [("", "may not be empty")] + ([("no-such-value", "not a valid choice")] if enum else [])
        for value, message in cases:
            response = client.get(f"{url}?{urlencode({name: value})}")
            assert response.status_code == 400, (url, name, value, response.content)
            error = error_of(response)
            assert name in error["fields"] and message in str(error["fields"][name]), (url, name, error)
            if enum:
                assert f"Allowed: {', '.join(str(v) for v in enum if v != '')}." in error["message"], (url, error)
        checked += 1
    assert checked >= 20  # the schema's filters were found
