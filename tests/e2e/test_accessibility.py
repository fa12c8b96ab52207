"""Keyboard and screen reader reach: on every screen, Tab visits each control in turn, each one
shows where the focus is, and each has an accessible name (Playwright's ARIA snapshot, which
computes names as assistive technology does)."""

from __future__ import annotations

import re

import pytest
import yaml

from annotation.services.tasks import task_create
from tests.e2e.conftest import shot
from tests.e2e.seed import phase_metrics, ready_video, submitted_masklet
from tests.e2e.test_annotate import stub_session

FOCUS_INFO = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const first = !el.hasAttribute('data-tab-visited');
    el.setAttribute('data-tab-visited', '');
    const style = getComputedStyle(el);
    const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const ring = style.boxShadow && style.boxShadow !== 'none';
    const box = el.getBoundingClientRect();
    return {first, visibleFocus: outlined || ring, shown: box.width > 0 && box.height > 0,
            html: el.outerHTML.slice(0, 120)};
}"""
ROLE_AND_NAME = re.compile(r'^(?P<role>[\w-]+)(?: "(?P<name>.*)")?')


def role_and_name(snapshot: str) -> tuple[str, str | None]:
    """The focused element's role and name from its ARIA snapshot (YAML: ``- role "name"``, with
    children as a mapping)."""
    entry = yaml.safe_load(snapshot)[0]
    entry = next(iter(entry)) if isinstance(entry, dict) else entry
    match = ROLE_AND_NAME.match(str(entry))
    return (match["role"], match["name"]) if match else (str(entry), None)


def tab_through(page, screen: str, limit: int = 250) -> list[str]:
    """Tab until the focus comes back round to a control it visited (past the page's end, Tab wraps
    to its start); every stop's role and name."""
    page.evaluate("document.querySelectorAll('[data-tab-visited]')"
                  ".forEach((e) => e.removeAttribute('data-tab-visited'))")
    stops, problems = [], []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_INFO)
        if info is None:
            continue
        if not info["first"]:
            break
        snapshot = page.locator(":focus").aria_snapshot()
        role, name = role_and_name(snapshot)
        stops.append(f"{role} {name!r}")
        if not name or not name.strip():
            problems.append(f"no accessible name: {snapshot} — {info['html']}")
        if not info["visibleFocus"]:
            problems.append(f"no visible focus: {role} {name!r} — {info['html']}")
        if not info["shown"]:
            problems.append(f"focusable but not shown: {info['html']}")
    else:
        pytest.fail(f"{screen}: Tab never came back round in {limit} presses")
    assert not problems, f"{screen}:\n" + "\n".join(problems)
    return stops


def test_login_screen(transactional_db, page):
    page.goto("/app/login")
    page.get_by_label("Username").wait_for()
    stops = tab_through(page, "login")
    assert "textbox 'Username'" in stops and "textbox 'Password'" in stops and "button 'Log in'" in stops


def test_annotation_queue_and_workspace(transactional_db, e2e_media, project, page, login, user_factory):
    task = task_create(video=ready_video(project, frames=4), phase=3)
    annotator = user_factory("annotator")
    login(page, annotator)
    page.get_by_role("heading", name="Annotation queue").wait_for()
    stops = tab_through(page, "annotation queue")
    assert "link 'Skip to content'" in stops and "button 'Start next task'" in stops

    stub_session(page, task, phase=3)
    page.get_by_role("button", name="Start next task").click()
    page.wait_for_url(f"**/app/annotate/tasks/{task.id}")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    stops = tab_through(page, "workspace")
    for expected in ("button 'Positive click'", "img 'Video frame with object masks'", "button 'Object 0 · object'",
                     "slider 'Timeline: frame'", "spinbutton 'Frame'", "button 'Submit'"):
        assert any(stop.startswith(expected) for stop in stops), (expected, stops)


def test_review_screen(transactional_db, e2e_media, project, page, login, user_factory):
    masklet = submitted_masklet(ready_video(project), author=user_factory("annotator"))
    login(page, user_factory("reviewer"))
    page.get_by_text(f"Masklet {masklet.id}: object 0").wait_for()
    stops = tab_through(page, "review")
    for expected in ("button 'Play (Space)'", "combobox 'Speed'", "button 'Accept (a)'", "button 'Skip'"):
        assert any(stop.startswith(expected) for stop in stops), (expected, stops)
    page.keyboard.press("r")  # the reject form opens: its presets and reason are reachable too
    page.get_by_role("textbox", name="Reason for rejecting").wait_for()
    stops = tab_through(page, "review, rejecting")
    assert "textbox 'Reason for rejecting'" in stops and "button 'Reject masklet'" in stops


def test_admin_dashboard(transactional_db, e2e_media, project, page, login, user_factory):
    from annotation.models import ModelVersion
    from dataplatform.models import Job

    phase_metrics(project, user_factory("annotator"))
    ModelVersion.objects.create(name="sam2.1-tiny", config_name="sam2.1_hiera_t", is_active=True)
    ModelVersion.objects.create(name="round-1", config_name="sam2.1_hiera_t")
    Job.objects.create(kind=Job.Kind.INGEST, status=Job.Status.RUNNING, progress_done=1, progress_total=4)
    login(page, user_factory("admin"))
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    page.get_by_role("region", name="Throughput and verification").locator("svg.chart").first.wait_for()
    # Each section is reached from the navigation by keyboard, and every control in it has a name.
    expected = {
        "Metrics": ("combobox 'Table by'", "combobox 'Window'"),
        "Projects": ("textbox 'Project name'", "button 'Create project'", "combobox 'Phase of"),
        "Videos": ("button 'Video file'", "button 'Upload'", "button 'Queue a task: phase-1.mp4'",
                   "combobox 'Split of phase-1.mp4'", "button 'Set split of checked'"),
        "Tasks": ("combobox 'Status'", "spinbutton 'Priority of task", "combobox 'Assign task"),
        "Automatic masklets": ("spinbutton 'Predicted IoU threshold'", "button 'Make automatic masklets'"),
        "Exports & imports": ("combobox 'Format'", "button 'Export'", "button 'Import'"),
        "Retraining & models": ("button 'Promote round-1'", "button 'Launch round'", "button 'Preview data'",
                                "checkbox 'Accepted masklets of phase 2'"),
        "Users": ("textbox 'Username'", "button 'Create account'"),
        "Jobs": ("button 'Cancel job",),
    }
    for name, controls in expected.items():
        link = page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=name, exact=True)
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("(name) => document.querySelector('.admin-nav a.active')?.textContent === name", arg=name)
        for control in controls:  # shown once the section's data loaded
            role, label = control.split(" ", 1)
            page.locator(".admin-section").get_by_role(role, name=label.strip("'")).first.wait_for()
        stops = tab_through(page, f"admin dashboard, {name}")
        for control in controls:
            assert any(stop.startswith(control) for stop in stops), (name, control, stops)
    shot(page, "admin-keyboard")
