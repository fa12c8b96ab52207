"""Running a project from the browser, no API call by hand: create a project, set video splits in
bulk and preview the retraining data, assign a task, create an account and deactivate it; on a
real Celery worker: import annotations and export them (downloaded), and automatic masklets with
thresholds chosen in the form, whose result says what each filter kept."""

from __future__ import annotations

import json
import zipfile

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from annotation.models import AnnotationTask, Masklet
from annotation.services.tasks import tasks_create_for_video
from dataplatform.models import Project, Video
from tests.e2e.conftest import section


def test_admin_creates_a_project_and_sets_splits_in_bulk(transactional_db, page, login, user_factory, project,
                                                          video_factory):
    from annotation.models import ModelVersion
    from tests.annotation.test_retraining import seed_accepted_video

    ModelVersion.objects.create(name="micro-ready", config_name="micro", status="ready")
    reviewer = user_factory("reviewer")
    videos = [seed_accepted_video(project, reviewer, split="unassigned", seed=s) for s in (21, 22, 23)]
    login(page, user_factory("admin"))
    section(page, "Projects")
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Project name").fill("Kitchens")
    form.get_by_label("Phase").select_option("1")
    form.get_by_label("Annotation fps").fill("3")
    form.get_by_label("Model version").select_option(label="micro-ready")
    form.get_by_role("button", name="Create project").click()
    page.get_by_text("Project “Kitchens” created (phase 1, 3 fps).").wait_for()
    made = Project.objects.get(name="Kitchens")
    assert (made.phase, made.annotation_fps, made.model_version.name) == (1, 3.0, "micro-ready")
    page.get_by_label("Phase of Kitchens").select_option("2")
    page.get_by_role("button", name="Save Kitchens").click()
    page.get_by_text("“Kitchens” saved: phase 2, 3 fps.").wait_for()
    assert Project.objects.get(name="Kitchens").phase == 2

    # Retraining refused "no videos in the train split": the preview says so, the Videos section fixes it.
    section(page, "Retraining & models")
    page.get_by_role("button", name="Preview data").click()
    page.get_by_text("Nothing to train on: the round would be refused.").wait_for()
    section(page, "Videos")
    for video in videos[:2]:
        page.get_by_label(f"Select {video.name}").check()
    page.get_by_text("2 checked.").wait_for()
    page.get_by_label("Split for the checked videos").select_option("train")
    page.get_by_role("button", name="Set split of checked").click()
    page.get_by_text("2 videos now in train.").wait_for()
    assert sorted(Video.objects.filter(project=project).values_list("split", flat=True)) == ["train", "train",
                                                                                              "unassigned"]
    expect(page.get_by_label(f"Split of {videos[0].name}")).to_have_value("train")  # the table reloaded
    page.get_by_label(f"Split of {videos[2].name}").select_option("val")
    page.get_by_text(f"“{videos[2].name}” is now in val.").wait_for()
    section(page, "Retraining & models")
    page.get_by_role("button", name="Preview data").click()
    preview = page.get_by_label("Retraining data preview")
    preview.get_by_text("Trains on 4 accepted masklets of 2 videos").wait_for()
    assert "evaluates on 2 of 1 val videos" in preview.inner_text()
    assert preview.get_by_role("row", name="phase 1").get_by_role("cell").nth(0).inner_text() == "4 (2) · train"


def test_admin_assigns_releases_and_reopens_tasks(transactional_db, page, login, user_factory, video_factory):
    video = video_factory(ready=True)
    dana = user_factory("annotator", username="dana")
    user_factory("annotator", username="eli")
    first, second = tasks_create_for_video(video=video, count=2)
    AnnotationTask.objects.filter(pk=second.pk).update(status="submitted", assignee=dana)
    login(page, user_factory("admin"))
    section(page, "Tasks")
    page.get_by_label(f"Assign task {first.pk}").select_option(label="eli")
    page.get_by_text(f"Task {first.pk} is kept for eli.").wait_for()
    page.get_by_label(f"Priority of task {first.pk}").fill("9")
    page.get_by_label(f"Priority of task {first.pk}").press("Enter")
    page.get_by_text(f"Task {first.pk} now has priority 9.").wait_for()
    task = AnnotationTask.objects.get(pk=first.pk)
    assert (task.assignee.username, task.priority) == ("eli", 9)

    page.get_by_role("button", name=f"Reopen task {second.pk}").click()
    page.get_by_text(f"Task {second.pk} is queued again, kept for dana.").wait_for()
    assert AnnotationTask.objects.get(pk=second.pk).status == "queued"
    page.get_by_label("Annotator", exact=True).select_option(label="dana")
    page.locator(f"tr[data-task-id='{second.pk}']").wait_for()
    expect(page.locator("tbody tr[data-task-id]")).to_have_count(1)


