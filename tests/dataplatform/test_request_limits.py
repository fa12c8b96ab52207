"""No request shape is a server error: a body too large (413), too many form fields or files, JSON
nested too deep or not UTF-8 (400) are answered in the one error shape on every kind of view, anonymous
requests included, and logged in one line without a traceback."""

from __future__ import annotations

import itertools
import json
import logging
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from dataplatform.api.parsers import JSON_MAX_DEPTH, JSONParser
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db

_addresses = itertools.count(1)

TOO_MANY_FIELDS = urlencode({f"field{i}": "x" for i in range(1001)})
TOO_LARGE = json.dumps({"username": "someone", "password": "x" * (10 * 1024 * 1024)})
TOO_DEEP = "[" * 5000 + "]" * 5000
NOT_UTF8 = b'{"username": "\xff\xfe", "password": "x"}'
FORM = "application/x-www-form-urlencoded"
TOO_MANY_FILES = b"".join(b'--b\r\nContent-Disposition: form-data; name="file"; filename="f%d.json"\r\n\r\n{}\r\n' % i
                          for i in range(101)) + b"--b--\r\n"


@pytest.fixture
def callers(user_factory):
    """Request headers per caller: none for the anonymous, a token for the others."""
    from dataplatform.services.users import user_token

    def header(role):
        return {"HTTP_AUTHORIZATION": f"Token {user_token(user=user_factory(role)).key}"}

    return {"anonymous": {}, "admin": header("admin"), "annotator": header("annotator")}


# (who, path): anonymous endpoints first (the token and the browser's login), then an admin's
# and an annotator's writes.
ENDPOINTS = [
    ("anonymous", "/api/auth/token/"),
    ("anonymous", "/api/auth/login/"),
    ("admin", "/api/projects/"),
    ("admin", "/api/exports/"),
    ("annotator", "/api/tasks/next/"),
]
SHAPES = {
    "too many fields": (TOO_MANY_FIELDS.encode(), FORM, 400, "too_many_fields"),
    "too many files": (TOO_MANY_FILES, "multipart/form-data; boundary=b", 400, "too_many_files"),
    "body too large": (TOO_LARGE.encode(), "application/json", 413, "too_large"),
    "nested too deep": (TOO_DEEP.encode(), "application/json", 400, "parse_error"),
    "not UTF-8": (NOT_UTF8, "application/json", 400, "parse_error"),
    "unknown charset": (b'{"a": 1}', "application/json; charset=no-such-codec", None, None),
}


def post(client: Client, path: str, body: bytes, content_type: str, **headers):
    # A new address per request: login throttling counts per address, and none of these is a login.
    n = next(_addresses)
    return client.generic("POST", path, body, content_type=content_type, REMOTE_ADDR=f"10.1.{n // 250}.{n % 250 + 1}",
                          **headers)


def browser() -> Client:
    """A client with the CSRF cookie a browser holds after loading the login page."""
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    assert client.get("/api/auth/csrf/").status_code == 200
    return client


def assert_one_line_without_traceback(caplog, *, lines: int = 1) -> None:
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == lines, [r.getMessage() for r in records]
    assert all(r.exc_info is None for r in records) and "Traceback" not in caplog.text, caplog.text


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("who, path", ENDPOINTS, ids=[f"{w} {p}" for w, p in ENDPOINTS])
def test_a_hostile_body_is_a_client_error_in_the_shape_and_one_log_line(shape, who, path, callers, caplog):
    body, content_type, status, code = SHAPES[shape]
    client = browser()
    caplog.set_level(logging.INFO)
    response = post(client, path, body, content_type, **callers[who])
    if status is not None:
        assert response.status_code == status, response.content[:300]
        assert error_of(response)["code"] == code
    else:  # read as UTF-8: an answer as to any other body
        assert response.status_code < 500, response.content[:300]
    assert_one_line_without_traceback(caplog, lines=1 if response.status_code >= 400 else 0)


def test_the_messages_name_the_limits(caplog):
    client = Client(raise_request_exception=False)
    too_large = error_of(post(client, "/api/auth/token/", TOO_LARGE.encode(), "application/json"))
    assert "larger than the limit (10 MiB)" in too_large["message"]
    fields = error_of(post(client, "/api/auth/token/", TOO_MANY_FIELDS.encode(), FORM))
    assert "more than 1000 fields" in fields["message"]
    deep = error_of(post(client, "/api/auth/token/", TOO_DEEP.encode(), "application/json"))
    assert f"nested more than {JSON_MAX_DEPTH} levels deep" in deep["message"]


def test_the_depth_bound_is_exact(admin_user, api_client_for):
    client = api_client_for(admin_user)

    def nested(depth: int) -> str:  # an object whose description sits ``depth`` levels deep
        return '{"name": "Deep", "description": "d", "x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"

    assert client.post("/api/projects/", nested(JSON_MAX_DEPTH), content_type="application/json").status_code == 201
    refused = client.post("/api/projects/", nested(JSON_MAX_DEPTH + 1), content_type="application/json")
    assert refused.status_code == 400 and error_of(refused)["code"] == "parse_error"


def test_a_browser_asking_for_html_gets_the_refusal_too(caplog):
    client = Client(raise_request_exception=False)
    caplog.set_level(logging.INFO)
    response = post(client, "/api/auth/token/", TOO_LARGE.encode(), "application/json", HTTP_ACCEPT="text/html")
    assert response.status_code == 413
    assert_one_line_without_traceback(caplog)


@pytest.mark.parametrize("shape", ["too many fields", "body too large"])
def test_views_outside_the_api_refuse_them_too(shape, caplog):
    """The admin's login form: Django's CSRF check reads the form before any view does."""
    body, _, status, _ = SHAPES[shape]
    client = browser()
    caplog.set_level(logging.INFO)
    response = post(client, "/admin/login/", body, FORM)
    assert response.status_code == status
    page = b"Request Entity Too Large (413)" if status == 413 else b"Bad Request (400)"
    assert page in response.content and b"The request" in response.content
    assert_one_line_without_traceback(caplog)


def _views(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield str(pattern.pattern), getattr(pattern.callback, "cls", None)


def test_every_api_view_reads_json_with_the_depth_bound():
    """The mechanism, for views to come: an API view that takes a body reads JSON with the bound."""
    checked = 0
    for route, view in _views():
        if view is None or not issubclass(view, APIView):
            continue
        if not any(hasattr(view, method) for method in ("post", "put", "patch", "delete")):
            continue  # reads no body (the schema, the docs)
        json_parsers = [p for p in view.parser_classes if p.media_type == "application/json"]
        assert all(issubclass(p, JSONParser) for p in json_parsers), (route, json_parsers)
        checked += 1
    assert checked >= 25  # the walk found the API
