"""Django's side of the web UI: / and /app/… answer the build's index.html (with the CSRF cookie);
without a build, a page says how to make one; the API, admin and static routes keep theirs."""

from __future__ import annotations

import pytest

from dataplatform import web


@pytest.fixture
def built(tmp_path, monkeypatch):
    index = tmp_path / "index.html"
    index.write_text('<!doctype html><title>Masklet</title><script src="/static/assets/app.js"></script>')
    monkeypatch.setattr(web, "index_path", lambda: index)
    return index


@pytest.mark.parametrize("path", ["/", "/app", "/app/", "/app/annotate/tasks/12", "/app/review"])
def test_client_routes_answer_the_built_index(path, client, built, db):
    response = client.get(path)
    assert response.status_code == 200
    assert b"/static/assets/app.js" in response.content
    assert "csrftoken" in response.cookies
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_without_a_build_the_page_says_how_to_build(client, tmp_path, monkeypatch, db):
    monkeypatch.setattr(web, "index_path", lambda: tmp_path / "missing" / "index.html")
    response = client.get("/app/admin")
    assert response.status_code == 503
    assert b"make frontend" in response.content and b"npm install --no-save" in response.content


@pytest.mark.parametrize("path", ["/api/auth/me/", "/admin/login/", "/apps", "/static/nothing.js"])
def test_other_routes_are_not_the_web_ui(path, client, built, db):
    response = client.get(path)
    assert b"/static/assets/app.js" not in response.content
    assert response.status_code in (200, 302, 401, 403, 404)


def test_unsafe_methods_are_refused(client, built, db):
    assert client.post("/app/review").status_code in (403, 405)
