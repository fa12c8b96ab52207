"""Automatic masklets of a video: a GPU Job on a real worker; candidates from the first frame,
propagated together, saved as submitted auto masklets with per-frame stability scores."""

from __future__ import annotations

from annotation.models import Masklet
from dataplatform.models import Job
from tests.conftest import wait_for
from tests.workers import test_sessions_live as live

# The live session fixtures, shared with this module.
api_client_for, user_factory, platform = live.api_client_for, live.user_factory, live.platform


def test_auto_masklets_are_made_and_queued_for_verification(platform, celery_worker, user_factory,
                                                            api_client_for) -> None:
    p = platform(frames=5)
    admin = api_client_for(user_factory("admin"))
    video = p["video"]
    response = admin.post(f"/api/videos/{video.pk}/auto-masklets/", {
        "points_per_side": 4, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "max_masklets": 3},
        format="json")
    assert response.status_code == 202, response.content
    assert admin.post(f"/api/videos/{video.pk}/auto-masklets/", {}, format="json").status_code == 409

    job = wait_for(lambda: Job.objects.filter(pk=response.json()["id"], status__in=["succeeded", "failed"]).first(),
                   timeout=180, what="the auto masklets job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    masklets = list(Masklet.objects.filter(video=video).select_related("current_revision"))
    assert 1 <= len(masklets) <= 3 and sorted(m.pk for m in masklets) == sorted(job.result["masklets"])
    for masklet in masklets:
        assert (masklet.kind, masklet.status) == ("auto", "submitted")
        revision = masklet.current_revision
        assert revision.source == "auto" and revision.author is None and len(revision.masks) == 5
        assert len(revision.stability_scores) == 5 and all(0 <= s <= 1 for s in revision.stability_scores)
    reviewer = api_client_for(user_factory("reviewer"))
    queued = reviewer.post("/api/reviews/next/", {"kind": "auto", "video": video.pk}, format="json")
    assert queued.status_code == 200, queued.content  # in the verification queue
    assert queued.json()["id"] in job.result["masklets"]


def test_auto_masklets_refuse_bad_parameters_and_non_admins(platform, user_factory, api_client_for) -> None:
    p = platform(frames=2)
    admin = api_client_for(user_factory("admin"))
    url = f"/api/videos/{p['video'].pk}/auto-masklets/"
    bad = admin.post(url, {"points_per_side": 0}, format="json")
    assert bad.status_code == 400 and "points_per_side" in bad.json()["error"]["message"]
    assert p["client"].post(url, {}, format="json").status_code == 403
    assert not Job.objects.filter(kind="auto_masklets").exists()
