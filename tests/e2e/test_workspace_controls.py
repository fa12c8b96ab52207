"""The workspace's controls in the browser (on ``SessionStub``): negative clicks without switching
tools, the box kept drawn, markers back after a reload, the video's name, overlay opacity and
per-object colour, messages that never move the canvas, propagation in view at 1366×768, undoing
a propagation, skipping a task, and a rework task's reviewer notes on their frames."""

from __future__ import annotations

import re

from annotation.models import AnnotationTask
from browser_harness.canvas import canvas_point
from tests.e2e.test_annotate import (
    canvas_pixel,
    open_workspace,
    queued_task,
    stub_session,
    tinted,
)

__all__ = ["queued_task"]  # the fixture, shared


def marker_count(page) -> str:
    return page.evaluate("document.querySelector('canvas.frame-canvas').dataset.markers")


def test_negative_clicks_by_right_click_or_shift_click_and_the_box_stays_drawn(queued_task, page, login,
                                                                             user_factory):
    stub = stub_session(page, queued_task, phase=3)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    page.get_by_role("heading", name="Task").wait_for()
    page.get_by_text(stub.video_name, exact=True).wait_for()  # the video's name is shown
    page.mouse.click(*canvas_point(page, 100, 80))
    page.wait_for_selector("canvas.frame-canvas[data-markers='+']")
    page.mouse.click(*canvas_point(page, 200, 60), button="right")
    page.wait_for_selector("canvas.frame-canvas[data-markers='+-']")
    page.keyboard.down("Shift")
    page.mouse.click(*canvas_point(page, 210, 70))
    page.keyboard.up("Shift")
    page.wait_for_selector("canvas.frame-canvas[data-markers='+--']")
    assert [p["labels"] for p in stub.prompts] == [[1], [0], [0]]
    toolbar = page.get_by_role("toolbar", name="Tools")
    assert toolbar.get_by_role("button", name="Positive click").get_attribute("aria-pressed") == "true"

    page.keyboard.press("b")
    page.mouse.move(*canvas_point(page, 40, 40))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 120, 100), steps=6)
    page.wait_for_selector("canvas.frame-canvas[data-box]")  # drawn while dragging
    page.mouse.up()
    page.get_by_text(" ms").wait_for()
    page.wait_for_function("document.querySelector('canvas.frame-canvas').dataset.box === '40,40,120,100'")
    assert stub.prompts[-1]["box"] == [40, 40, 120, 100]  # and after, as sent
    page.keyboard.press("ArrowRight")  # a box belongs to its frame
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='1']:not([data-box])")


def test_markers_come_back_after_a_reload(queued_task, page, login, user_factory):
    stub = stub_session(page, queued_task, phase=3, points=[
        {"frame_index": 0, "object_number": 0, "point": [100, 80], "label": 1},
        {"frame_index": 0, "object_number": 0, "point": [150, 90], "label": 0},
        {"frame_index": 2, "object_number": 0, "point": [50, 50], "label": 1}])
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-markers='+-']")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='2'][data-markers='+']")
    assert stub.prompts == []


def test_opacity_colour_messages_and_propagation_at_1366x768(queued_task, page, login, user_factory):
    page.set_viewport_size({"width": 1366, "height": 768})
    stub_session(page, queued_task, phase=3)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    propagate = page.get_by_role("button", name="Propagate ▶", exact=True)
    box = propagate.bounding_box()
    assert box and box["y"] + box["height"] <= 768, box  # in view without scrolling
    assert page.evaluate("document.scrollingElement.scrollTop") == 0
    top = page.locator("canvas.frame-canvas").bounding_box()["y"]

    page.mouse.click(*canvas_point(page, 100, 80))
    page.wait_for_selector("canvas.frame-canvas[data-overlay-frame='0']")
    page.wait_for_function("""() => { const c = document.querySelector('canvas.frame-canvas');
        const v = JSON.parse(c.dataset.viewport); const r = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(Math.round((100 * v.scale + v.offsetX) * r),
                                                  Math.round((80 * v.scale + v.offsetY) * r), 1, 1).data;
        return d[2] > d[0] + 80; }""")
    propagate.click()
    page.get_by_text("Propagation done.").wait_for()
    assert page.locator("canvas.frame-canvas").bounding_box()["y"] == top  # the message did not push it

    page.get_by_label("Overlay opacity").fill("0")
    page.wait_for_selector("canvas.frame-canvas[data-overlay-opacity='0']")
    assert not tinted(canvas_pixel(page, 120, 100))  # inside the mask, away from the click's marker
    page.get_by_label("Overlay opacity").fill("100")
    page.get_by_label("Colour of the selected object").fill("#ff0000")
    page.wait_for_function("""() => { const c = document.querySelector('canvas.frame-canvas');
        const v = JSON.parse(c.dataset.viewport); const r = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(Math.round((120 * v.scale + v.offsetX) * r),
                                                  Math.round((100 * v.scale + v.offsetY) * r), 1, 1).data;
        return d[0] > d[2] + 80; }""")  # now red
    swatch = page.get_by_role("button", name=re.compile(r"^Object 0 · ")).locator(".swatch")
    assert "255, 0, 0" in swatch.get_attribute("style")


def test_undo_after_a_propagation_takes_it_back(queued_task, page, login, user_factory):
    stub_session(page, queued_task, phase=3)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    page.mouse.click(*canvas_point(page, 100, 80))
    page.get_by_text(" ms").wait_for()
    page.keyboard.press("f")
    page.get_by_text("Propagation done.").wait_for()
    page.keyboard.press("u")
    page.get_by_text("Propagation undone").wait_for()
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-markers='+']")  # the click stays
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='4'][data-overlay-frame='4']")
    assert not tinted(canvas_pixel(page, 132, 80))  # the propagated mask is gone
    page.keyboard.press("u")  # then the click itself, and its marker
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-markers='']")


def test_an_annotator_skips_a_task(queued_task, page, login, user_factory):
    stub_session(page, queued_task, phase=3)
    page.on("dialog", lambda dialog: dialog.accept())
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.get_by_role("button", name="Skip task").click()
    page.wait_for_url("**/app/annotate")
    queued_task.refresh_from_db()
    assert queued_task.status == AnnotationTask.Status.QUEUED and queued_task.assignee is None


def test_a_rework_task_shows_the_reviewers_reason_and_notes_on_their_frames(queued_task, page, login,
                                                                          user_factory):
    review = {"reason": "The tail is missing from frame 6 on.", "reviewer": "rita", "revision": 3,
              "decided_at": "2026-01-05T09:30:00Z", "frames": [3, 5],
              "comments": [{"id": 1, "frame_index": 3, "text": "Tail cut off here."}]}
    stub_session(page, queued_task, phase=3, review=review)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    notes = page.get_by_role("region", name="Rejected by rita")
    notes.get_by_text("The tail is missing from frame 6 on.").wait_for()
    timeline = page.get_by_role("slider", name="Timeline: frame")
    assert timeline.get_attribute("data-notes") == "3,5"
    notes.get_by_role("button", name="Frame 4: Tail cut off here.").click()
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='3']")
    assert timeline.get_attribute("aria-valuenow") == "3"
    notes.get_by_role("button", name="Frame 6", exact=True).click()
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='5']")
