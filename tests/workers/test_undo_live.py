"""Undo on live workers: the session goes back to the worker's snapshot of the state before the
undone interaction, a propagation included, without recomputing it; the masks are those a replay
gives; without a snapshot the undo replays and the annotator can follow its progress."""

from __future__ import annotations

import pytest
from celery.utils.nodenames import worker_direct

from annotation.models import Interaction, Masklet
from annotation.services.sessions import session_progress_key
from dataplatform.celery import app
from dataplatform.models import Job
from dataplatform.replies import progress_clear, progress_send
from engine import rle as rle_ops
from tests.conftest import wait_for
from tests.workers import test_sessions_live as live
from tests.workers.test_sessions_live import centre_of, open_on

api_client_for, user_factory, platform, extra_worker = (live.api_client_for, live.user_factory, live.platform,
                                                        live.extra_worker)


def finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.is_terminal else None


def masks_of(client, url: str, number: int) -> dict[str, dict]:
    response = client.get(f"{url}/masks/", {"object_number": number})
    assert response.status_code == 200, response.content
    return response.json()[0]["masks"]


def test_undo_after_a_propagation_goes_back_to_before_it_without_a_replay(platform, extra_worker) -> None:
    p = platform(phase=3, frames=6)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    worker = extra_worker()
    open_on(task, worker.hostname)
    task.refresh_from_db()
    number = client.post(f"{url}/objects/").json()["object_number"]
    click = client.post(f"{url}/prompts/", {"frame_index": 0, "object_number": number, "kind": "click",
                                            "points": [centre_of(video.clip.masks[1][0])], "labels": [1]},
                        format="json").json()
    before = masks_of(client, url, number)
    job = client.post(f"{url}/propagate/", {"frame_index": 0}, format="json").json()
    done = wait_for(lambda: finished(job["id"]), timeout=180, what="the propagation")
    assert done.status == Job.Status.SUCCEEDED, done.message
    propagated = masks_of(client, url, number)
    assert propagated != before and rle_ops.area(propagated["3"]) > 0  # tracked onto the other frames

    undone = client.post(f"{url}/undo/", {}, format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_kind"] == "propagate" and undone.json()["undone"] == done.params["interaction"]
    assert undone.json()["mask"] == click["mask"]  # the click's answer on its frame, as before propagating
    row = Interaction.objects.get(pk=undone.json()["interaction"])
    assert not row.payload["replayed"]  # the snapshot, not a recompute of the session
    assert masks_of(client, url, number) == before  # every frame as before the propagation
    masklet = Masklet.objects.get(task=task, object_number=number)
    assert masklet.current_revision_id is None  # back to no revision: the click's answer shows

    # The restored session is the replayed one: the same answer from a worker that rebuilds it.
    worker.kill_pool_child()
    again = app.send_task("session.prompt", args=[task.pk, row.pk, 0, number],
                          queue=worker_direct(worker.hostname)).get(timeout=120)
    assert again["replayed"] and again["mask"] == click["mask"]

    second = client.post(f"{url}/undo/", {}, format="json")  # then the click itself
    assert second.status_code == 200, second.content
    assert second.json()["undone_kind"] == "click+" and rle_ops.area(second.json()["mask"]) == 0
    assert client.post(f"{url}/undo/", {}, format="json").status_code == 409  # nothing left


def test_an_undo_without_a_snapshot_replays_and_reports_progress(platform, extra_worker, monkeypatch) -> None:
    monkeypatch.setenv("ENGINE_UNDO_MEMORY_MB", "0")  # this worker keeps no snapshot
    p = platform(phase=3, frames=4)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    open_on(task, extra_worker().hostname)
    number = client.post(f"{url}/objects/").json()["object_number"]
    first = client.post(f"{url}/prompts/", {"frame_index": 1, "object_number": number, "kind": "click",
                                            "points": [centre_of(video.clip.masks[1][1])], "labels": [1]},
                        format="json").json()
    assert client.post(f"{url}/prompts/", {"frame_index": 1, "object_number": number, "kind": "click",
                                           "points": [[2, 2]], "labels": [0]}, format="json").status_code == 200
    undone = client.post(f"{url}/undo/", {}, format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["mask"] == first["mask"]
    assert Interaction.objects.get(pk=undone.json()["interaction"]).payload["replayed"]
    assert client.get(f"{url}/session/progress/").json() == {"done": None, "total": None}  # over: cleared


@pytest.mark.django_db
def test_the_progress_of_a_recompute_is_readable_by_the_task_holder(platform) -> None:
    p = platform(phase=3, frames=2)
    client, task = p["client"], p["task"]
    key = session_progress_key(task.pk)
    progress_send(key, done=3, total=7)  # what the worker publishes before each replayed event
    try:
        assert client.get(f"/api/tasks/{task.pk}/session/progress/").json() == {"done": 3, "total": 7}
    finally:
        progress_clear(key)
    assert client.get(f"/api/tasks/{task.pk}/session/progress/").json() == {"done": None, "total": None}
