"""The promotion gate: a round's version is promoted by itself only when it beats the active version on
the held-out split by more than the evaluation's noise (a paired bootstrap over objects); otherwise it
stays unpromoted with the comparison recorded, and an admin may still promote it by hand. Rounds here
train for real (2 steps); their held-out scores are crafted, so the gate's input is known."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import annotation.services.retraining as retraining
from annotation.models import ModelVersion, RetrainingRound
from annotation.services.modelversions import model_version_ensure_default
from annotation.services.promotion import promotion_comparison
from annotation.services.retraining import retraining_round_launch, retraining_round_run
from dataplatform.models import Job
from engine.evaluation.compare import bootstrap_noise, compare_paired
from tests.annotation.test_retraining import FAST, seed_accepted_video

pytestmark = pytest.mark.django_db


def scores(per_object: dict[str, float], protocols=("mask", "1-click", "box")) -> dict:
    """Held-out scores in ``evaluate_model``'s shape, every protocol with these per-object J&F."""
    mean = float(np.mean(list(per_object.values())))
    return {p: {"jf": mean, "j": mean, "f": mean, "objects": len(per_object), "per_object": per_object}
            for p in protocols}


def objects(values) -> dict[str, float]:
    return {f"1:{i}": float(v) for i, v in enumerate(values)}


# ---- The noise estimate ----------------------------------------------------------------------------


def test_the_noise_is_the_bootstrap_interval_of_the_mean_gain() -> None:
    assert bootstrap_noise([3.0] * 10) == 0.0  # every object gained the same: no doubt
    rng = np.random.default_rng(1)
    differences = rng.normal(2.0, 10.0, size=400)
    # The 95 % interval of a mean: about 1.96 standard errors either side.
    assert bootstrap_noise(differences) == pytest.approx(1.96 * 10.0 / np.sqrt(400), rel=0.15)
    assert bootstrap_noise(differences[:25]) > bootstrap_noise(differences)  # fewer objects, more noise
    assert bootstrap_noise(differences) == bootstrap_noise(differences)  # seeded: the same answer twice
    # Paired: only the objects both versions were scored on count.
    comparison = compare_paired({"a": 60.0, "b": 70.0, "c": 10.0}, {"a": 50.0, "b": 50.0})
    assert comparison.objects == 2 and comparison.gain == 15.0 and comparison.significant


def test_the_decision_promotes_only_above_the_noise() -> None:
    incumbent = scores(objects([50, 60, 40, 55, 45, 65, 35, 50]))
    clear = scores(objects([58, 67, 49, 62, 53, 73, 42, 59]))  # +7 to +9 on every object
    decision = promotion_comparison(candidate=clear, incumbent=incumbent, incumbent_name="active", incumbent_id=1)
    assert decision["promote"] and decision["gain"] > decision["noise"] > 0 and decision["objects"] == 8
    assert decision["protocols"] == ["1-click", "box", "mask"] and "promoted automatically" in decision["reason"]
    # The same mean gain (+2.5), carried by objects that go both ways: within the noise.
    mixed = scores(objects([80, 30, 70, 35, 75, 45, 65, 20]))
    decision = promotion_comparison(candidate=mixed, incumbent=incumbent, incumbent_name="active", incumbent_id=1)
    assert decision["gain"] == pytest.approx(2.5) and not decision["promote"] and decision["noise"] > 2.5
    assert "left unpromoted" in decision["reason"]
    worse = scores(objects([40, 50, 30, 45, 35, 55, 25, 40]))
    assert not promotion_comparison(candidate=worse, incumbent=incumbent, incumbent_name="a", incumbent_id=1)["promote"]
    # Too few objects to tell, however large the gain; no scores at all: never promoted by itself.
    few = promotion_comparison(candidate=scores(objects([90, 90])), incumbent=scores(objects([10, 10])),
                               incumbent_name="active", incumbent_id=1)
    assert not few["promote"] and "too few" in few["reason"]
    assert not promotion_comparison(candidate=None, incumbent=incumbent, incumbent_name="a", incumbent_id=1)["promote"]


