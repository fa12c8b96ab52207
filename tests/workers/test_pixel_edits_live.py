"""Pixel-precise edits on live workers: a brush or eraser edit (a mask prompt) is its frame's mask
exactly as painted, in the prompt's answer, in the masks the API serves, after propagation (which
never tracks over a frame edited by hand) and after the session is replayed on a worker.

The video is 120 × 160, larger than the ``micro`` model's 64 × 64 low-res grid: a mask that went
through the model's resolution would come back with its edges moved.
"""

from __future__ import annotations

import numpy as np
import pytest
from celery.utils.nodenames import worker_direct

from annotation.models import Interaction, MaskletRevision
from dataplatform.celery import app
from dataplatform.models import Job
from engine import rle as rle_ops
from tests.conftest import wait_for
from tests.workers import test_sessions_live as live
from tests.workers.test_sessions_live import centre_of

# The live session fixtures, shared with this module.
api_client_for, user_factory, platform = live.api_client_for, live.user_factory, live.platform

H, W = 120, 160


def finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.is_terminal else None


@pytest.mark.parametrize("phase", [2, 3])
def test_a_painted_square_reads_back_exactly_after_propagation_and_replay(platform, celery_worker,
                                                                         phase: int) -> None:
    p = platform(phase=phase, frames=5, height=H, width=W)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = client.post(f"{url}/objects/").json()["object_number"]
    clicked = client.post(f"{url}/prompts/", {"frame_index": 2, "object_number": number, "kind": "click",
                                              "points": [centre_of(video.clip.masks[1][2])], "labels": [1]},
                          format="json")
    assert clicked.status_code == 200, clicked.content

    painted = rle_ops.decode(clicked.json()["mask"]).copy()
    painted[37:77, 101:141] = True  # the brush: a 40×40 square painted onto the mask
    painted[5:8, :] = False  # the eraser: a thin band
    edit = client.post(f"{url}/prompts/", {"frame_index": 2, "object_number": number, "kind": "mask",
                                           "mask": rle_ops.encode(painted)}, format="json")
    assert edit.status_code == 200, edit.content
    assert np.array_equal(rle_ops.decode(edit.json()["mask"]), painted)  # every pixel as painted
    served = client.get(f"{url}/masks/", {"object_number": number, "start": 2, "end": 2}).json()[0]["masks"]["2"]
    assert np.array_equal(rle_ops.decode(served), painted)

    job = client.post(f"{url}/propagate/", {"frame_index": 2, "direction": "both"}, format="json")
    assert job.status_code == 202, job.content
    done = wait_for(lambda: finished(job.json()["id"]), timeout=180, what="the propagation")
    assert done.status == Job.Status.SUCCEEDED, done.message
    revision = MaskletRevision.objects.get(pk=done.result["revisions"][str(number)])
    assert revision.edited_frames == [2] and np.array_equal(rle_ops.decode(revision.masks["2"]), painted)
    assert any(rle_ops.area(revision.masks[str(f)]) for f in (0, 1, 3, 4))  # the edit was tracked on
    served = client.get(f"{url}/masks/", {"object_number": number, "start": 2, "end": 2}).json()[0]["masks"]["2"]
    assert np.array_equal(rle_ops.decode(served), painted)

    # Undoing a later click goes back to the worker's snapshot from before it (propagation
    # included, not recomputed); then back to the state after the edit only, from its snapshot too.
    later = client.post(f"{url}/prompts/", {"frame_index": 4, "object_number": number, "kind": "click",
                                            "points": [[20, 20]], "labels": [0]}, format="json")
    assert later.status_code == 200, later.content
    undone = client.post(f"{url}/undo/", {}, format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_kind"] == "click-"
    assert not Interaction.objects.get(pk=undone.json()["interaction"]).payload["replayed"]
    task.refresh_from_db()
    for interaction in (done.params["interaction"], edit.json()["interaction"]):
        again = app.send_task("session.prompt", args=[task.pk, interaction, 2, number],
                              queue=worker_direct(task.session_worker)).get(timeout=120)
        assert not again["replayed"] and np.array_equal(rle_ops.decode(again["mask"]), painted)


def test_a_propagation_names_the_frames_where_an_object_vanished(platform, celery_worker) -> None:
    p = platform(phase=3, frames=4, height=H, width=W)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = client.post(f"{url}/objects/").json()["object_number"]
    assert client.post(f"{url}/prompts/", {"frame_index": 0, "object_number": number, "kind": "click",
                                           "points": [centre_of(video.clip.masks[1][0])], "labels": [1]},
                       format="json").status_code == 200
    erased = client.post(f"{url}/prompts/", {"frame_index": 2, "object_number": number, "kind": "mask",
                                             "mask": rle_ops.empty(H, W)}, format="json")  # erased on frame 2
    assert erased.status_code == 200, erased.content
    job = client.post(f"{url}/propagate/", {"frame_index": 0}, format="json").json()
    done = wait_for(lambda: finished(job["id"]), timeout=180, what="the propagation")
    assert done.status == Job.Status.SUCCEEDED, done.message
    revision = MaskletRevision.objects.get(pk=done.result["revisions"][str(number)])
    empty = [f for f in range(4) if rle_ops.area(revision.masks[str(f)]) == 0]
    assert 2 in empty and done.result["empty_frames"] == {str(number): empty}
    served = client.get(f"/api/jobs/{job['id']}/").json()["result"]
    assert served["empty_frames"] == {str(number): empty}  # what the workspace reads to say so
