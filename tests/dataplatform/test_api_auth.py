"""Authentication: tokens for API clients, sessions with CSRF for the browser, roles in /me."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.dataplatform.conftest import error_of, password_for

pytestmark = pytest.mark.django_db


def test_token_from_username_and_password_authenticates(annotator, anon_client):
    response = anon_client.post("/api/auth/token/", {"username": annotator.username,
                                                     "password": password_for(annotator.username)},
                                format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=annotator).key == token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["username"] == annotator.username
    assert me.json()["roles"] == ["annotator"]


def test_same_token_twice_and_revoke(annotator, anon_client, api_client_for):
    credentials = {"username": annotator.username, "password": password_for(annotator.username)}
    first = anon_client.post("/api/auth/token/", credentials, format="json").json()["token"]
    second = anon_client.post("/api/auth/token/", credentials, format="json").json()["token"]
    assert first == second

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401
    third = anon_client.post("/api/auth/token/", credentials, format="json").json()["token"]
    assert third != first


@pytest.mark.parametrize("body", [
    {"username": "nobody", "password": "x"},
    {"username": "annotator-x", "password": "wrong"},
])
def test_token_with_wrong_credentials_is_400(anon_client, user_factory, body):
    user_factory("annotator", username="annotator-x")
    response = anon_client.post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_credentials"


def test_token_for_disabled_user_is_refused(user_factory, anon_client):
    user = user_factory("admin", is_active=False)
    response = anon_client.post("/api/auth/token/", {"username": user.username,
                                                     "password": password_for(user.username)}, format="json")
    assert response.status_code == 400


def test_token_needs_both_fields(anon_client):
    response = anon_client.post("/api/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "password" in error["fields"]


def test_bad_token_is_401_in_the_error_shape(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = anon_client.get("/api/projects/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_no_credentials_is_401_with_challenge(anon_client):
    response = anon_client.get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_of(response)["code"] == "not_authenticated"


def test_me_lists_roles_and_staff_counts_as_admin(user_factory, api_client_for):
    both = user_factory(("annotator", "reviewer"))
    staff = user_factory(None, is_staff=True)
    nobody = user_factory(None)
    assert api_client_for(both).get("/api/auth/me/").json()["roles"] == ["annotator", "reviewer"]
    assert api_client_for(staff).get("/api/auth/me/").json()["roles"] == ["admin"]
    me = api_client_for(nobody).get("/api/auth/me/")
    assert me.status_code == 200 and me.json()["roles"] == []


def test_user_without_a_role_is_403_on_the_platform(user_factory, api_client_for):
    response = api_client_for(user_factory(None)).get("/api/projects/")
    assert response.status_code == 403
    assert "role" in error_of(response)["message"]


# ---- Browser sessions ---------------------------------------------------------------------------


def _csrf(client: Client) -> str:
    response = client.get("/api/auth/csrf/")
    assert response.status_code == 200
    token = response.json()["csrf_token"]
    assert client.cookies["csrftoken"].value
    return token


def test_session_login_me_logout(reviewer):
    client = Client(enforce_csrf_checks=True)
    token = _csrf(client)
    response = client.post("/api/auth/login/", {"username": reviewer.username,
                                                "password": password_for(reviewer.username)},
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == ["reviewer"]
    assert client.get("/api/auth/me/").json()["username"] == reviewer.username

    # Login rotates the CSRF token: the new one comes in the cookie.
    token = client.cookies["csrftoken"].value
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_session_login_without_csrf_is_403(reviewer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/auth/login/", {"username": reviewer.username,
                                                "password": password_for(reviewer.username)},
                           content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert "_auth_user_id" not in client.session


def test_session_login_wrong_password(reviewer):
    client = Client(enforce_csrf_checks=True)
    token = _csrf(client)
    response = client.post("/api/auth/login/", {"username": reviewer.username, "password": "nope"},
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_credentials"


def test_session_post_without_csrf_is_refused(admin_user, session_client_for):
    client = session_client_for(admin_user)
    assert client.get("/api/projects/").status_code == 200  # reads need no token
    response = client.post("/api/projects/", {"name": "No CSRF"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]

    token = _csrf(client)
    response = client.post("/api/projects/", {"name": "With CSRF"}, content_type="application/json",
                           HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content


def test_token_post_needs_no_csrf(admin_user, api_client_for):
    client = api_client_for(admin_user)
    client.handler.enforce_csrf_checks = True
    assert client.post("/api/projects/", {"name": "Token"}, format="json").status_code == 201


def test_session_logout_needs_csrf(reviewer, session_client_for):
    client = session_client_for(reviewer)
    response = client.post("/api/auth/logout/")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert client.get("/api/auth/me/").status_code == 200  # still logged in


def test_logout_without_being_logged_in_is_401(anon_client):
    assert anon_client.post("/api/auth/logout/").status_code == 401
