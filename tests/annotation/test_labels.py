"""Labels: a project's label set (admins change it; a label in use cannot vanish), a label on every
object (chosen when it is added, changeable), shown in the masklet, task and metrics payloads,
written to the exports (COCO categories, a label map beside the others) and read back by imports."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from annotation.models import Label, Masklet
from annotation.services import labels as label_services
from annotation.services.exports import export_run, export_start
from annotation.services.imports import import_run, import_start
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.tasks import task_create, task_next_for, task_submit
from dataplatform import storage
from dataplatform.models import Job, Project
from tests.annotation.conftest import box_mask
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def labels_url(project, label=None) -> str:
    return f"/api/projects/{project.pk}/labels/" + (f"{label.pk}/" if label else "")


def leased_task(video, user):
    task_create(video=video)
    task = task_next_for(user=user)
    assert task is not None
    return task


# ---- The label set ---------------------------------------------------------------------------------


def test_a_project_starts_with_the_default_label_and_admins_edit_the_set(api_client_for, admin_user, annotator,
                                                                         project):
    admin, reader = api_client_for(admin_user), api_client_for(annotator)
    listed = reader.get(labels_url(project)).json()
    assert [(label["name"], label["objects"]) for label in listed] == [("object", 0)]

    created = admin.post(labels_url(project), {"name": "  person ", "color": "#FF0000"}, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["name"], created.json()["color"]) == ("person", "#ff0000")
    assert reader.post(labels_url(project), {"name": "car"}, format="json").status_code == 403

    duplicate = admin.post(labels_url(project), {"name": "Person"}, format="json")
    assert duplicate.status_code == 409
    assert "already has a label named 'person'" in error_of(duplicate)["message"]
    too_long = admin.post(labels_url(project), {"name": "x" * 65}, format="json")
    assert too_long.status_code == 400
    bad_color = admin.post(labels_url(project), {"name": "car", "color": "red"}, format="json")
    assert bad_color.status_code == 400 and "#rrggbb" in error_of(bad_color)["message"]

    person = Label.objects.get(project=project, name="person")
    renamed = admin.patch(labels_url(project, person), {"name": "pedestrian"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "pedestrian"
    assert [label["name"] for label in reader.get(labels_url(project)).json()] == ["object", "pedestrian"]


def test_a_label_in_use_cannot_be_deleted(api_client_for, admin_user, ready_video, project):
    admin = api_client_for(admin_user)
    car = label_services.label_create(project=project, name="car")
    spare = label_services.label_create(project=project, name="spare")
    masklet_create(video=ready_video, label=car)

    refused = admin.delete(labels_url(project, car))
    assert refused.status_code == 409
    assert "used by 1 object; change their label first" in error_of(refused)["message"]
    assert Label.objects.filter(pk=car.pk).exists()
    assert admin.delete(labels_url(project, spare)).status_code == 204
    # A project keeps at least one label.
    Masklet.objects.all().delete()
    default = Label.objects.get(project=project, name="object")
    assert admin.delete(labels_url(project, default)).status_code == 204
    last = admin.delete(labels_url(project, car))
    assert last.status_code == 409 and "only label" in error_of(last)["message"]


def test_labels_per_project_are_bounded(api_client_for, admin_user, project, monkeypatch):
    monkeypatch.setattr(label_services, "MAX_LABELS_PER_PROJECT", 2)
    admin = api_client_for(admin_user)
    assert admin.post(labels_url(project), {"name": "a"}, format="json").status_code == 201  # with "object": 2
    refused = admin.post(labels_url(project), {"name": "b"}, format="json")
    assert refused.status_code == 400 and "at most 2 labels" in error_of(refused)["message"]


def test_a_label_of_another_project_is_not_found(api_client_for, admin_user, project):
    other = label_services.label_create(project=Project.objects.create(name="Other"), name="dog")
    assert api_client_for(admin_user).patch(labels_url(project, other), {"name": "cat"},
                                            format="json").status_code == 404


# ---- Objects' labels -----------------------------------------------------------------------------


def test_an_object_gets_its_label_when_added_and_changes_it(api_client_for, annotator, reviewer, ready_video,
                                                            project):
    person = label_services.label_create(project=project, name="person")
    car = label_services.label_create(project=project, name="car")
    foreign = label_services.label_create(project=Project.objects.create(name="Elsewhere"), name="dog")
    task = leased_task(ready_video, annotator)
    client = api_client_for(annotator)

    added = client.post(f"/api/tasks/{task.pk}/objects/", {"label": person.pk}, format="json")
    assert added.status_code == 201, added.content
    body = added.json()
    assert body["label"] == {"id": person.pk, "name": "person", "color": person.color}
    default = client.post(f"/api/tasks/{task.pk}/objects/", {}, format="json").json()
    assert default["label"]["name"] == "object"
    wrong = client.post(f"/api/tasks/{task.pk}/objects/", {"label": foreign.pk}, format="json")
    assert wrong.status_code == 404 and "not a label of this project" in error_of(wrong)["message"]

    number = body["object_number"]
    changed = client.patch(f"/api/tasks/{task.pk}/objects/{number}/", {"label": car.pk}, format="json")
    assert changed.status_code == 200 and changed.json()["label"]["name"] == "car"
    unchanged = client.patch(f"/api/tasks/{task.pk}/objects/{number}/", {}, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["label"]["name"] == "car"

    # The masklet, as review shows it, carries the label and the same object number.
    masklet = Masklet.objects.get(pk=body["masklet_id"])
    masklet_revision_create(masklet=masklet, masks={"0": box_mask(2, 2, 20, 20)}, author=annotator, phase=3)
    task_submit(task=task, user=annotator, masklet_ids=[masklet.pk])
    reviewed = api_client_for(reviewer).post("/api/reviews/next/", {}, format="json").json()
    assert (reviewed["object_number"], reviewed["label"]["name"]) == (number, "car")


def test_metrics_by_label(api_client_for, admin_user, annotator, ready_video, project):
    person = label_services.label_create(project=project, name="person")
    task = leased_task(ready_video, annotator)
    client = api_client_for(annotator)
    for label in (person.pk, None):
        obj = client.post(f"/api/tasks/{task.pk}/objects/", {"label": label} if label else {}, format="json").json()
        masklet_revision_create(masklet=Masklet.objects.get(pk=obj["masklet_id"]), masks={"0": box_mask(1, 1, 9, 9)},
                                author=annotator, phase=3, edited_frames=[0])
    task_submit(task=task, user=annotator)
    rows = api_client_for(admin_user).get("/api/metrics/", {"group_by": "label"}).json()
    assert sorted((row["label"], row["masklets"], row["tasks"]) for row in rows) == [("object", 1, 1),
                                                                                    ("person", 1, 1)]


# ---- Exports and imports ---------------------------------------------------------------------------


def _accepted(video, label, box):
    masklet = masklet_create(video=video, label=label)
    masklet_revision_create(masklet=masklet, masks={str(i): box_mask(*box) for i in range(3)})
    Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.ACCEPTED)
    return masklet


def _export(video, fmt) -> zipfile.ZipFile:
    job = export_run(job_id=export_start(format=fmt, video_ids=[video.pk]).pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    return zipfile.ZipFile(io.BytesIO(storage.read_bytes(job.result["key"])))


def test_coco_export_has_the_labels_as_categories(ready_video, project):
    person = label_services.label_create(project=project, name="person")
    car = label_services.label_create(project=project, name="car")
    _accepted(ready_video, car, (2, 2, 20, 20))
    _accepted(ready_video, person, (30, 10, 50, 40))
    coco = json.loads(_export(ready_video, "coco").read("annotations.json"))
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    assert sorted(categories.values()) == ["car", "object", "person"]
    by_object = {a["object_number"]: categories[a["category_id"]] for a in coco["annotations"]}
    assert by_object == {0: "car", 1: "person"}


@pytest.mark.parametrize("fmt", ["sav", "davis"])
def test_label_map_beside_sav_and_davis_and_an_import_round_trip(fmt, ready_video, video_factory, project):
    person = label_services.label_create(project=project, name="person", color="#00ff00")
    _accepted(ready_video, label_services.label_default(project=project), (2, 2, 20, 20))
    _accepted(ready_video, person, (30, 10, 50, 40))
    archive = _export(ready_video, fmt)
    label_map = json.loads(archive.read("labels.json"))
    names = {label["id"]: label["name"] for label in label_map["labels"]}
    objects = label_map["videos"][0]["objects"]
    assert [(o["object_number"], names[o["label"]]) for o in objects] == [(0, "object"), (1, "person")]
    manifest = json.loads(archive.read("manifest.json"))
    assert [m["label"] for m in manifest["videos"][0]["masklets"]] == ["object", "person"]

    # Into a video of a project that has no "person" label yet: it is created, with its colour.
    target_project = Project.objects.create(name=f"Import target {fmt}")
    target = video_factory(target_project, ready=True)
    if fmt == "sav":
        uploads = [(n, io.BytesIO(archive.read(n))) for n in archive.namelist() if n.endswith("_manual.json")]
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as out:
            for name in archive.namelist():
                if name.startswith("Annotations/"):
                    out.writestr(name, archive.read(name))
        uploads = [("davis.zip", io.BytesIO(buffer.getvalue()))]
    uploads.append(("labels.json", io.BytesIO(archive.read("labels.json"))))
    job = import_run(job_id=import_start(video=target, uploads=uploads).pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    imported = list(Masklet.objects.filter(video=target).select_related("label").order_by("object_number"))
    assert [m.label.name for m in imported] == ["object", "person"]
    assert Label.objects.get(project=target_project, name="person").color == "#00ff00"


def test_an_import_without_a_label_map_gets_the_default_label(ready_video, video_factory, project):
    _accepted(ready_video, label_services.label_create(project=project, name="person"), (2, 2, 20, 20))
    archive = _export(ready_video, "sav")
    target = video_factory(Project.objects.create(name="No map"), ready=True)
    job = import_run(job_id=import_start(video=target, uploads=[
        (n, io.BytesIO(archive.read(n))) for n in archive.namelist() if n.endswith("_manual.json")]).pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert [m.label.name for m in Masklet.objects.filter(video=target)] == ["object"]


def test_a_broken_label_map_is_refused_at_once(ready_video):
    bad = json.dumps({"format": "masklet-labels", "labels": [{"id": 1}]}).encode()
    with pytest.raises(Exception, match="label 0 needs a name"):
        import_start(video=ready_video, uploads=[("labels.json", io.BytesIO(bad)),
                                                 ("x_manual.json", io.BytesIO(b"{}"))])
