"""Logging in through the web UI: each role lands on its own screen; a wrong password is told."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot

HOME = {
    "annotator": ("/app/annotate", "Annotation queue", ["Annotate"]),
    "reviewer": ("/app/review", "Verification queue", ["Review"]),
    "admin": ("/app/admin", "Admin dashboard", ["Annotate", "Review", "Admin"]),
}


@pytest.mark.parametrize("role", list(HOME))
def test_each_role_logs_in_to_its_screen(role, transactional_db, page, login, user_factory, project):
    user = user_factory(role)
    login(page, user, path="/")
    path, heading, nav = HOME[role]
    page.wait_for_url(f"**{path}")
    page.get_by_role("heading", level=1, name=heading).wait_for()
    links = page.get_by_role("navigation", name="Screens").get_by_role("link")
    assert links.all_inner_texts() == nav
    assert f"{user.username} ({role})" in page.locator(".who").inner_text()
    if role == "annotator":
        page.goto("/app/admin")
        page.get_by_role("heading", name="Not for your role").wait_for()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in to Masklet").wait_for()
    page.goto(path)  # the session is gone: back to the login screen, with the way back kept
    page.wait_for_url("**/app/login?next=*")


def test_wrong_password_is_refused_with_the_reason(transactional_db, page, user_factory):
    user = user_factory("annotator")
    page.goto("/app/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Wrong username or password" in alert.inner_text()
    shot(page, "login-refused")


def test_the_ui_keeps_api_admin_and_missing_build_routes_apart(transactional_db, page, live_server):
    page.goto("/api/auth/me/")
    assert '"error"' in page.content()
    response = page.goto("/app/some/client/route")
    assert response.status == 200 and "Masklet" in page.title()
