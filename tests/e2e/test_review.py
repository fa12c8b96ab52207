"""The verification queue in the browser: the masklet plays with its overlay; accept and reject."""

from __future__ import annotations

import re

import pytest

from annotation.models import Masklet, Review
from tests.e2e.conftest import shot
from tests.e2e.seed import ready_video, submitted_masklet

# The overlay's colour for object 0 (frontend/src/canvas/overlay.ts PALETTE[0]).
OBJECT_0 = (30, 136, 229)


def canvas_pixel(page, image_x: float, image_y: float) -> list[int]:
    """RGBA of the frame canvas at an image point (the canvas maps image → screen itself)."""
    return page.evaluate(
        """([x, y]) => {
            const canvas = document.querySelector('canvas.frame-canvas');
            const view = JSON.parse(canvas.dataset.viewport);
            const ratio = window.devicePixelRatio || 1;
            const sx = Math.round((x * view.scale + view.offsetX) * ratio);
            const sy = Math.round((y * view.scale + view.offsetY) * ratio);
            return Array.from(canvas.getContext('2d').getImageData(sx, sy, 1, 1).data);
        }""",
        [image_x, image_y])


def wait_overlay(page, frame: int) -> None:
    page.wait_for_selector(f"canvas.frame-canvas[data-overlay-frame='{frame}'][data-image-frame='{frame}']")


@pytest.fixture
def seeded(transactional_db, e2e_media, project, user_factory):
    annotator = user_factory("annotator")
    video = ready_video(project)
    return submitted_masklet(video, author=annotator)


def test_reviewer_plays_the_overlay_and_accepts(seeded, page, login, user_factory):
    reviewer = user_factory("reviewer")
    login(page, reviewer)
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    wait_overlay(page, 0)
    inside, outside = canvas_pixel(page, 110, 100), canvas_pixel(page, 250, 30)
    # Inside the box the frame is tinted with the object's colour; outside it is the bare frame.
    assert inside[2] > inside[0] + 60, inside
    assert abs(outside[2] - 90) < 25 and outside[0] < 110, outside
    edge = canvas_pixel(page, 60.5, 100.5)
    assert all(abs(a - b) < 40 for a, b in zip(edge[:3], OBJECT_0, strict=True)), edge
    shot(page, "review")

    page.keyboard.press("ArrowRight")
    wait_overlay(page, 1)
    assert canvas_pixel(page, 65, 100)[2] < 140  # the box moved right by 10 px
    page.get_by_label("Speed").select_option("4")
    page.get_by_role("button", name="Play (Space)").click()
    wait_overlay(page, 7)  # played to the end, where the object is absent
    assert abs(canvas_pixel(page, 150, 100)[2] - 90) < 30

    page.get_by_role("button", name="Accept (a)").click()
    page.get_by_text(f"Masklet {seeded.id} accepted.").wait_for()
    page.get_by_text("The verification queue is empty.").wait_for()
    seeded.refresh_from_db()
    assert seeded.status == Masklet.Status.ACCEPTED
    assert Review.objects.get(revision=seeded.current_revision).reviewer == reviewer


def test_reviewer_skips_then_rejects_with_a_reason_by_keyboard(seeded, page, login, user_factory):
    login(page, user_factory("reviewer"))
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    page.keyboard.press("?")
    page.get_by_role("dialog", name="Review: keyboard shortcuts").wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("s")  # skip: the lease is given back, and the queue hands the masklet out again
    page.get_by_text(f"Masklet {seeded.id} skipped").wait_for()
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    page.keyboard.press("r")
    page.get_by_role("button", name="Mask leaks onto the background").click()
    page.get_by_role("button", name="Reject masklet").click()
    page.get_by_text(f"Masklet {seeded.id} rejected.").wait_for()
    review = Review.objects.get(revision=seeded.current_revision)
    assert (review.decision, review.reason) == ("reject", "Mask leaks onto the background")


