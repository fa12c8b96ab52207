"""The accounts API (admins): create with roles, search, change roles, deactivate; and bulk splits."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from dataplatform.models import Video
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def test_an_admin_creates_an_annotator_who_can_then_log_in(admin_user, api_client_for, anon_client):
    client = api_client_for(admin_user)
    created = client.post("/api/users/", {"username": "dana", "password": "a long password",
                                          "email": "dana@example.com", "roles": ["annotator"]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["roles"] == ["annotator"] and created.json()["is_active"] is True
    token = anon_client.post("/api/auth/token/", {"username": "dana", "password": "a long password"}, format="json")
    assert token.status_code == 200
    again = client.post("/api/users/", {"username": "DANA", "password": "a long password"}, format="json")
    assert again.status_code == 400 and "taken" in error_of(again)["message"]
    short = client.post("/api/users/", {"username": "eve", "password": "short"}, format="json")
    assert short.status_code == 400 and "password" in error_of(short)["fields"]
    found = client.get("/api/users/", {"search": "dan", "role": "annotator"}).json()
    assert [u["username"] for u in found["results"]] == ["dana"]


def test_deactivating_an_account_locks_it_out_and_roles_change(admin_user, user_factory, api_client_for):
    person = user_factory("annotator")
    their_client = api_client_for(person)
    assert their_client.get("/api/auth/me/").status_code == 200
    client = api_client_for(admin_user)
    changed = client.patch(f"/api/users/{person.pk}/", {"roles": ["reviewer"]}, format="json")
    assert changed.json()["roles"] == ["reviewer"]
    off = client.patch(f"/api/users/{person.pk}/", {"is_active": False}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert their_client.get("/api/auth/me/").status_code == 401  # the token went with the account
    inactive = client.get("/api/users/", {"is_active": "false"}).json()["results"]
    assert [u["username"] for u in inactive] == [person.username]


def test_an_admin_cannot_lock_themselves_out(admin_user, api_client_for):
    client = api_client_for(admin_user)
    for body in ({"is_active": False}, {"roles": ["annotator"]}):
        response = client.patch(f"/api/users/{admin_user.pk}/", body, format="json")
        assert response.status_code == 400 and "another admin" in error_of(response)["message"]
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_unknown_roles_and_users_are_refused(admin_user, api_client_for):
    client = api_client_for(admin_user)
    bad = client.post("/api/users/", {"username": "x", "password": "long enough", "roles": ["root"]}, format="json")
    assert bad.status_code == 400 and "roles" in error_of(bad)["fields"]
    assert client.patch("/api/users/999999/", {"is_active": False}, format="json").status_code == 404
    assert get_user_model().objects.filter(username="x").count() == 0


def test_bulk_split_assigns_all_or_none(admin_user, api_client_for, video_factory):
    a, b = video_factory(), video_factory()
    client = api_client_for(admin_user)
    done = client.post("/api/videos/split/", {"videos": [a.pk, b.pk], "split": "train"}, format="json")
    assert done.json() == {"updated": 2, "split": "train"}
    assert set(Video.objects.values_list("split", flat=True)) == {"train"}
    missing = client.post("/api/videos/split/", {"videos": [a.pk, 999999], "split": "val"}, format="json")
    assert missing.status_code == 400 and "999999" in error_of(missing)["message"]
    assert Video.objects.get(pk=a.pk).split == "train"
    too_many = client.post("/api/videos/split/", {"videos": list(range(1, 1002)), "split": "val"}, format="json")
    assert too_many.status_code == 400


def test_a_project_uses_a_ready_model_version_only(admin_user, api_client_for, project):
    from annotation.models import ModelVersion

    ready = ModelVersion.objects.create(name="ready", config_name="micro", status="ready")
    checking = ModelVersion.objects.create(name="checking", config_name="micro", status="validating")
    client = api_client_for(admin_user)
    ok = client.patch(f"/api/projects/{project.pk}/", {"model_version": ready.pk}, format="json")
    assert ok.status_code == 200 and ok.json()["model_version"] == ready.pk
    refused = client.patch(f"/api/projects/{project.pk}/", {"model_version": checking.pk}, format="json")
    assert refused.status_code == 400 and "not ready" in error_of(refused)["message"]
    cleared = client.patch(f"/api/projects/{project.pk}/", {"model_version": None}, format="json")
    assert cleared.json()["model_version"] is None


def test_text_fields_take_strings_only(admin_user, api_client_for):
    client = api_client_for(admin_user)
    project = client.post("/api/projects/", {"name": "0", "description": 0}, format="json")
    assert project.status_code == 400 and "description" in error_of(project)["fields"]
    user = client.post("/api/users/", {"username": 12345, "password": "long enough"}, format="json")
    assert user.status_code == 400 and "username" in error_of(user)["fields"]


def test_is_active_is_a_boolean_only_true_or_false(admin_user, user_factory, api_client_for):
    """As the schema says (``type: boolean``): JSON's true/false or "true"/"false" in a form; DRF alone
    took 0, 1, "yes" or "on" too."""
    person = user_factory("annotator")
    client = api_client_for(admin_user)
    for value in ("0", "yes", "on"):
        response = client.patch(f"/api/users/{person.pk}/", {"is_active": value}, format="multipart")
        assert response.status_code == 400, (value, response.content)
    person.refresh_from_db()
    assert person.is_active
    response = client.patch(f"/api/users/{person.pk}/", {"is_active": "false"}, format="multipart")
    assert response.status_code == 200 and response.json()["is_active"] is False
