"""Retraining rounds: launch validation (each error with its message), a round end to end in this
process on the micro model (tiny synthetic data, few steps), promotion (one active version; open
tasks keep theirs), the idempotent claim, and the API's shapes."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.utils import timezone
from PIL import Image

from annotation.models import AnnotationTask, Masklet, ModelVersion, RetrainingRound, Review
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.modelversions import model_version_ensure_default, model_version_promote
from annotation.services.retraining import (
    _train_config,
    retraining_hyperparameters,
    retraining_round_launch,
    retraining_round_run,
)
from annotation.services.sessions import session_model_version
from annotation.services.tasks import task_create
from dataplatform import storage
from dataplatform.errors import ApplicationError
from dataplatform.models import Job, Video
from engine import rle as rle_ops
from engine.synthetic import make_video
from tests.dataplatform.conftest import error_of

FAST = {"steps": 2, "clip_frames": 3, "eval_videos": 1, "lr": 1e-4}


def seed_accepted_video(project, reviewer, *, split: str, seed: int, frames: int = 6, phase: int = 1,
                        height: int = 48, width: int = 64) -> Video:
    """A ready video whose frames are in storage and whose objects are accepted masklets."""
    clip = make_video(seed, num_frames=frames, height=height, width=width, num_objects=2)
    video = Video.objects.create(
        project=project, name=f"synthetic-{seed}.mp4", source_uri="videos/synthetic.mp4", status=Video.Status.READY,
        frame_count=frames, width=width, height=height, source_fps=24.0, annotation_fps=6.0,
        duration=frames / 6, ready_at=timezone.now(), frame_timestamps=[i / 6 for i in range(frames)], split=split)
    for index, frame in enumerate(clip.frames):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=95)
        storage.put_bytes(storage.frame_key(video.pk, index), buffer.getvalue())
    for obj, masks in clip.masks.items():
        if not masks.any():
            continue
        masklet = masklet_create(video=video)
        revision = masklet_revision_create(masklet=masklet, masks={str(t): rle_ops.encode(m) for t, m in
                                                                   enumerate(masks)},
                                           phase=phase, edited_frames=range(frames))
        Review.objects.create(revision=revision, reviewer=reviewer, decision=Review.Decision.ACCEPT)
        Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.ACCEPTED)
        assert obj
    return video


@pytest.fixture
def base_version(db) -> ModelVersion:
    return model_version_ensure_default()  # micro, the shipped weights


@pytest.fixture
def dataset(project, reviewer) -> Callable[..., list[Video]]:
    def make(*, val: bool = True, phase: int = 1) -> list[Video]:
        videos = [seed_accepted_video(project, reviewer, split="train", seed=11, phase=phase)]
        if val:
            videos.append(seed_accepted_video(project, reviewer, split="val", seed=12))
        return videos

    return make


# ---- Validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("selection", "hyper", "message"), [
    ({"phases": [4]}, {}, "Unknown phases [4]: phases are 1, 2 and 3."),
    ({"phases": []}, {}, "phases must be a non-empty list"),
    ({"splits": ["val"]}, {}, "never val: it is held out"),
    ({"since": "yesterday"}, {}, "since must be a date"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, {}, "since must be before until."),
    ({"colour": "red"}, {}, "Unknown data selection keys colour"),
    ({}, {"steps": 0}, "Hyperparameter steps must be between 1 and 100000, got 0."),
    ({}, {"lr": 1.0}, "Hyperparameter lr must be between 1e-07 and 0.01, got 1."),
    ({}, {"steps": "many"}, "Hyperparameter steps must be an integer"),
    ({}, {"clip_frames": 40}, "Hyperparameter clip_frames must be between 2 and 16"),
    ({}, {"batch": 4}, "Unknown hyperparameters batch"),
    ({}, {"steps": 5, "warmup_steps": 5}, "warmup_steps (5) must be fewer than steps (5)."),
    ({}, {"average_decay": 1}, "Hyperparameter average_decay must be between 0.5 and 0.9999, got 1."),
])
def test_launch_refuses_bad_input_with_a_message(base_version, admin_user, selection, hyper, message) -> None:
    with pytest.raises(ApplicationError) as caught:
        retraining_round_launch(base_version=base_version, data_selection=selection, hyperparameters=hyper,
                                user=admin_user)
    assert message in caught.value.message
    assert not RetrainingRound.objects.exists()


def test_launch_refuses_an_empty_selection(base_version, admin_user, dataset) -> None:
    dataset(phase=1)
    with pytest.raises(ApplicationError) as caught:
        retraining_round_launch(base_version=base_version, data_selection={"phases": [2, 3]}, hyperparameters={},
                                user=admin_user)
    assert caught.value.message.startswith("No accepted masklets match this selection (phases 2, 3 on train videos")
    with pytest.raises(ApplicationError, match="No accepted masklets match"):
        retraining_round_launch(base_version=base_version, data_selection={"since": "2999-01-01"},
                                hyperparameters={}, user=admin_user)
    assert not Job.objects.filter(kind=Job.Kind.RETRAINING).exists()


# ---- A round end to end ----------------------------------------------------------------------------


def test_round_end_to_end_registers_a_loadable_version_with_metrics(base_version, admin_user, dataset, tmp_path,
                                                                    django_capture_on_commit_callbacks) -> None:
    dataset()
    with django_capture_on_commit_callbacks(execute=False):
        launched = retraining_round_launch(base_version=base_version, data_selection={"phases": [1]},
                                           hyperparameters=FAST, user=admin_user)
    assert launched.status == RetrainingRound.Status.QUEUED and launched.job.progress_total == 2
    steps = []
    done = retraining_round_run(job=launched.job, on_step=lambda step, total, loss: steps.append((step, total)))
    assert done is not None and done.status == RetrainingRound.Status.SUCCEEDED, done and done.message
    assert steps == [(1, 2), (2, 2)]
    version = done.resulting_version
    assert version.parent == base_version and not version.is_active and version.config_name == "micro"
    metrics = version.metrics
    assert set(metrics["val"]) == {"mask", "1-click", "box"} and metrics["val_videos"] == 1
    assert 0 <= metrics["val"]["mask"]["jf"] <= 100 and set(metrics["val_base"]) == {"mask", "1-click", "box"}
    assert metrics["steps"] == 2 and metrics["train_masklets"] >= 1 and metrics["final_loss"] > 0
    job = Job.objects.get(pk=launched.job_id)
    assert job.status == Job.Status.SUCCEEDED and job.progress_done == 2
    assert job.result["model_version"] == version.pk and job.result["step"] == 2
    # The checkpoint is in storage and loads strictly, config from its metadata.
    assert version.checkpoint_key.startswith(f"models/{version.name}/") and storage.exists(version.checkpoint_key)
    from engine.checkpoint import load_model

    path = tmp_path / "model.safetensors"
    path.write_bytes(storage.read_bytes(version.checkpoint_key))
    model = load_model(None, path)
    assert model.config.name == "micro"
    # It was fine-tuned with the loss micro was trained with, not the official checkpoints'.
    from engine.training.bootstrap import micro_recipe

    params = retraining_hyperparameters(hyperparameters=FAST)
    assert _train_config(params, model.config.name).loss == micro_recipe().loss
    # A second delivery of the task's message does nothing (the Job is finished).
    assert retraining_round_run(job=job) is None
    assert ModelVersion.objects.filter(parent=base_version).count() == 1


def test_a_round_with_average_decay_stores_the_averaged_weights(base_version, admin_user, dataset, tmp_path) -> None:
    import torch

    from engine.checkpoint import load_model

    """Same data, seed and steps: the round that averages stores other weights than the one that does
    not, i.e. the moving average over its second half (steps 3 and 4 of 4), not the last step's (and
    two rounds that do not average store the same weights: training here is deterministic)."""
    dataset()
    stored = []
    for decay in (None, None, 0.5):
        hyper = {**FAST, "steps": 4, "eval_videos": 0, "average_decay": decay}
        assert _train_config(retraining_hyperparameters(hyperparameters=hyper), "micro").weight_average == (
            None if decay is None else (0.5, 3))
        done = retraining_round_run(job=retraining_round_launch(
            base_version=base_version, data_selection={"phases": [1]}, hyperparameters=hyper, user=admin_user).job)
        assert done.status == RetrainingRound.Status.SUCCEEDED, done.message
        assert done.hyperparameters["average_decay"] == decay
        path = tmp_path / f"{len(stored)}.safetensors"
        path.write_bytes(storage.read_bytes(done.resulting_version.checkpoint_key))
        stored.append(load_model(None, path).state_dict())
    differ = [[name for name, t in stored[0].items() if not torch.equal(t, other[name])] for other in stored[1:]]
    assert differ[0] == [] and len(differ[1]) > 100, differ


def test_round_without_val_data_says_so(base_version, admin_user, dataset) -> None:
    dataset(val=False)
    launched = retraining_round_launch(base_version=base_version, data_selection={}, hyperparameters=FAST,
                                       user=admin_user)
    done = retraining_round_run(job=launched.job)
    assert done.status == RetrainingRound.Status.SUCCEEDED
    assert done.resulting_version.metrics["val"] is None
    assert "No accepted masklets on val videos" in done.resulting_version.metrics["note"]
    assert "No accepted masklets on val videos" in done.message


def test_round_failure_marks_round_and_job_failed(base_version, admin_user, dataset) -> None:
    dataset(val=False)
    broken = ModelVersion.objects.create(name="broken", config_name="micro", checkpoint_key="models/missing.st")
    launched = retraining_round_launch(base_version=broken, data_selection={}, hyperparameters=FAST,
                                       user=admin_user)
    done = retraining_round_run(job=launched.job)
    assert done.status == RetrainingRound.Status.FAILED and done.message.startswith("Retraining failed:")
    job = Job.objects.get(pk=launched.job_id)
    assert job.status == Job.Status.FAILED and job.message == done.message


def test_cancel_requested_stops_the_round(base_version, admin_user, dataset) -> None:
    dataset(val=False)
    launched = retraining_round_launch(base_version=base_version, data_selection={},
                                       hyperparameters={**FAST, "steps": 3}, user=admin_user)
    Job.objects.filter(pk=launched.job_id).update(cancel_requested=True)
    done = retraining_round_run(job=launched.job)
    assert done.status == RetrainingRound.Status.CANCELLED and done.resulting_version is None
    assert Job.objects.get(pk=launched.job_id).status == Job.Status.CANCELLED


# ---- Promotion -------------------------------------------------------------------------------------


def test_promote_switches_the_active_version_and_open_tasks_keep_theirs(base_version, admin_user, ready_video
                                                                       ) -> None:
    trained = ModelVersion.objects.create(name="micro-round-x", config_name="micro", parent=base_version,
                                          checkpoint_key="models/micro-round-x/model.safetensors")
    open_task = task_create(video=ready_video)
    assert session_model_version(task=open_task) == base_version  # its session opened before the promotion
    promoted = model_version_promote(version=trained, user=admin_user)
    assert promoted.is_active and promoted.promoted_at is not None
    assert list(ModelVersion.objects.filter(is_active=True)) == [trained]
    open_task.refresh_from_db()
    assert session_model_version(task=open_task) == base_version
    new_task = task_create(video=ready_video)
    assert session_model_version(task=new_task) == trained
    assert model_version_promote(version=trained, user=admin_user).promoted_at == promoted.promoted_at
    model_version_promote(version=base_version, user=admin_user)
    assert list(ModelVersion.objects.filter(is_active=True)) == [base_version]
    assert AnnotationTask.objects.get(pk=new_task.pk).model_version == trained


# ---- API -------------------------------------------------------------------------------------------


def test_api_launch_errors_and_permissions(base_version, admin_user, annotator, api_client_for, dataset) -> None:
    dataset(val=False)
    admin = api_client_for(admin_user)
    response = admin.post("/api/retraining-rounds/", {"data_selection": {"phases": [7]}}, format="json")
    assert response.status_code == 400 and "Unknown phases [7]" in error_of(response)["message"]
    response = admin.post("/api/retraining-rounds/", {"hyperparameters": {"steps": -1}}, format="json")
    assert response.status_code == 400 and "steps must be between 1 and" in error_of(response)["message"]
    response = admin.post("/api/retraining-rounds/", {"data_selection": {"phases": [3]}}, format="json")
    assert response.status_code == 400 and "No accepted masklets match" in error_of(response)["message"]
    response = admin.post("/api/retraining-rounds/", {"base_version": 999999}, format="json")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api_client_for(annotator).post("/api/retraining-rounds/", {}, format="json").status_code == 403
    assert api_client_for(annotator).get("/api/model-versions/").status_code == 200
    response = api_client_for(annotator).post(f"/api/model-versions/{base_version.pk}/promote/")
    assert response.status_code == 403
    assert admin.get("/api/retraining-rounds/abc/").status_code == 404


def test_api_launch_then_follow_then_promote(base_version, admin_user, api_client_for, dataset,
                                             django_capture_on_commit_callbacks) -> None:
    dataset(val=False)
    admin = api_client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post("/api/retraining-rounds/", {"base_version": base_version.pk,
                                                          "data_selection": {"phases": [1, 2, 3]},
                                                          "hyperparameters": FAST}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["progress"] == {"done": 0, "total": 2, "percent": 0.0}
    assert body["base_version"]["id"] == base_version.pk and body["resulting_version"] is None
    retraining_round_run(job=Job.objects.get(pk=body["job"]))
    body = admin.get(f"/api/retraining-rounds/{body['id']}/").json()
    assert body["status"] == "succeeded" and body["step"] == 2 and body["loss"] > 0
    assert body["progress"]["percent"] == 100.0 and body["metrics"]["steps"] == 2
    version = body["resulting_version"]
    listed = admin.get("/api/model-versions/").json()["results"]
    assert {v["id"] for v in listed} == {base_version.pk, version["id"]}
    response = admin.post(f"/api/model-versions/{version['id']}/promote/")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert admin.get("/api/retraining-rounds/").json()["count"] == 1
