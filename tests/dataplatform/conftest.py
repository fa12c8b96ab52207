"""Users, roles and API clients, for the platform's API tests and any app's API tests.

- ``user_factory(role=None, **fields)``: a user holding ``role`` ("annotator", "reviewer",
  "admin", a tuple of them, or None for no role); password ``"pw-" + username``.
- ``api_client_for(user)``: a DRF APIClient authenticated with the user's token.
- ``session_client_for(user)``: a Django test client logged in with a session, CSRF checks on.
- ``annotator``, ``reviewer``, ``admin_user``: one user per role; ``anon_client``: no credentials.
- ``project``, ``video_factory(project=None, **fields)``, ``job_factory(**fields)``: rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from dataplatform.models import Job, Project, Video
from dataplatform.roles import ROLES
from dataplatform.services.users import user_set_roles, user_token

_numbers = itertools.count(1)


def password_for(username: str) -> str:
    return f"pw-{username}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """PBKDF2's million rounds cost a noticeable fraction of a second per user made or logged in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user_factory(db) -> Callable:
    from django.contrib.auth import get_user_model

    def make(role: str | tuple[str, ...] | None = None, *, username: str | None = None, **fields):
        roles = (role,) if isinstance(role, str) else tuple(role or ())
        assert set(roles) <= set(ROLES), roles
        username = username or f"{'-'.join(roles) or 'norole'}-{next(_numbers)}"
        user = get_user_model().objects.create_user(username=username, password=password_for(username),
                                                    **fields)
        if roles:
            user_set_roles(user=user, roles=roles)
        return user

    return make


@pytest.fixture
def api_client_for(db) -> Callable[..., APIClient]:
    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user).key}")
        return client

    return make


@pytest.fixture
def session_client_for(db) -> Callable[..., Client]:
    def make(user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def annotator(user_factory):
    return user_factory("annotator")


@pytest.fixture
def reviewer(user_factory):
    return user_factory("reviewer")


@pytest.fixture
def admin_user(user_factory):
    return user_factory("admin")


@pytest.fixture
def project(db) -> Project:
    return Project.objects.create(name=f"Project {next(_numbers)}")


@pytest.fixture
def video_factory(db, project) -> Callable[..., Video]:
    default_project = project

    def make(project: Project | None = None, *, ready: bool = False, **fields) -> Video:
        values = {"name": f"video-{next(_numbers)}.mp4", "source_uri": "videos/upload.mp4"}
        if ready:
            values.update(status=Video.Status.READY, frame_count=3, width=64, height=48, source_fps=24.0,
                          annotation_fps=6.0, duration=0.5, ready_at=timezone.now(),
                          frame_timestamps=[0.0, 0.1667, 0.3333])
        values.update(fields)
        return Video.objects.create(project=project or default_project, **values)

    return make


@pytest.fixture
def job_factory(db) -> Callable[..., Job]:
    def make(**fields) -> Job:
        fields.setdefault("kind", Job.Kind.INGEST)
        if fields.get("status") in (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED):
            fields.setdefault("finished_at", timezone.now())
        if fields.get("status") == Job.Status.FAILED:
            fields.setdefault("message", "It broke.")
        return Job.objects.create(**fields)

    return make


def error_of(response) -> dict:
    """The ``error`` object of an API error response, checking the one error shape on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert set(error) <= {"code", "message", "fields", "extra"}, body
    return error