def test_admin_creates_an_account_then_deactivates_it(transactional_db, page, login, user_factory, browser):
    login(page, user_factory("admin"))
    section(page, "Users")
    form = page.get_by_role("form", name="New account")
    form.get_by_label("Username").fill("fatima")
    form.get_by_label("Password").fill("fatima-demo-pass")
    form.get_by_label("New account is annotator").check()
    form.get_by_label("New account is reviewer").check()
    form.get_by_role("button", name="Create account").click()
    page.get_by_text("Account “fatima” created (annotator, reviewer).").wait_for()

    other = browser.new_context().new_page()  # she logs in
    other.goto(page.url.split("/app/")[0] + "/app/login")
    other.get_by_label("Username").fill("fatima")
    other.get_by_label("Password").fill("fatima-demo-pass")
    other.get_by_role("button", name="Log in").click()
    other.get_by_role("button", name="Log out").wait_for()

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("fatima is reviewer").uncheck()
    page.get_by_role("button", name="Save roles of fatima").click()
    page.get_by_text("fatima: annotator.").wait_for()
    page.get_by_role("button", name="Deactivate fatima").click()
    page.get_by_text("fatima is deactivated.").wait_for()
    assert not get_user_model().objects.get(username="fatima").is_active
    fresh = browser.new_context().new_page()
    fresh.goto(page.url.split("/app/")[0] + "/app/login")
    fresh.get_by_label("Username").fill("fatima")
    fresh.get_by_label("Password").fill("fatima-demo-pass")
    fresh.get_by_role("button", name="Log in").click()
    fresh.get_by_text("the account is disabled").wait_for()


def test_admin_imports_then_exports_and_downloads(live_platform, page, login, user_factory):
    from tests.annotation.test_exchange import AUTO, MANUAL, make_sav_video

    video = make_sav_video()
    login(page, user_factory("admin"))
    section(page, "Exports & imports")
    imports = page.get_by_role("form", name="Import annotations")
    imports.get_by_label("Into video").select_option(label=video.name)
    imports.get_by_label("SA-V JSON or DAVIS zip").set_input_files([str(MANUAL), str(AUTO)])
    imports.get_by_role("button", name="Import").click()
    page.get_by_text(f"Imported 14 masklets into video {video.pk}.").wait_for(timeout=120_000)
    assert Masklet.objects.filter(video=video, status="accepted").count() == 14

    exports = page.get_by_role("form", name="New export")
    exports.get_by_label("Format").select_option("sav")
    exports.get_by_label("Project to export").select_option(str(video.project_id))
    exports.get_by_label("Automatic").uncheck()
    exports.get_by_role("button", name="Export").click()
    link = page.locator(".export-result a.download")
    link.wait_for(timeout=120_000)
    page.get_by_text("Exported 5 masklets of 1 video.").first.wait_for()
    assert page.get_by_label("Export progress").evaluate("bar => bar.value") == 100
    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(download.value.path())
    assert MANUAL.name in archive.namelist() and AUTO.name not in archive.namelist(), archive.namelist()
    assert json.loads(archive.read(MANUAL.name)).keys() == json.loads(MANUAL.read_bytes()).keys()
    page.get_by_role("heading", name="Recent exports").wait_for()
    page.locator("ul.exports li").filter(has_text="succeeded").first.wait_for()


def test_admin_runs_automatic_masklets_with_thresholds(live_platform, page, login, user_factory):
    from annotation.models import ModelVersion
    from dataplatform import storage
    from tests.workers.test_sessions_live import micro_checkpoint_bytes, ready_video_with_frames

    key = storage.put_bytes(storage.checkpoint_key("micro-auto"), micro_checkpoint_bytes())
    version = ModelVersion.objects.create(name="micro-auto", config_name="micro", checkpoint_key=key)
    project = Project.objects.create(name="Auto", phase=3, model_version=version)
    video = ready_video_with_frames(project, 4)
    login(page, user_factory("admin"))
    section(page, "Automatic masklets")
    form = page.get_by_role("form", name="Automatic masklets")
    form.get_by_label("Video", exact=True).select_option(str(video.pk))
    form.get_by_label("Points per side").fill("4")
    form.get_by_label("Predicted IoU threshold").fill("1")  # nothing passes: the result says which filter
    form.get_by_role("button", name="Make automatic masklets").click()
    result = page.get_by_label("Automatic masklets result")
    result.get_by_text("0 masklets").wait_for(timeout=180_000)
    assert "None passed “predicted IoU above pred_iou_thresh”" in result.inner_text(), result.inner_text()
    assert result.locator("tr[data-filter='points'] td").nth(1).inner_text() == "16"
    assert result.locator("tr[data-filter='pred_iou'] td").nth(1).inner_text() == "0"

    form.get_by_label("Predicted IoU threshold").fill("0")
    form.get_by_label("Stability threshold").fill("0")
    form.get_by_label("At most masklets").fill("2")
    form.get_by_role("button", name="Make automatic masklets").click()
    result.locator("tr[data-filter='max_masklets']").wait_for(timeout=180_000)
    made = Masklet.objects.filter(video=video, kind="auto")
    kept = result.locator("tr[data-filter='max_masklets'] td").nth(1).inner_text()
    assert 1 <= made.count() <= 2 and kept == str(made.count())
    assert f"{made.count()} masklet" in result.inner_text()
    assert all(m.status == "submitted" for m in made)
