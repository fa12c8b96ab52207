"""The annotator in the browser: the queue hands out a task and the workspace opens on it.

Most workspace tests answer the interactive session routes (POST /api/tasks/{id}/session/, prompts,
objects, propagate, masks, undo) with ``SessionStub``, intercepted in the browser, so the UI is
checked fast and deterministically without a model; ``tests/e2e/test_session_stub.py`` checks every
answer of the stub against the API's OpenAPI schema. ``test_workspace_on_the_real_session_api``
runs the annotator loop on the real routes, a real worker and the micro model.
"""

from __future__ import annotations

import pytest

from annotation.models import AnnotationTask
from annotation.services.tasks import task_create
from browser_harness.canvas import canvas_point
from browser_harness.frames import HEIGHT, WIDTH
from browser_harness.session_stub import ROUTES, SessionStub
from dataplatform import storage
from engine import rle as rle_ops
from tests.e2e.conftest import log_out, shot
from tests.e2e.seed import ready_video

BLUE = 2  # object 0's overlay colour is mostly blue (frontend PALETTE[0] = 30, 136, 229)




def canvas_pixel(page, x: float, y: float) -> list[int]:
    return page.evaluate(
        """([x, y]) => {
            const canvas = document.querySelector('canvas.frame-canvas');
            const view = JSON.parse(canvas.dataset.viewport);
            const ratio = window.devicePixelRatio || 1;
            const px = Math.round((x * view.scale + view.offsetX) * ratio);
            const py = Math.round((y * view.scale + view.offsetY) * ratio);
            return Array.from(canvas.getContext('2d').getImageData(px, py, 1, 1).data);
        }""", [x, y])


def tinted(pixel: list[int]) -> bool:
    return pixel[BLUE] > pixel[0] + 80


@pytest.fixture
def queued_task(transactional_db, e2e_media, project):
    video = ready_video(project, frames=8)
    return task_create(video=video, phase=3)


def open_workspace(page, login, annotator, task) -> None:
    login(page, annotator)
    page.get_by_role("heading", name="Annotation queue").wait_for()
    page.get_by_role("button", name="Start next task").click()
    page.wait_for_url(f"**/app/annotate/tasks/{task.id}")


def test_annotator_takes_the_next_task(queued_task, page, login, user_factory):
    annotator = user_factory("annotator")
    open_workspace(page, login, annotator, queued_task)
    queued_task.refresh_from_db()
    assert queued_task.assignee == annotator and queued_task.status == AnnotationTask.Status.LEASED
    # A second annotator finds the queue empty, and is told so.
    log_out(page)
    login(page, user_factory("annotator"))
    page.get_by_role("button", name="Start next task").click()
    page.get_by_text("The queue is empty").wait_for()


def stub_session(page, task, phase: int, **options) -> SessionStub:
    video = task.video
    stub = SessionStub(frame_urls=[storage.url_for(storage.frame_key(video.pk, i)) for i in range(video.frame_count)],
                       width=WIDTH, height=HEIGHT, phase=phase, **options)
    page.route(ROUTES, stub.handle)
    return stub


def workspace_scenario(page) -> None:
    """Click an object, propagate forward, check the overlay on a later frame, the help, add an object."""
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    toolbar = page.get_by_role("toolbar", name="Tools")
    assert toolbar.get_by_role("button").all_inner_texts() == ["Positive clickp", "Negative clickn", "Boxb", "Panh"]
    page.mouse.click(*canvas_point(page, 100, 80))
    page.get_by_text(" ms").wait_for()
    page.wait_for_function("document.querySelector('canvas.frame-canvas').dataset.overlayFrame === '0'")
    page.wait_for_function("""() => { const c = document.querySelector('canvas.frame-canvas');
        const v = JSON.parse(c.dataset.viewport); const r = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(Math.round((100 * v.scale + v.offsetX) * r),
                                                  Math.round((80 * v.scale + v.offsetY) * r), 1, 1).data;
        return d[2] > d[0] + 80; }""")
    assert not tinted(canvas_pixel(page, 250, 200))

    page.keyboard.press("f")  # propagate forward
    page.get_by_label("Propagation progress").wait_for()
    page.get_by_text("Propagation done.").wait_for()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='4'][data-overlay-frame='4']")
    page.wait_for_function("""() => { const c = document.querySelector('canvas.frame-canvas');
        const v = JSON.parse(c.dataset.viewport); const r = window.devicePixelRatio || 1;
        const d = c.getContext('2d').getImageData(Math.round((132 * v.scale + v.offsetX) * r),
                                                  Math.round((80 * v.scale + v.offsetY) * r), 1, 1).data;
        return d[2] > d[0] + 80; }""")  # the box moved 32 px right in 4 frames
    assert page.get_by_role("slider", name="Timeline: frame").get_attribute("aria-valuenow") == "4"

    page.keyboard.press("?")
    page.get_by_role("dialog", name="Workspace: keyboard shortcuts").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="+ Add object").click()
    page.get_by_role("button", name="Object 1 · object", exact=True).wait_for()


