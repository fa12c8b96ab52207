"""Admins steering the queue through the API: priority, keeping a queued task for one annotator,
taking a lease back, reopening a submitted task; and the retraining preview."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotation.models import AnnotationTask
from annotation.services.tasks import task_next_for, tasks_create_for_video
from tests.annotation.test_retraining import seed_accepted_video
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def test_an_assigned_task_goes_to_its_annotator_only(admin_user, user_factory, api_client_for, ready_video):
    kept_for, other = user_factory("annotator"), user_factory("annotator")
    task, = tasks_create_for_video(video=ready_video)
    client = api_client_for(admin_user)
    response = client.patch(f"/api/tasks/{task.pk}/", {"assignee": kept_for.pk, "priority": 7}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["assignee"], response.json()["priority"]) == (kept_for.username, 7)
    assert task_next_for(user=other) is None
    assert task_next_for(user=kept_for).pk == task.pk
    # Now leased: assigning it elsewhere asks to release it first.
    busy = client.patch(f"/api/tasks/{task.pk}/", {"assignee": other.pk}, format="json")
    assert busy.status_code == 409 and "release it first" in error_of(busy)["message"]


def test_only_active_annotators_can_be_assigned(admin_user, user_factory, api_client_for, ready_video):
    reviewer = user_factory("reviewer")
    task, = tasks_create_for_video(video=ready_video)
    response = api_client_for(admin_user).patch(f"/api/tasks/{task.pk}/", {"assignee": reviewer.pk}, format="json")
    assert response.status_code == 400 and "annotator role" in error_of(response)["message"]
    assert AnnotationTask.objects.get(pk=task.pk).assignee is None


def test_release_then_reopen(admin_user, annotator, api_client_for, ready_video):
    task, = tasks_create_for_video(video=ready_video)
    task_next_for(user=annotator)
    client = api_client_for(admin_user)
    released = client.post(f"/api/tasks/{task.pk}/requeue/")
    assert released.status_code == 200 and released.json()["status"] == "queued"
    assert released.json()["assignee"] is None
    again = client.post(f"/api/tasks/{task.pk}/requeue/")
    assert again.status_code == 409 and "no lease to release" in error_of(again)["message"]
    task_next_for(user=annotator)
    AnnotationTask.objects.filter(pk=task.pk).update(status="submitted", submitted_at=timezone.now(),
                                                     lease_expires_at=None)  # as task_submit leaves it
    reopened = client.post(f"/api/tasks/{task.pk}/reopen/")
    assert reopened.status_code == 200 and reopened.json()["status"] == "queued"
    assert reopened.json()["assignee"] == annotator.username  # kept for who submitted it
    assert task_next_for(user=annotator).pk == task.pk


def test_the_task_list_filters_by_status_and_assignee(admin_user, annotator, api_client_for, ready_video):
    first, _second = tasks_create_for_video(video=ready_video, count=2)
    task_next_for(user=annotator)
    client = api_client_for(admin_user)
    leased = client.get("/api/tasks/", {"status": "leased", "assignee": annotator.pk}).json()
    assert [t["id"] for t in leased["results"]] == [first.pk]
    assert client.get("/api/tasks/", {"status": "queued"}).json()["count"] == 1


def test_retraining_preview_counts_per_phase_and_split(admin_user, reviewer, api_client_for, project):
    seed_accepted_video(project, reviewer, split="train", seed=11, phase=1)
    seed_accepted_video(project, reviewer, split="val", seed=12, phase=2)
    seed_accepted_video(project, reviewer, split="unassigned", seed=13, phase=3)
    client = api_client_for(admin_user)
    preview = client.post("/api/retraining-rounds/preview/", {"data_selection": {"phases": [1]}}, format="json").json()
    uses = {(c["phase"], c["split"]): c["use"] for c in preview["cells"]}
    assert uses == {(1, "train"): "train", (2, "val"): "held out", (3, "unassigned"): "not used"}
    assert preview["train_masklets"] == 2 and preview["train_videos"] == 1
    assert preview["held_out_masklets"] == 2 and preview["held_out_videos"] == 1
    wider = client.post("/api/retraining-rounds/preview/",
                        {"data_selection": {"splits": ["train", "unassigned"]}}, format="json").json()
    assert wider["train_masklets"] == 4
    bad = client.post("/api/retraining-rounds/preview/", {"data_selection": {"splits": ["val"]}}, format="json")
    assert bad.status_code == 400 and "held out" in error_of(bad)["message"]