# ---- Through a round -------------------------------------------------------------------------------


@pytest.fixture
def base_version(db) -> ModelVersion:
    return model_version_ensure_default()  # micro, the shipped weights, active


@pytest.fixture
def crafted(monkeypatch):
    """Make the round's evaluation return crafted scores: the trained model's first, then the base's."""
    given: dict[str, dict] = {}

    def fake(model, videos, *, protocols=retraining.EVAL_PROTOCOLS, names=None):
        given.setdefault("calls", 0)
        given["calls"] += 1
        return given["candidate"] if given["calls"] == 1 else given["incumbent"]

    monkeypatch.setattr(retraining, "evaluate_model", fake)
    return given


def run_round(base_version, admin_user, project, reviewer, django_capture_on_commit_callbacks) -> RetrainingRound:
    seed_accepted_video(project, reviewer, split="train", seed=11)
    seed_accepted_video(project, reviewer, split="val", seed=12)
    with django_capture_on_commit_callbacks(execute=False):
        launched = retraining_round_launch(base_version=base_version, data_selection={"phases": [1]},
                                           hyperparameters=FAST, user=admin_user)
    done = retraining_round_run(job=launched.job)
    assert done is not None and done.status == RetrainingRound.Status.SUCCEEDED, done and done.message
    return done


def test_a_round_clearly_better_than_the_active_version_is_promoted(
        base_version, admin_user, project, reviewer, crafted, django_capture_on_commit_callbacks) -> None:
    crafted["incumbent"] = scores(objects([50, 60, 40, 55, 45, 65, 35, 50]))
    crafted["candidate"] = scores(objects([58, 67, 49, 62, 53, 73, 42, 59]))
    done = run_round(base_version, admin_user, project, reviewer, django_capture_on_commit_callbacks)
    version = done.resulting_version
    assert ModelVersion.objects.get(is_active=True) == version
    gate = version.metrics["gate"]
    assert gate["promote"] and gate["against"] == base_version.name and gate["gain"] > gate["noise"]
    assert "promoted automatically" in done.message
    assert Job.objects.get(pk=done.job_id).result["promoted"] is True


def test_a_round_within_the_noise_stays_unpromoted_with_the_comparison_and_an_admin_may_promote_it(
        base_version, admin_user, project, reviewer, crafted, api_client_for,
        django_capture_on_commit_callbacks) -> None:
    crafted["incumbent"] = scores(objects([50, 60, 40, 55, 45, 65, 35, 50]))
    crafted["candidate"] = scores(objects([80, 30, 70, 35, 75, 45, 65, 20]))  # +2.5 on average, all over
    done = run_round(base_version, admin_user, project, reviewer, django_capture_on_commit_callbacks)
    version = done.resulting_version
    assert ModelVersion.objects.get(is_active=True) == base_version and not version.is_active
    admin = api_client_for(admin_user)
    shown = admin.get(f"/api/retraining-rounds/{done.pk}/").json()
    gate = shown["metrics"]["gate"]
    assert not gate["promote"] and gate["gain"] == pytest.approx(2.5) and gate["noise"] > 2.5
    assert gate["against"] == base_version.name and gate["objects"] == 8
    assert "left unpromoted" in shown["message"]
    # The admin decides otherwise: promoting by hand still works.
    response = admin.post(f"/api/model-versions/{version.pk}/promote/")
    assert response.status_code == 200 and response.json()["is_active"] is True


def test_a_worse_round_is_never_promoted(base_version, admin_user, project, reviewer, crafted,
                                         django_capture_on_commit_callbacks) -> None:
    crafted["incumbent"] = scores(objects([50, 60, 40, 55, 45, 65, 35, 50]))
    crafted["candidate"] = scores(objects([44, 53, 34, 49, 38, 59, 29, 44]))  # the flywheel's -6.5
    done = run_round(base_version, admin_user, project, reviewer, django_capture_on_commit_callbacks)
    assert ModelVersion.objects.get(is_active=True) == base_version
    assert done.resulting_version.metrics["gate"]["gain"] < 0


