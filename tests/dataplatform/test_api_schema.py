"""The OpenAPI schema is valid without warnings, and the docs page works offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_spectacular_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for path in ["/api/auth/token/", "/api/auth/login/", "/api/auth/me/", "/api/projects/",
                 "/api/projects/{project_id}/", "/api/projects/{project_id}/videos/",
                 "/api/projects/{project_id}/videos/register/", "/api/videos/", "/api/videos/{video_id}/",
                 "/api/jobs/", "/api/jobs/{job_id}/", "/api/jobs/{job_id}/cancel/"]:
        assert path in paths, path
    upload = paths["/api/projects/{project_id}/videos/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    error = schema["components"]["schemas"]["Error"]
    assert "error" in error["properties"]
    filters = {p["name"] for p in paths["/api/videos/"]["get"]["parameters"]}
    assert {"project", "status", "split", "search", "page", "page_size"} <= filters


@pytest.mark.django_db
def test_schema_endpoint_serves_json(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/videos/" in response.json()["paths"]


@pytest.mark.django_db
def test_docs_page_uses_bundled_assets_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "https://"):
        assert cdn not in html, cdn
    # The assets it names are shipped with the package (collectstatic gathers them).
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "favicon-32x32.png"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset


# ---- The schema says what responses hold --------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("component, field", [
    ("Task", "assignee"), ("Job", "created_by"), ("ModelVersion", "created_by"), ("MaskletDetail", "review_assignee"),
    ("Revision", "author"), ("RetrainingRound", "created_by"),
])
def test_fields_that_may_be_empty_are_declared_nullable(schema, component, field):
    assert schema["components"]["schemas"][component]["properties"][field].get("nullable") is True


def test_creating_tasks_is_declared_to_answer_a_list_not_a_page(schema):
    tasks = schema["paths"]["/api/tasks/"]
    created = tasks["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}
    assert not {p["name"] for p in tasks["post"].get("parameters", [])} & {"page", "page_size"}
    listed = tasks["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed == {"$ref": "#/components/schemas/PaginatedTaskList"}


def _api_model_serializers() -> list[type]:
    from django.urls import get_resolver
    from rest_framework import serializers

    get_resolver().url_patterns  # imports every API module  # noqa: B018
    found, todo = [], [serializers.ModelSerializer]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(("dataplatform.api", "annotation.api")):
            found.append(cls)
    return found


def test_every_output_field_over_a_nullable_column_is_declared_nullable():
    """The mechanism: a field whose source passes through a nullable column (an author whose
    account is gone, a task nobody holds) is ``allow_null``, so the schema says it may be null."""
    from django.core.exceptions import FieldDoesNotExist
    from rest_framework import serializers

    checked = 0
    for cls in _api_model_serializers():
        for name, field in cls().fields.items():
            if isinstance(field, serializers.SerializerMethodField):
                continue  # typed by their return annotation or extend_schema_field
            model, nullable = cls.Meta.model, False
            for attr in field.source_attrs:
                try:
                    column = model._meta.get_field(attr)
                except FieldDoesNotExist:
                    break  # a method or property (get_phase_display)
                nullable = nullable or column.null
                model = column.related_model or model
            assert field.allow_null or not nullable, f"{cls.__name__}.{name} may be null: allow_null=True"
            checked += 1
    assert checked > 50
