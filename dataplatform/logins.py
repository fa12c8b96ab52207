"""Login throttling (django-axes): repeated failed logins for a username, or from an address, are
refused for a cool-off with 429 and ``Retry-After``.

Every login goes through ``django.contrib.auth.authenticate(request=...)`` (the API's token and
session logins, the admin's login form); axes' backend refuses it while the username or the
address is locked, and its middleware turns the refusal into :func:`lockout_response`. The
attempts are rows in the database, so every web process sees the same counts. An attempt made
during the cool-off starts it over (axes' default), so the wait announced is the whole cool-off.

Settings (dataplatform/settings.py): LOGIN_FAILURE_LIMIT, LOGIN_COOLOFF_MINUTES, TRUSTED_PROXY_COUNT.
Lift a lock before its time with ``manage.py axes_reset_username NAME`` or ``axes_reset_ip ADDRESS``
(or delete the access attempt in the admin).
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from dataplatform.errors import error_body

LOCKED_OUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Masklet: logins paused</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}</style>
</head><body><h1>Logins paused</h1><p role="alert">{message}</p></body></html>
"""


def client_address(request: HttpRequest) -> str | None:
    """The address a login comes from: the peer's, or with TRUSTED_PROXY_COUNT proxies in front,
    the one the outermost proxy put in X-Forwarded-For (entries before it are the client's say)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def cooloff_seconds() -> int:
    return max(1, round(get_cool_off().total_seconds()))


def duration_text(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout_message() -> str:
    wait = duration_text(cooloff_seconds())
    return (f"Too many failed logins for this username or from this address: logins are paused for {wait}. "
            f"Wait {wait} before trying again (each try before then starts the wait over), "
            "or ask an admin to lift the lock.")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """429 with Retry-After: the API's JSON error shape under /api/, a short page elsewhere."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body("login_locked", message), status=429)
    else:
        response = HttpResponse(LOCKED_OUT_PAGE.format(message=escape(message)), status=429)
    response["Retry-After"] = str(cooloff_seconds())
    return response


class LoginAttemptsHandler(AxesDatabaseHandler):
    """axes' database handler, except that a successful login clears the failures of its username
    only: the address's other failures still count, so one valid account cannot be used to reset
    an address that is guessing other usernames' passwords."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        return self.reset_attempts(username=username)
