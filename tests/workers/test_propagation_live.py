"""Propagation Jobs on real workers: one revision per object saved at the end, in one
transaction; a worker killed mid-propagation (SIGKILL) gets the Job back and saves once;
cancel between frames leaves no revision."""

from __future__ import annotations

import math

import pytest

from annotation.models import AnnotationTask, MaskletRevision
from dataplatform.models import Job
from engine import rle as rle_ops
from tests.conftest import wait_for
from tests.workers import test_sessions_live as live
from tests.workers.test_sessions_live import centre_of, open_on

# The live session fixtures, shared with this module.
api_client_for, user_factory = live.api_client_for, live.user_factory
platform, extra_worker = live.platform, live.extra_worker


def finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.is_terminal else None


def prompt_two_objects(p: dict) -> list[int]:
    client, task, video = p["client"], p["task"], p["video"]
    numbers = []
    for obj, frame in ((1, 0), (2, 1)):
        number = client.post(f"/api/tasks/{task.pk}/objects/").json()["object_number"]
        response = client.post(f"/api/tasks/{task.pk}/prompts/", {
            "frame_index": frame, "object_number": number, "kind": "click",
            "points": [centre_of(video.clip.masks[obj][frame])], "labels": [1]}, format="json")
        assert response.status_code == 200, response.content
        numbers.append(number)
    return numbers


def propagation_revisions(task: AnnotationTask):
    return MaskletRevision.objects.filter(masklet__video_id=task.video_id, source="propagation")


