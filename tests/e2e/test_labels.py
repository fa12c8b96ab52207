"""Labels in the browser: the annotator chooses a label when adding an object and changes it; the
workspace names the object by its number and label, and review shows the same name.

The session's engine routes (open, prompts, masks) are answered by ``SessionStub``; adding an
object and changing its label go to the real API, so the label lands on the real masklet.
"""

from __future__ import annotations

import re

from annotation.models import Masklet
from annotation.services.labels import label_create, label_default
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.sessions import label_state
from annotation.services.tasks import task_create, task_submit
from browser_harness.session_stub import SessionStub
from dataplatform import storage
from tests.e2e.conftest import log_out, section, shot
from tests.e2e.seed import box_rle, ready_video

ENGINE_ROUTES = re.compile(r".*/api/tasks/\d+/(session|prompts|propagate|masks|undo)/.*")


def test_an_object_added_with_a_label_shows_it_in_the_workspace_and_review(
        transactional_db, e2e_media, project, page, login, user_factory):
    video = ready_video(project, frames=8)
    # Another annotator's object came first: this task's first object is object 1 in the video.
    masklet_create(video=video)
    labels = [label_default(project=project), label_create(project=project, name="person"),
              label_create(project=project, name="car")]
    task = task_create(video=video, phase=3)
    stub = SessionStub(frame_urls=[storage.url_for(storage.frame_key(video.pk, i)) for i in range(8)],
                       width=video.width, height=video.height, phase=3)
    stub.masks, stub.labels, stub.label_set = {}, {}, [label_state(label) for label in labels]
    page.route(ENGINE_ROUTES, stub.handle)

    annotator = user_factory("annotator")
    login(page, annotator)
    page.get_by_role("button", name="Start next task").click()
    page.wait_for_url(f"**/app/annotate/tasks/{task.id}")
    page.get_by_text("No object yet").wait_for()
    page.get_by_label("Label of the new object").select_option(label="person")
    page.get_by_role("button", name="+ Add object").click()
    page.get_by_role("button", name="Object 1 · person", exact=True).wait_for()
    masklet = Masklet.objects.select_related("label").get(task=task)
    assert (masklet.object_number, masklet.label.name) == (1, "person")

    page.get_by_label("Label of object 1").select_option(label="car")
    page.get_by_role("button", name="Object 1 · car", exact=True).wait_for()
    masklet.refresh_from_db()
    assert masklet.label.name == "car"
    shot(page, "workspace-labels")

    # The masks are saved and the task submitted (the engine is a stand-in here); review names it alike.
    masklet_revision_create(masklet=masklet, masks={str(i): box_rle(60, 60, 160, 140) for i in range(8)},
                            author=annotator, phase=3, edited_frames=[0])
    task_submit(task=task, user=annotator, masklet_ids=[masklet.pk])
    log_out(page)
    login(page, user_factory("reviewer"))
    page.locator(".masklet-label").filter(has_text="Object 1 · car").wait_for()
    shot(page, "review-labels")


def test_admin_edits_the_label_set_and_a_label_in_use_stays(transactional_db, e2e_media, project, page, login,
                                                            user_factory):
    video = ready_video(project, frames=2)
    masklet_create(video=video)  # has the default label "object"
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, user_factory("admin"))
    page.goto("/app/admin")
    section(page, "Projects")
    page.get_by_role("button", name=f"Label set of {project.name}").click()
    panel = page.get_by_role("region", name="Labels")
    assert panel.get_by_label("Label set of").evaluate("select => select.value") == str(project.pk)
    panel.get_by_label("Label “object”").wait_for()
    panel.get_by_label("New label", exact=True).fill("person")
    panel.get_by_role("button", name="Add label").click()
    panel.get_by_label("Label “person”").wait_for()
    assert label_default(project=project).name == "object"
    assert [label.name for label in project.labels.order_by("id")] == ["object", "person"]

    panel.get_by_role("button", name="Delete label object").click()
    panel.get_by_text("Label 'object' is used by 1 object; change their label first").wait_for()
    panel.get_by_role("button", name="Delete label person").click()
    panel.get_by_text("Label “person” deleted.").wait_for()
    assert [label.name for label in project.labels.all()] == ["object"]
    shot(page, "admin-labels")
