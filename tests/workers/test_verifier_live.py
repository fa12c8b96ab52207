"""Training the masklet verifier through the REST API on a real Celery worker: the admin starts the
Job, follows it to its end, and sees the new version with its held-out metrics and thresholds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotation.models import Review
from annotation.services.masklets import masklet_create, masklet_revision_create
from dataplatform.models import Project, Video
from tests.annotation.conftest import box_mask
from tests.conftest import wait_for
from tests.dataplatform.conftest import api_client_for, error_of, user_factory  # noqa: F401 - fixtures

GOOD = {0: box_mask(10, 10, 30, 30), 1: box_mask(11, 10, 31, 30), 2: box_mask(12, 10, 32, 30)}
BAD = {0: box_mask(0, 0, 20, 20), 1: box_mask(40, 25, 60, 45), 2: box_mask(5, 30, 10, 35)}


@pytest.mark.usefixtures("live_platform")
def test_an_admin_trains_the_verifier_on_a_worker(user_factory, api_client_for) -> None:  # noqa: F811
    admin, reviewer, annotator = user_factory("admin"), user_factory("reviewer"), user_factory("annotator")
    project = Project.objects.create(name="Verifier live", phase=3)
    video = Video.objects.create(project=project, name="v.mp4", source_uri="videos/v.mp4", status=Video.Status.READY,
                                 frame_count=3, width=64, height=48, source_fps=24.0, ready_at=timezone.now())
    client = api_client_for(admin)
    too_early = client.post("/api/verifier/train/")
    assert too_early.status_code == 400 and "at least 20 human review decisions" in error_of(too_early)["message"]
    for k in range(30):
        good = k % 2 == 0
        masklet = masklet_create(video=video)
        revision = masklet_revision_create(masklet=masklet, masks=GOOD if good else BAD, author=annotator, phase=3)
        Review.objects.create(revision=revision, reviewer=reviewer, decision="accept" if good else "reject",
                              reason="" if good else "drifts")

    response = client.post("/api/verifier/train/")
    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    job = wait_for(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/jobs/{job_id}/").json()), timeout=300, what="the verifier's training")
    assert job["status"] == "succeeded", job["message"]
    state = client.get("/api/verifier/").json()
    assert state["active"]["number"] == 1 and state["active"]["decisions"] == 30
    assert state["active"]["metrics"]["auc"] > 0.9
    assert state["policy"]["enabled"] is False and state["blocked_reason"] == "Automatic decisions are off."
