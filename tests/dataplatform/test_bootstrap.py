"""``manage.py bootstrap [--demo]``: groups, the default model version, demo logins that work."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import ModelVersion
from annotation.services.modelversions import DEFAULT_MODEL_VERSION_NAME, model_version_ensure_default
from dataplatform.models import Project
from dataplatform.roles import user_roles

pytestmark = pytest.mark.django_db


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap", *args, stdout=out)
    return out.getvalue()


def logins(output: str) -> dict[str, tuple[str, str, str]]:
    """username → (password, role, token), read back from the printed table."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("username"))
    rows = {}
    for line in lines[header + 2:]:
        username, password, role, token = line.split()
        rows[username] = (password, role, token)
    return rows


def test_bootstrap_makes_groups_and_default_model_version(settings):
    output = bootstrap()
    assert set(Group.objects.values_list("name", flat=True)) >= {"annotator", "reviewer", "admin"}
    version = ModelVersion.objects.get(is_active=True)
    assert (version.name, version.config_name, version.checkpoint_key) == (
        DEFAULT_MODEL_VERSION_NAME, settings.ENGINE_DEFAULT_CONFIG, "")
    assert version.promoted_at is not None
    assert "micro-shipped" in output
    assert not get_user_model().objects.exists()  # no demo users without --demo


def test_demo_logins_printed_and_working():
    rows = logins(bootstrap("--demo"))
    assert set(rows) == {"annotator", "reviewer", "admin"}
    for username, (password, role, token) in rows.items():
        user = get_user_model().objects.get(username=username)
        assert user_roles(user) == [role]
        assert user.check_password(password)
        assert Token.objects.get(user=user).key == token
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/auth/me/").json()["roles"] == [role]
        assert APIClient().post("/api/auth/token/", {"username": username, "password": password},
                                format="json").json()["token"] == token
    assert get_user_model().objects.get(username="admin").is_staff
    assert not get_user_model().objects.get(username="annotator").is_staff
    assert Project.objects.filter(name="Demo").count() == 1


def test_bootstrap_is_idempotent():
    first = logins(bootstrap("--demo"))
    user = get_user_model().objects.get(username="reviewer")
    user.set_password("changed")
    user.save()
    second = logins(bootstrap("--demo"))
    assert first == second  # same tokens; the demo password is reset to the printed one
    assert get_user_model().objects.get(username="reviewer").check_password(second["reviewer"][0])
    assert Group.objects.filter(name__in=["annotator", "reviewer", "admin"]).count() == 3
    assert get_user_model().objects.count() == 3
    assert Project.objects.filter(name="Demo").count() == 1
    assert ModelVersion.objects.filter(is_active=True).count() == 1
    assert ModelVersion.objects.count() == 1
    bootstrap()
    assert get_user_model().objects.count() == 3


def test_default_model_version_keeps_a_promoted_version_active():
    promoted = ModelVersion.objects.create(name="round-3", config_name="micro", checkpoint_key="models/r3",
                                           is_active=True)
    assert model_version_ensure_default() == promoted
    assert ModelVersion.objects.count() == 1
    ModelVersion.objects.filter(pk=promoted.pk).update(is_active=False)
    default = model_version_ensure_default()
    assert default.name == DEFAULT_MODEL_VERSION_NAME and default.is_active