# ---- Evaluating a version (the CLI, in-process; the API on a worker is in tests/workers) -----------


def test_register_model_evaluate_scores_a_version_on_the_held_out_split(base_version, project, reviewer) -> None:
    seed_accepted_video(project, reviewer, split="val", seed=12)
    out = StringIO()
    call_command("register_model", name=base_version.name, evaluate=True, project=str(project.pk), stdout=out)
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    evaluation = line["evaluation"]
    assert set(evaluation["jf"]) == {"mask", "1-click", "box"} and evaluation["videos"] == 1
    assert all(0 <= v <= 100 for v in evaluation["jf"].values()) and evaluation["objects"] >= 1
    base_version.refresh_from_db()
    record = base_version.metrics["evaluations"][f"{project.pk}/val"]
    assert record["scores"]["mask"]["jf"] == evaluation["jf"]["mask"] and record["scores"]["mask"]["per_object"]
    assert Job.objects.get(pk=evaluation["job"]).status == Job.Status.SUCCEEDED
    # Nothing to score on: the test split is empty here; an unknown version; no project.
    with pytest.raises(CommandError, match="no accepted masklets on test videos"):
        call_command("register_model", name=base_version.name, evaluate=True, project=project.name, split="test",
                     stdout=StringIO())
    with pytest.raises(CommandError, match="No model version is named"):
        call_command("register_model", name="nope", evaluate=True, project=str(project.pk), stdout=StringIO())
    with pytest.raises(CommandError, match="--evaluate needs --project"):
        call_command("register_model", name=base_version.name, evaluate=True, stdout=StringIO())


def test_api_evaluate_queues_a_job_that_records_the_scores(base_version, admin_user, project, reviewer,
                                                           api_client_for, django_capture_on_commit_callbacks) -> None:
    from annotation.services.evaluations import model_version_evaluation_run
    from tests.dataplatform.conftest import error_of

    admin = api_client_for(admin_user)
    url = f"/api/model-versions/{base_version.pk}/evaluate/"
    response = admin.post(url, {"project": project.pk}, format="json")
    assert response.status_code == 400 and "no accepted masklets on val videos" in error_of(response)["message"]
    assert admin.post(url, {"project": 999999}, format="json").status_code == 404
    assert admin.post(url, {"project": project.pk, "split": "train"}, format="json").status_code == 400
    assert admin.post(url, {"project": project.pk, "max_videos": 10**6}, format="json").status_code == 400
    seed_accepted_video(project, reviewer, split="test", seed=13)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post(url, {"project": project.pk, "split": "test"}, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["kind"] == "model_evaluation" and job["status"] == "queued"
    assert model_version_evaluation_run(job_id=job["id"]) is not None
    assert model_version_evaluation_run(job_id=job["id"]) is None  # a second delivery does nothing
    listed = {v["id"]: v for v in admin.get("/api/model-versions/").json()["results"]}
    record = listed[base_version.pk]["metrics"]["evaluations"][f"{project.pk}/test"]
    assert record["split"] == "test" and set(record["scores"]) == {"mask", "1-click", "box"}
    body = admin.get(f"/api/jobs/{job['id']}/").json()
    assert body["status"] == "succeeded" and body["message"].startswith("Held-out J&F mask ")


def test_a_round_from_an_official_version_defaults_to_the_papers_fine_tune_learning_rates() -> None:
    from annotation.services.retraining import retraining_hyperparameters

    official = retraining_hyperparameters(hyperparameters={"steps": 10}, config_name="sam2.1_hiera_l")
    assert official["lr"] == 5e-6 and official["image_encoder_lr"] == 3e-6
    assert retraining_hyperparameters(hyperparameters={"lr": 1e-5}, config_name="sam2.1_hiera_l")["lr"] == 1e-5
    micro = retraining_hyperparameters(hyperparameters={}, config_name="micro")
    assert micro["lr"] == 1e-4 and micro["image_encoder_lr"] is None
