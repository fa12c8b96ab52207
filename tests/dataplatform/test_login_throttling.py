"""Login throttling: repeated failed logins for a username, or from an address, get 429 with
Retry-After on every login (API token, the web UI's session login, the admin's form) until the
cool-off has passed; a successful login clears its username's failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.dataplatform.conftest import error_of, password_for

pytestmark = pytest.mark.django_db

LIMIT = 5  # LOGIN_FAILURE_LIMIT's default
ELSEWHERE = "192.0.2.20"  # another client's address (a documentation range: no traffic goes anywhere)


def token_login(username: str, password: str, *, address: str = "127.0.0.1", **headers):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address, **headers)


def fail(username: str, times: int, **kwargs) -> list[int]:
    return [token_login(username, "not-the-password", **kwargs).status_code for _ in range(times)]


def assert_locked(response, *, cooloff_seconds: int = 15 * 60, wait_text: str = "15 minutes") -> None:
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(cooloff_seconds)
    error = error_of(response)
    assert error["code"] == "login_locked"
    assert f"paused for {wait_text}" in error["message"]


def test_the_right_password_after_five_failures_is_429_with_retry_after(user_factory):
    user = user_factory("annotator")
    assert fail(user.username, LIMIT - 1) == [400] * (LIMIT - 1)
    assert_locked(token_login(user.username, "not-the-password"))  # the fifth failure locks
    assert_locked(token_login(user.username, password_for(user.username)))


def test_a_locked_username_is_refused_from_any_address(user_factory):
    user = user_factory("annotator")
    fail(user.username, LIMIT)
    assert_locked(token_login(user.username, password_for(user.username), address=ELSEWHERE))


def test_a_locked_address_is_refused_for_every_username(user_factory):
    guessed, other = user_factory("annotator"), user_factory("reviewer")
    for number in range(LIMIT):  # one failure each for five usernames: no username reaches the limit
        token_login(f"{guessed.username}-{number}", "guess")
    assert_locked(token_login(other.username, password_for(other.username)))
    # The same user from another address is not held back.
    assert token_login(other.username, password_for(other.username), address=ELSEWHERE).status_code == 200


def test_a_success_clears_its_usernames_failures(user_factory):
    user = user_factory("annotator")
    assert fail(user.username, LIMIT - 1) == [400] * (LIMIT - 1)
    assert token_login(user.username, password_for(user.username)).status_code == 200
    assert fail(user.username, LIMIT - 1) == [400] * (LIMIT - 1)
    assert token_login(user.username, password_for(user.username)).status_code == 200


def test_another_users_success_does_not_clear_the_addresss_failures(user_factory):
    guessed, valid = user_factory("annotator"), user_factory("annotator")
    assert fail(guessed.username, LIMIT - 1) == [400] * (LIMIT - 1)
    assert token_login(valid.username, password_for(valid.username)).status_code == 200
    assert_locked(token_login(f"{guessed.username}-other", "guess"))


def test_logins_work_again_after_the_cooloff(user_factory):
    user = user_factory("annotator")
    fail(user.username, LIMIT)
    assert_locked(token_login(user.username, password_for(user.username)))
    # Move the recorded failures back past the cool-off, as time passing would.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert token_login(user.username, password_for(user.username)).status_code == 200


def test_the_limit_and_cooloff_follow_the_settings(user_factory, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=30)
    user = user_factory("annotator")
    assert fail(user.username, 1) == [400]
    assert_locked(token_login(user.username, "not-the-password"), cooloff_seconds=30, wait_text="30 seconds")


def test_the_failures_are_shared_across_processes_in_the_database(user_factory):
    user = user_factory("annotator")
    fail(user.username, 2)
    attempts = AccessAttempt.objects.filter(username=user.username)
    assert sum(attempt.failures_since_start for attempt in attempts) == 2


# ---- Addresses behind proxies --------------------------------------------------------------------


def test_a_forged_forwarded_for_does_not_escape_the_address_lock(user_factory):
    user = user_factory("annotator")
    for number in range(LIMIT):
        token_login(f"guess-{number}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert_locked(token_login(user.username, password_for(user.username), HTTP_X_FORWARDED_FOR="198.51.100.99"))


def test_behind_a_trusted_proxy_the_forwarded_address_counts(user_factory, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    user = user_factory("annotator")
    proxy = "10.0.0.1"  # every request comes from the proxy
    for number in range(LIMIT):
        # The client may put anything first; the proxy appends the address it saw.
        token_login(f"guess-{number}", "guess", address=proxy, HTTP_X_FORWARDED_FOR=f"forged-{number}, 198.51.100.7")
    assert_locked(token_login(user.username, password_for(user.username), address=proxy,
                              HTTP_X_FORWARDED_FOR="198.51.100.7"))
    assert token_login(user.username, password_for(user.username), address=proxy,
                       HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200


# ---- Web logins ------------------------------------------------------------------------------------


def session_login(client: Client, username: str, password: str):
    token = client.get("/api/auth/csrf/").json()["csrf_token"]
    return client.post("/api/auth/login/", {"username": username, "password": password},
                       content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_the_web_uis_session_login_is_throttled_too(user_factory):
    user = user_factory("reviewer")
    client = Client(enforce_csrf_checks=True)
    statuses = [session_login(client, user.username, "nope").status_code for _ in range(LIMIT - 1)]
    assert statuses == [400] * (LIMIT - 1)
    assert_locked(session_login(client, user.username, "nope"))
    assert_locked(session_login(client, user.username, password_for(user.username)))
    assert "_auth_user_id" not in client.session
    # One count for every way in: the token endpoint is locked for that username as well.
    assert_locked(token_login(user.username, password_for(user.username), address=ELSEWHERE))


def test_the_admin_login_page_is_throttled_with_a_readable_page(user_factory):
    user = user_factory("admin")
    fail(user.username, LIMIT)
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": user.username,
                                                          "password": password_for(user.username)})
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Logins paused" in page and "Wait 15 minutes before trying again" in page
    assert "_auth_user_id" not in client.session


def test_the_admin_login_counts_failures(user_factory):
    user = user_factory("admin")
    client = Client()
    for _ in range(LIMIT - 1):
        response = client.post("/admin/login/", {"username": user.username, "password": "nope"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post("/admin/login/", {"username": user.username, "password": "nope"}).status_code == 429
    assert_locked(token_login(user.username, password_for(user.username)))
