"""A first project from start to end in the browser, on the live server and a real Celery worker, the
UI only: the admin registers the model, creates a project and its label set, uploads a video, sets
its split and queues a task; an annotator adds two objects with different labels, clicks on each,
propagates and submits; a reviewer accepts both masklets; the admin exports COCO and downloads it.
The database is read only to check what the downloaded file says (and the users are made there)."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from annotation.models import Interaction, Masklet
from browser_harness.canvas import canvas_point
from dataplatform.media.synth import write_video
from dataplatform.models import Project, Video
from engine import rle as rle_ops
from tests.conftest import wait_for
from tests.e2e.conftest import log_out, section, shot

LABELS = {0: "person", 1: "dog"}  # object number → its label
CLICKS = {0: (40, 40), 1: (120, 80)}  # object number → where it is clicked on frame 0


def admin_sets_up(page, tmp_path) -> None:
    """Model, project, labels, video (ingested), split and a queued task, all from the admin screen."""
    from tests.workers.test_sessions_live import micro_checkpoint_bytes

    weights = tmp_path / "micro-first.safetensors"
    weights.write_bytes(micro_checkpoint_bytes())
    section(page, "Retraining & models")
    models = page.get_by_role("region", name="Model versions")
    models.get_by_text("Register a checkpoint").click()
    form = page.get_by_role("form", name="Register a checkpoint")
    form.get_by_label("Name").fill("micro-first")
    form.get_by_label("Checkpoint").set_input_files(str(weights))
    form.get_by_role("button", name="Register").click()
    models.get_by_text("“micro-first” is ready; promote it to use it.").wait_for(timeout=90_000)

    section(page, "Projects")
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Project name").fill("Garden")
    form.get_by_label("Phase").select_option("3")
    form.get_by_label("Annotation fps").fill("6")
    form.get_by_label("Model version").select_option(label="micro-first")
    form.get_by_role("button", name="Create project").click()
    page.get_by_text("Project “Garden” created (phase 3, 6 fps).").wait_for()
    page.get_by_role("button", name="Label set of Garden").click()
    panel = page.get_by_role("region", name="Labels")
    for name in LABELS.values():
        panel.get_by_label("New label", exact=True).fill(name)
        panel.get_by_role("button", name="Add label").click()
        panel.get_by_label(f"Label “{name}”").wait_for()
    panel.get_by_role("button", name="Delete label object").click()  # the default one, unused: gone
    panel.get_by_text("Label “object” deleted.").wait_for()

    video = tmp_path / "garden.mp4"
    write_video(video, fps=24, frames=24, width=160, height=120)  # 1 s: 6 frames at 6 fps
    section(page, "Videos")
    page.get_by_label("Project", exact=True).select_option(label="Garden (phase 3)")
    page.get_by_label("Video file").set_input_files(str(video))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text(re.compile(r"“garden\.mp4” is ready: 6 frames at 160×120\.")).wait_for(timeout=90_000)
    page.get_by_label("Split of garden.mp4").select_option("train")
    page.get_by_text("“garden.mp4” is now in train.").wait_for()
    page.get_by_role("button", name="Queue a task: garden.mp4").click()
    page.get_by_text("A task on “garden.mp4” is in the annotation queue.").wait_for()


def annotator_labels_two_objects(page) -> None:
    page.get_by_role("heading", name="Annotation queue").wait_for()
    page.get_by_role("button", name="Start next task").click()
    page.wait_for_url("**/app/annotate/tasks/*")
    page.wait_for_selector("canvas.frame-canvas[data-image-frame='0']", timeout=90_000)
    page.get_by_text("No object yet").wait_for()
    for number, label in LABELS.items():
        page.get_by_label("Label of the new object").select_option(label=label)
        page.get_by_role("button", name="+ Add object").click()
        page.get_by_role("button", name=f"Object {number} · {label}", exact=True).wait_for()
        page.mouse.click(*canvas_point(page, *CLICKS[number]))
        page.locator(".objects li.selected").filter(has_text=f"Object {number} · {label}").wait_for()
        # The engine answered the click (its time is shown) and it was recorded on the object.
        wait_for(lambda n=number: Interaction.objects.filter(kind="click+", frame_index=0, object_number=n).exists(),
                 timeout=90, what=f"the click on object {number}")
        page.wait_for_selector("canvas.frame-canvas[data-overlay-frame='0']", timeout=90_000)
        page.get_by_text(" ms").first.wait_for(timeout=90_000)
    page.keyboard.press("f")
    page.get_by_text("Propagation done.").wait_for(timeout=120_000)
    shot(page, "first-project-annotated")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/app/annotate")


def reviewer_accepts_both(page) -> None:
    """Each masklet is shown with its object's label, then accepted."""
    seen = set()
    for _ in LABELS:
        info = page.locator("p.masklet-info").filter(has_text="present on 6 of 6 frames")
        fresh = info.filter(has_not_text=re.compile("|".join(map(re.escape, seen)))) if seen else info
        fresh.wait_for(timeout=30_000)
        text = info.inner_text()
        masklet_id, name = re.match(r"Masklet (\d+): (Object \d · \w+)", text).groups()
        seen.add(name)
        page.get_by_role("button", name="Accept (a)").click()
        page.get_by_text(f"Masklet {masklet_id} accepted.").wait_for()
    assert seen == {f"Object {n} · {label}" for n, label in LABELS.items()}, seen
    page.get_by_text("The verification queue is empty.").wait_for()


