"""A retraining round through the REST API on a real Celery worker (PostgreSQL, Redis, S3 over
HTTP): the admin launches it, follows it to its end, promotes the new version; a task whose
session opens after the promotion runs on the trained weights, which the worker loads from S3.
"""

from __future__ import annotations

import pytest

from annotation.models import AnnotationTask, Interaction, ModelVersion, RetrainingRound
from annotation.services.tasks import task_create, task_next_for
from dataplatform import storage
from dataplatform.models import Job, Project
from tests.annotation.test_retraining import seed_accepted_video
from tests.conftest import wait_for
from tests.dataplatform.conftest import api_client_for, user_factory  # noqa: F401 - fixtures
from tests.workers.test_sessions_live import micro_checkpoint_bytes


@pytest.fixture
def base(live_platform) -> ModelVersion:
    key = storage.put_bytes(storage.checkpoint_key("micro-live-base"), micro_checkpoint_bytes())
    ModelVersion.objects.filter(is_active=True).update(is_active=False)
    return ModelVersion.objects.create(name="micro-live-base", config_name="micro", checkpoint_key=key,
                                       is_active=True)


def test_a_round_through_the_api_on_a_worker_then_promoted_and_used(base, user_factory,  # noqa: F811
                                                                     api_client_for) -> None:  # noqa: F811
    admin, reviewer, annotator = user_factory("admin"), user_factory("reviewer"), user_factory("annotator")
    project = Project.objects.create(name="Retraining live", phase=3)
    seed_accepted_video(project, reviewer, split="train", seed=21, frames=5)
    seed_accepted_video(project, reviewer, split="val", seed=22, frames=5)
    client = api_client_for(admin)

    response = client.post("/api/retraining-rounds/", {
        "base_version": base.pk, "data_selection": {"phases": [1, 2, 3], "project": project.pk},
        "hyperparameters": {"steps": 2, "clip_frames": 3, "eval_videos": 1}}, format="json")
    assert response.status_code == 202, response.json()
    round_id = response.json()["id"]
    body = wait_for(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/retraining-rounds/{round_id}/").json()), timeout=300, what="the round to finish")
    assert body["status"] == "succeeded", body["message"]
    assert body["step"] == 2 and body["progress"]["percent"] == 100.0 and body["loss"] > 0
    assert set(body["metrics"]["val"]) == {"mask", "1-click", "box"}
    job = Job.objects.get(pk=body["job"])
    assert job.status == Job.Status.SUCCEEDED and job.celery_task_id
    version = ModelVersion.objects.get(pk=body["resulting_version"]["id"])
    assert version.parent == base and storage.exists(version.checkpoint_key)
    assert RetrainingRound.objects.get(pk=round_id).resulting_version == version

    # After the promotion, a task whose session opens uses the trained version, loaded by the worker from S3.
    video = seed_accepted_video(project, reviewer, split="unassigned", seed=23, frames=3)
    task_create(video=video)
    task = task_next_for(user=annotator, project=project)
    assert client.post(f"/api/model-versions/{version.pk}/promote/").json()["is_active"] is True
    worker = api_client_for(annotator)
    assert worker.post(f"/api/tasks/{task.pk}/session/").status_code == 200
    assert AnnotationTask.objects.get(pk=task.pk).model_version == version
    number = worker.post(f"/api/tasks/{task.pk}/objects/").json()["object_number"]
    answer = worker.post(f"/api/tasks/{task.pk}/prompts/", {
        "kind": "click", "frame_index": 0, "object_number": number, "points": [[32, 24]], "labels": [1]},
        format="json")
    assert answer.status_code == 200, answer.json()
    assert Interaction.objects.filter(task=task).exclude(model_version=version).count() == 0