@pytest.mark.parametrize("phase", [2, 3])
def test_propagation_saves_one_revision_per_object_at_the_end(platform, celery_worker, phase: int) -> None:
    p = platform(phase=phase, frames=6)
    client, task = p["client"], p["task"]
    assert client.post(f"/api/tasks/{task.pk}/session/").status_code == 200
    numbers = prompt_two_objects(p)

    response = client.post(f"/api/tasks/{task.pk}/propagate/", {"frame_index": 0, "direction": "forward"},
                           format="json")
    assert response.status_code == 202, response.content
    job = wait_for(lambda: finished(response.json()["id"]), timeout=180, what="the propagation job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert (job.kind, job.progress_done, job.progress_total, job.attempts) == ("propagation", 6, 6, 1)

    revisions = {r.masklet.object_number: r for r in propagation_revisions(task)}
    assert sorted(revisions) == numbers and sorted(job.result["revisions"]) == [str(n) for n in numbers]
    assert revisions[numbers[0]].edited_frames == [0] and revisions[numbers[1]].edited_frames == [1]
    for revision in revisions.values():
        assert sorted(revision.masks, key=int) == [str(i) for i in range(6)]
        assert revision.phase == phase and revision.model_version_id == p["version"].pk
        assert revision.masklet.current_revision_id == revision.pk
        assert any(rle_ops.area(m) for m in revision.masks.values())
        # The engine's scores of each propagated frame are the revision's verifier signals.
        signals = revision.signals.signals
        assert signals["recorded_by"] == "engine" and signals["frames"] == list(range(6))
        assert all(math.isfinite(s) for s in signals["object_score"])
        tracked = [i for i in range(6) if i not in revision.edited_frames]  # not a prompt's (maybe painted) mask
        assert all(0.0 <= signals["predicted_iou"][i] <= 1.0 for i in tracked)
    masks = client.get(f"/api/tasks/{task.pk}/masks/", {"object_number": numbers[0]}).json()[0]
    assert masks["revision"] == revisions[numbers[0]].pk
    assert masks["masks"]["5"] == revisions[numbers[0]].masks["5"]


def test_a_worker_killed_mid_propagation_gets_the_job_back_and_saves_once(platform, extra_worker) -> None:
    p = platform(phase=3, frames=30)
    client, task = p["client"], p["task"]
    worker = extra_worker()
    open_on(task, worker.hostname)
    numbers = prompt_two_objects(p)

    response = client.post(f"/api/tasks/{task.pk}/propagate/", {"frame_index": 0, "direction": "both"},
                           format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    wait_for(lambda: Job.objects.filter(pk=job_id, progress_done__gte=2, status="running").exists(),
             timeout=120, what="the propagation to pass frame 2")
    worker.kill_pool_child()
    assert not propagation_revisions(task).exists()  # nothing partial is visible

    job = wait_for(lambda: finished(job_id), timeout=240, what="the propagation job after the kill")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.attempts == 2  # the same message came back (acks_late + reject_on_worker_lost)
    revisions = list(propagation_revisions(task))
    assert sorted(r.masklet.object_number for r in revisions) == numbers  # saved once
    assert all(len(r.masks) == 30 for r in revisions)


def test_a_dead_session_worker_s_job_is_reaped_and_finished_elsewhere(platform, extra_worker, celery_worker) -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from dataplatform.services.jobs import jobs_reap_stale

    p = platform(phase=3, frames=30)
    client, task = p["client"], p["task"]
    doomed = extra_worker()
    open_on(task, doomed.hostname)
    numbers = prompt_two_objects(p)
    job_id = client.post(f"/api/tasks/{task.pk}/propagate/", {"frame_index": 0}, format="json").json()["id"]
    wait_for(lambda: Job.objects.filter(pk=job_id, progress_done__gte=2, status="running").exists(),
             timeout=120, what="the propagation to pass frame 2")
    doomed.kill()  # the whole worker: its message stays unacknowledged in its own queue

    later = timezone.now() + timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    assert jobs_reap_stale(now=later)["requeued"] == [job_id]  # re-dispatched: to the gpu queue now
    job = wait_for(lambda: finished(job_id), timeout=240, what="the re-queued propagation")
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2, job.message
    assert sorted(r.masklet.object_number for r in propagation_revisions(task)) == numbers


def test_a_cancelled_propagation_saves_nothing_and_the_session_goes_on(platform, celery_worker) -> None:
    p = platform(phase=3, frames=30)
    client, task, admin_like = p["client"], p["task"], p["client"]
    assert client.post(f"/api/tasks/{task.pk}/session/").status_code == 200
    numbers = prompt_two_objects(p)
    job_id = client.post(f"/api/tasks/{task.pk}/propagate/", {"frame_index": 0}, format="json").json()["id"]
    wait_for(lambda: Job.objects.filter(pk=job_id, progress_done__gte=1).exists(), timeout=120,
             what="the propagation to start")
    assert admin_like.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    job = wait_for(lambda: finished(job_id), timeout=120, what="the cancelled job to stop")
    assert job.status == Job.Status.CANCELLED and not propagation_revisions(task).exists()

    again = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": 3, "object_number": numbers[0], "kind": "click", "points": [[10, 10]], "labels": [1]},
        format="json")
    assert again.status_code == 200, again.content


def test_phase_2_a_brush_correction_then_repropagation_makes_a_new_revision(platform, celery_worker) -> None:
    import numpy as np

    p = platform(phase=2, frames=6)
    client, task = p["client"], p["task"]
    assert client.post(f"/api/tasks/{task.pk}/session/").status_code == 200
    number = prompt_two_objects(p)[0]
    url = f"/api/tasks/{task.pk}"
    first = client.post(f"{url}/propagate/", {"frame_index": 0}, format="json").json()["id"]
    assert wait_for(lambda: finished(first), timeout=180, what="the first propagation").status == "succeeded"

    brush = np.zeros((48, 64), dtype=bool)
    brush[10:30, 5:25] = True  # the annotator paints the object on frame 3
    answer = client.post(f"{url}/prompts/", {"frame_index": 3, "object_number": number, "kind": "mask",
                                             "mask": rle_ops.encode(brush)}, format="json")
    assert answer.status_code == 200, answer.content
    assert np.array_equal(rle_ops.decode(answer.json()["mask"]), brush)  # a mask prompt is the mask
    second = client.post(f"{url}/propagate/", {"frame_index": 3, "direction": "both"}, format="json").json()["id"]
    assert wait_for(lambda: finished(second), timeout=180, what="the re-propagation").status == "succeeded"

    revisions = list(propagation_revisions(task).filter(masklet__object_number=number).order_by("number"))
    assert [r.number for r in revisions] == [1, 2] and revisions[1].parent_id == revisions[0].pk
    assert revisions[1].edited_frames == [0, 3]
    assert np.array_equal(rle_ops.decode(revisions[1].masks["3"]), brush)  # the correction is kept


def test_a_click_saved_after_a_propagation_keeps_the_propagated_frames_scores(platform, celery_worker) -> None:
    p = platform(phase=3, frames=6)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = prompt_two_objects(p)[0]
    job = client.post(f"{url}/propagate/", {"frame_index": 0}, format="json").json()["id"]
    assert wait_for(lambda: finished(job), timeout=180, what="the propagation").status == "succeeded"
    propagated = propagation_revisions(task).get(masklet__object_number=number).signals.signals

    response = client.post(f"{url}/prompts/", {"frame_index": 4, "object_number": number, "kind": "click",
                                               "points": [centre_of(video.clip.masks[1][4])], "labels": [1]},
                           format="json")
    assert response.status_code == 200, response.content
    saved = {e["object_number"]: e["revision"] for e in client.post(f"{url}/save/").json()}
    signals = MaskletRevision.objects.get(pk=saved[number]).signals.signals
    assert signals["recorded_by"] == "engine" and signals["frames"] == list(range(6))
    for name in ("predicted_iou", "object_score"):  # the frames the click did not touch keep their scores
        assert [signals[name][i] for i in (1, 2, 3, 5)] == [propagated[name][i] for i in (1, 2, 3, 5)]
    assert 0.0 <= signals["predicted_iou"][4] <= 1.0 and math.isfinite(signals["object_score"][4])