def admin_exports_coco(page) -> zipfile.ZipFile:
    section(page, "Exports & imports")
    exports = page.get_by_role("form", name="New export")
    exports.get_by_label("Format").select_option("coco")
    exports.get_by_label("Project to export").select_option(label="Garden")
    exports.get_by_role("button", name="Export").click()
    link = page.locator(".export-result a.download")
    link.wait_for(timeout=120_000)
    page.get_by_text("Exported 2 masklets of 1 video.").first.wait_for()
    with page.expect_download() as download:
        link.click()
    return zipfile.ZipFile(download.value.path())


@pytest.mark.slow
def test_first_project_from_upload_to_a_downloaded_coco_export(live_platform, page, login, user_factory, tmp_path):
    admin, annotator, reviewer = (user_factory(role) for role in ("admin", "annotator", "reviewer"))
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, admin)
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    admin_sets_up(page, tmp_path)
    log_out(page)

    login(page, annotator)
    annotator_labels_two_objects(page)
    log_out(page)

    login(page, reviewer)
    reviewer_accepts_both(page)
    log_out(page)

    login(page, admin)
    archive = admin_exports_coco(page)
    assert "annotations.json" in archive.namelist(), archive.namelist()
    doc = json.loads(archive.read("annotations.json"))

    project = Project.objects.get(name="Garden")
    video = Video.objects.get(project=project, name="garden.mp4")
    assert (video.split, video.frame_count) == ("train", 6)
    names = {c["id"]: c["name"] for c in doc["categories"]}
    assert sorted(names.values()) == sorted(project.labels.values_list("name", flat=True)) == sorted(
        LABELS.values()), names
    masklets = {m.object_number: m for m in Masklet.objects.filter(video=video).select_related("label")}
    assert sorted(masklets) == sorted(LABELS) and all(m.status == "accepted" for m in masklets.values())
    frames = {image["id"]: image["frame_index"] for image in doc["images"]}
    assert sorted(frames.values()) == list(range(video.frame_count))
    by_object: dict[int, dict] = {}
    for ann in doc["annotations"]:
        by_object.setdefault(ann["object_number"], {})[frames[ann["image_id"]]] = ann
    assert sorted(by_object) == sorted(LABELS), sorted(by_object)
    for number, label in LABELS.items():
        assert masklets[number].label.name == label
        annotations = by_object[number]
        assert {names[a["category_id"]] for a in annotations.values()} == {label}
        # Propagated to every annotated frame: a non-empty RLE of the video's size on each.
        assert sorted(annotations) == list(range(video.frame_count)), sorted(annotations)
        for ann in annotations.values():
            assert ann["segmentation"]["size"] == [video.height, video.width]
            assert ann["area"] > 0 and rle_ops.area(rle_ops.validate(ann["segmentation"])) == ann["area"]