def test_workspace_on_the_session_contract(queued_task, page, login, user_factory):
    stub = stub_session(page, queued_task, phase=3)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    workspace_scenario(page)
    assert [p["kind"] for p in stub.prompts] == ["click"]
    assert stub.prompts[0]["points"] == [[100, 80]] and stub.prompts[0]["labels"] == [1]
    page.get_by_role("button", name="Object 0 · object", exact=True).click()
    shot(page, "workspace")


def test_clicks_are_marked_on_their_frame_and_timed_to_the_overlay(queued_task, page, login, user_factory):
    stub = stub_session(page, queued_task, phase=3)
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    page.mouse.click(*canvas_point(page, 100, 80))
    page.wait_for_selector("canvas.frame-canvas[data-markers='+'][data-overlay-frame='0']")
    green = canvas_pixel(page, 100, 80)  # the + is drawn over the object's (blue) overlay
    assert green[1] > green[0] + 100 and green[1] > green[2] + 60, green
    page.keyboard.press("n")
    page.mouse.click(*canvas_point(page, 200, 60))
    page.wait_for_selector("canvas.frame-canvas[data-markers='+-']")
    red = canvas_pixel(page, 200, 60)
    assert red[0] > red[1] + 100 and red[0] > red[2] + 100, red
    assert [p["labels"] for p in stub.prompts] == [[1], [0]]
    page.keyboard.press("ArrowRight")  # markers belong to their frame
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='1'][data-markers='']")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-markers='+-']")
    # Perceived speed: one sample per click, from the click to the overlay drawn.
    page.wait_for_function("(window.__maskletPerf || []).length === 2")
    samples = page.evaluate("window.__maskletPerf")
    assert all(s["latency_ms"] == 42.0 and s["frame_index"] == 0
               and 0 < s["click_to_answer_ms"] <= s["click_to_overlay_ms"] < 5000
               for s in samples), samples
    assert page.evaluate("performance.getEntriesByName('masklet:click-to-overlay').length") == 2
    shot(page, "workspace-markers")


def test_a_propagation_that_loses_the_object_says_where_and_marks_the_timeline(queued_task, page, login,
                                                                              user_factory):
    stub_session(page, queued_task, phase=3, lost_after=2)  # frames 4–8 (as numbered on screen) come back empty
    open_workspace(page, login, user_factory("annotator"), queued_task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    page.mouse.click(*canvas_point(page, 100, 80))
    page.get_by_text(" ms").wait_for()
    page.keyboard.press("f")
    page.get_by_text("Propagation done. Object 0 · object vanished on frames 4–8").wait_for()
    marks = page.evaluate("""() => { const c = document.querySelector('.timeline-canvas');
        const r = window.devicePixelRatio || 1;
        const cell = document.querySelector('.timeline-spacer').getBoundingClientRect().width / 8;
        const at = (f) => Array.from(c.getContext('2d').getImageData(Math.round((f + 0.5) * cell * r),
                                                                     Math.round(25 * r), 1, 1).data);
        return {lost: at(5), tracked: at(1)}; }""")
    red = [239, 83, 80]
    assert marks["lost"][:3] == red and marks["tracked"][:3] != red, marks


def test_phase_2_brush_sends_a_mask_prompt_and_propagation_cancels(transactional_db, e2e_media, project, page,
                                                                     login, user_factory):
    task = task_create(video=ready_video(project, frames=4), phase=2)
    stub = stub_session(page, task, phase=2, hold_jobs=True)
    open_workspace(page, login, user_factory("annotator"), task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']")
    toolbar = page.get_by_role("toolbar", name="Tools")
    assert "Box" not in toolbar.inner_text() and "Eraser" in toolbar.inner_text()
    page.keyboard.press("r")  # brush
    assert toolbar.get_by_role("button", name="Brush").get_attribute("aria-pressed") == "true"
    page.mouse.move(*canvas_point(page, 50, 50))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 120, 60), steps=8)
    page.mouse.up()
    page.get_by_text(" ms").wait_for()
    assert [p["kind"] for p in stub.prompts] == ["mask"]
    mask = rle_ops.decode(stub.prompts[0]["mask"])  # the canvas's TS encoder, read by the engine's decoder
    assert mask.shape == (HEIGHT, WIDTH) and mask[55, 80] and not mask[200, 300]

    page.get_by_role("button", name="Propagate ▶", exact=True).click()
    progress = page.get_by_label("Propagation progress")
    progress.wait_for()
    page.get_by_role("group", name="Propagation").get_by_role("button", name="Cancel").click()
    page.get_by_text("Propagation cancelled.").wait_for()
    assert stub.cancelled and progress.is_hidden()


