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
