"""Browser tests: Playwright's Python API driving Debian's Chromium against pytest-django's
``live_server`` and the built web UI (``frontend/dist``, served from /static/ and /app/).

Needs: ``npm install --no-save && npm run build`` in frontend/, ``apt-get install chromium`` (CHROMIUM to point
elsewhere) and ``pip install playwright`` (never ``playwright install``: the system browser is used).
A missing piece skips these tests with the reason; with REQUIRE_SERVICES=1 (CI) it fails them.

Fixtures:
- ``browser`` (session): a headless Chromium.
- ``page``: a fresh context and page; ``shot(page, name)`` saves test-artifacts/screenshots/<name>.png.
- ``login(page, user)``: logs in through the login screen as a user made by ``user_factory``.
- ``e2e_media``: local media folder the /media/ route serves by signed link (frames written there).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from browser_harness.chromium import CHROMIUM, CHROMIUM_ARGS, DIST_INDEX, REPO_ROOT
from tests.dataplatform.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    password_for,
    project,
    user_factory,
    video_factory,
)
from tests.services import REQUIRE_SERVICES

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"

def _missing() -> str | None:
    if not DIST_INDEX.is_file():
        return "the web UI is not built: run `npm install --no-save && npm run build` in frontend/"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing: `pip install playwright`"
    return None


def pytest_collection_modifyitems(config, items) -> None:
    why = _missing()
    for item in items:
        if "tests/e2e/" not in str(item.fspath).replace(os.sep, "/") or "page" not in item.fixturenames:
            continue
        item.add_marker(pytest.mark.browser)
        if why and not REQUIRE_SERVICES:
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    why = _missing()
    if why:  # only reached with REQUIRE_SERVICES=1: the run must fail, loudly
        pytest.fail(f"Browser tests cannot run: {why}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous (Playwright's documented setting for Django tests).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    try:  # the last state of every test, for looking at failures
        shot(page, f"last-{request.node.name}")
    except Exception:  # noqa: BLE001 - a page that cannot be captured is no test failure
        pass
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def section(page, name: str) -> None:
    """Open an admin section from the admin screen's navigation (and wait until it is shown)."""
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=name, exact=True).click()
    page.locator(".admin-nav a.active", has_text=name).wait_for()


def log_out(page) -> None:
    """Log out from the header and wait for the login screen: until it shows, the session may still be
    alive, and going to /app/login then lands on the old user's home."""
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in to Masklet").wait_for()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def login(live_server) -> Callable:
    def do(page, user, *, path: str = "/app/login") -> None:
        page.goto(path)
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password_for(user.username))
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()

    return do


@pytest.fixture
def e2e_media(media_root: Path) -> Path:
    """This test's local media folder: the /media/ route serves signed links to files written there."""
    return media_root


@pytest.fixture(scope="session", autouse=True)
def _clean_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