@pytest.mark.slow
def test_workspace_on_the_real_session_api(live_platform, page, login, user_factory):
    """The whole annotator loop on the real routes, a real Celery worker and the micro model:
    click, propagate, undo, submit. Frames come from S3 (moto) by presigned URL, so the canvas is
    cross-origin here and the checks read the DOM and the database, not pixels."""
    from annotation.models import Interaction, ModelVersion
    from dataplatform.models import Project
    from tests.conftest import wait_for
    from tests.workers.test_sessions_live import micro_checkpoint_bytes, ready_video_with_frames

    key = storage.put_bytes(storage.checkpoint_key("micro-e2e"), micro_checkpoint_bytes())
    version = ModelVersion.objects.create(name="micro-e2e", config_name="micro", checkpoint_key=key)
    project = Project.objects.create(name="Sessions e2e", phase=3, model_version=version)
    task = task_create(video=ready_video_with_frames(project, 6))
    page.on("dialog", lambda dialog: dialog.accept())
    open_workspace(page, login, user_factory("annotator"), task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']", timeout=90_000)
    page.get_by_text("No object yet").wait_for()
    page.get_by_text("model micro-e2e on ", exact=False).wait_for()  # the version by its name, not its id
    page.get_by_role("button", name="+ Add object").click()
    page.get_by_role("button", name="Object 0 · object", exact=True).wait_for()
    page.mouse.click(*canvas_point(page, 32, 24))
    page.get_by_text(" ms").wait_for(timeout=90_000)
    assert list(Interaction.objects.filter(task=task).values_list("kind", "frame_index")) == [("click+", 0)]
    page.wait_for_selector("canvas.frame-canvas[data-overlay-frame='0']")

    page.keyboard.press("f")
    page.get_by_text("Propagation done.").wait_for(timeout=120_000)
    page.keyboard.press("End")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='5'][data-overlay-frame='5']")
    page.keyboard.press("u")  # undoes the propagation: the cursor goes back to the frame it started from
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-overlay-frame='0']")
    wait_for(lambda: Interaction.objects.filter(task=task, kind="undo").count() == 1, timeout=30, what="the undo")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/app/annotate")
    task.refresh_from_db()
    assert task.status == AnnotationTask.Status.SUBMITTED


def test_a_thousand_frames_stay_smooth(transactional_db, e2e_media, project, page, login, user_factory):
    """The timeline draws only what is in view, and stepping through a 1,000-frame video with a
    mask on every frame keeps up (frame images repeat, so the browser's cache is not measured)."""
    video = ready_video(project, frames=8)
    task = task_create(video=video, phase=3)
    urls = [storage.url_for(storage.frame_key(video.pk, i % 8)) for i in range(1000)]
    stub = SessionStub(frame_urls=urls, width=WIDTH, height=HEIGHT, phase=3)
    stub.masks[0] = {i: stub.box(60 + i % 200, 100) for i in range(1000)}
    page.route(ROUTES, stub.handle)
    open_workspace(page, login, user_factory("annotator"), task)
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0'][data-overlay-frame='0']")
    sizes = page.evaluate("""() => {
        const canvas = document.querySelector('.timeline-canvas');
        return {canvas: canvas.width / (window.devicePixelRatio || 1),
                view: document.querySelector('.timeline-scroller').clientWidth,
                spacer: document.querySelector('.timeline-spacer').getBoundingClientRect().width};
    }""")
    assert sizes["canvas"] <= sizes["view"] + 1 and sizes["spacer"] >= 1000 * 4, sizes
    started = page.evaluate("performance.now()")
    for _ in range(60):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='60'][data-overlay-frame='60']")
    per_step = (page.evaluate("performance.now()") - started) / 60
    print(f"1,000-frame workspace: {per_step:.1f} ms per frame step")
    assert per_step < 150, f"{per_step:.0f} ms per frame step"
    page.keyboard.press("End")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='999'][data-overlay-frame='999']")
    assert page.get_by_role("slider", name="Timeline: frame").get_attribute("aria-valuenow") == "999"