def _lease_holder(masklet: Masklet, *, given_back: bool, timeout: float = 10.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        masklet.refresh_from_db()
        if (masklet.review_assignee_id is None) == given_back or time.monotonic() > deadline:
            return masklet.review_assignee_id
        time.sleep(0.1)


def test_leaving_the_review_gives_the_masklet_back(seeded, page, login, user_factory):
    from annotation.selectors.reviews import review_queue
    from annotation.services.reviews import review_next_for

    reviewer = user_factory("reviewer")
    login(page, reviewer)
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    assert _lease_holder(seeded, given_back=False) == reviewer.pk
    page.goto("about:blank")  # the reviewer leaves the page (pagehide): the lease goes back with it
    assert _lease_holder(seeded, given_back=True) is None
    assert review_queue().filter(pk=seeded.pk).exists()
    assert review_next_for(user=user_factory("reviewer")).pk == seeded.pk  # someone else gets it at once


def test_leaving_the_review_screen_in_the_app_gives_the_masklet_back(seeded, page, login, user_factory):
    login(page, user_factory("admin"), path="/app/review")
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    assert _lease_holder(seeded, given_back=False) is not None
    page.get_by_role("navigation", name="Screens").get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    assert _lease_holder(seeded, given_back=True) is None
    # The first section's panels have answered before the database is flushed under the live server.
    page.get_by_text("No submitted task yet.").wait_for()
    page.get_by_text(re.compile(r"^From \d{4}-")).wait_for()


def test_logging_out_of_the_review_gives_the_masklet_back(seeded, page, login, user_factory):
    login(page, user_factory("reviewer"))
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    assert _lease_holder(seeded, given_back=False) is not None
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
    assert _lease_holder(seeded, given_back=True, timeout=0) is None  # given back before the logout


def test_reviewer_jumps_zooms_and_pins_notes_to_frames_then_rejects(seeded, page, login, user_factory):
    from annotation.models import ReviewComment

    login(page, user_factory("reviewer"))
    page.get_by_text(f"Masklet {seeded.id}: object 0").wait_for()
    wait_overlay(page, 0)
    page.get_by_label("Go to frame").fill("5")
    page.get_by_label("Go to frame").press("Enter")
    wait_overlay(page, 4)
    assert page.get_by_role("slider", name="Timeline: frame").get_attribute("aria-valuenow") == "4"
    scale = page.evaluate("JSON.parse(document.querySelector('canvas.frame-canvas').dataset.viewport).scale")
    page.get_by_role("button", name="Zoom in (+)").click()
    page.get_by_role("button", name="Zoom in (+)").click()
    zoomed = page.evaluate("JSON.parse(document.querySelector('canvas.frame-canvas').dataset.viewport).scale")
    assert zoomed > scale * 1.5
    page.get_by_label("Note on this frame").fill("The tail is cut off here.")
    page.get_by_role("button", name="Pin to frame").click()
    notes = page.get_by_role("list", name="Notes on frames")
    notes.get_by_role("button", name="Frame 5: The tail is cut off here.").wait_for()
    assert page.get_by_role("slider", name="Timeline: frame").get_attribute("data-notes") == "4"
    page.get_by_role("button", name="Fit the frame (0)").click()
    page.keyboard.press("ArrowLeft")
    wait_overlay(page, 3)
    notes.get_by_role("button", name="Frame 5: The tail is cut off here.").click()  # back to the noted frame
    wait_overlay(page, 4)

    page.get_by_role("button", name="Reject… (r)").click()
    page.get_by_label("Reason for rejecting").fill("The tail is missing from frame 5 on.")
    page.get_by_role("button", name="Reject masklet").click()
    page.get_by_text(f"Masklet {seeded.id} rejected.").wait_for()
    note = ReviewComment.objects.get()
    assert (note.frame_index, note.text, note.review.decision) == (4, "The tail is cut off here.", "reject")
