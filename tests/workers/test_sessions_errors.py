"""Bad prompts are refused before anything reaches a worker: 4xx with a message a person can act
on, and no Interaction is recorded. (No broker needed: every case fails its checks first.)"""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotation.models import Interaction, Masklet
from annotation.services.sessions import session_object_create
from annotation.services.tasks import task_create, task_next_for
from dataplatform.models import Project, Video
from engine import rle as rle_ops
from tests.dataplatform.conftest import api_client_for, error_of, user_factory  # noqa: F401 - fixtures

H, W = 48, 64


@pytest.fixture
def leased(db, user_factory, api_client_for):  # noqa: F811
    def make(phase: int = 3) -> dict:
        project = Project.objects.create(name=f"Errors {phase}-{timezone.now().timestamp()}", phase=phase)
        video = Video.objects.create(
            project=project, name="v.mp4", source_uri="videos/v.mp4", status=Video.Status.READY, frame_count=4,
            width=W, height=H, source_fps=24.0, annotation_fps=6.0, ready_at=timezone.now())
        annotator = user_factory("annotator")
        task_create(video=video)
        task = task_next_for(user=annotator)
        number = session_object_create(task=task, user=annotator).object_number
        return {"task": task, "client": api_client_for(annotator), "number": number}

    return make


def click(number: int, **changes) -> dict:
    return {"frame_index": 1, "object_number": number, "kind": "click", "points": [[10, 10]], "labels": [1],
            **changes}


@pytest.mark.parametrize(("changes", "message"), [
    ({"points": [[70, 10]]}, "outside the frame"),
    ({"points": [[10, -1]]}, "outside the frame"),
    ({"frame_index": 4}, "Frame 4 is outside the video"),
    ({"object_number": 9}, "Object 9 is not an object of this task"),
    ({"labels": [2]}, "A label is 1 (positive) or 0 (negative)"),
    ({"labels": []}, "one label per point"),
    ({"points": [[10, "x"]]}, "must be a finite number"),
    ({"kind": "box", "box": [30, 10, 20, 40]}, "x0 < x1"),
    ({"kind": "box", "box": [0, 0, 65, 40]}, "outside the frame"),
    ({"kind": "mask", "mask": {"size": [H, W], "counts": "not-rle!"}}, "not a valid COCO RLE"),
    ({"kind": "mask", "mask": {"size": [H, W], "counts": [5, 5]}}, "not a valid COCO RLE"),
    ({"kind": "mask", "mask": rle_ops.empty(10, 10)}, "the frames are 64×48"),
    ({"kind": "lasso"}, "kind"),
])
def test_a_bad_prompt_is_refused_with_a_message(leased, changes: dict, message: str) -> None:
    p = leased()
    response = p["client"].post(f"/api/tasks/{p['task'].pk}/prompts/", click(p["number"], **changes), format="json")
    assert response.status_code == 400, response.content
    assert message in error_of(response)["message"]
    assert not Interaction.objects.exists()


def test_a_tool_outside_the_phase_is_refused_naming_the_phase(leased) -> None:
    p = leased(phase=1)
    url = f"/api/tasks/{p['task'].pk}"
    response = p["client"].post(f"{url}/propagate/", {"frame_index": 0}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert "Phase 1" in error["message"] and "'propagate'" in error["message"]
    assert "click, box, mask" in error["message"]
    assert error["code"] == "wrong_phase" and error["extra"]["allowed"] == ["click", "box", "mask"]
    assert not Interaction.objects.exists()


def test_a_task_not_leased_to_you_is_refused(leased, user_factory, api_client_for) -> None:  # noqa: F811
    p = leased()
    stranger = api_client_for(user_factory("annotator"))
    url = f"/api/tasks/{p['task'].pk}"
    for response in (stranger.post(f"{url}/prompts/", click(p["number"]), format="json"),
                     stranger.post(f"{url}/session/"), stranger.post(f"{url}/objects/"),
                     stranger.post(f"{url}/undo/", {}, format="json"),
                     stranger.post(f"{url}/propagate/", {"frame_index": 0}, format="json"),
                     stranger.delete(f"{url}/objects/{p['number']}/"), stranger.get(f"{url}/masks/")):
        assert response.status_code == 403, response.content
        assert "not leased to you" in error_of(response)["message"] or "not yours" in error_of(response)["message"]


def test_objects_undo_and_masks_without_a_worker(leased) -> None:
    p = leased()
    client, url = p["client"], f"/api/tasks/{p['task'].pk}"
    response = client.post(f"{url}/undo/", {}, format="json")
    assert response.status_code == 409 and "Nothing to undo" in error_of(response)["message"]
    response = client.post(f"{url}/propagate/", {"frame_index": 0}, format="json")
    assert response.status_code == 400 and "prompt an object" in error_of(response)["message"]
    second = client.post(f"{url}/objects/").json()["object_number"]
    masks = client.get(f"{url}/masks/", {"start": 2, "end": 3}).json()
    assert [m["object_number"] for m in masks] == [p["number"], second]
    assert masks[0]["masks"] == {"2": rle_ops.empty(H, W), "3": rle_ops.empty(H, W)}
    assert client.delete(f"{url}/objects/{second}/").status_code == 204
    assert client.delete(f"{url}/objects/{second}/").status_code == 400
    assert client.delete(f"{url}/objects/abc/").status_code == 404
    assert client.get(f"{url}/masks/", {"start": 3, "end": 1}).status_code == 400


# ---- Limits: refused with a message naming them, before anything is stored -----------------------


def test_a_click_past_the_points_limit_is_refused_and_nothing_is_stored(leased) -> None:
    p = leased()
    points = [[10 + i % 40, 10 + i // 40] for i in range(65)]
    for prompt in (click(p["number"], points=points, labels=[1] * 65),
                   click(p["number"], kind="box", box=[0, 0, 60, 40], points=points, labels=[0] * 65)):
        response = p["client"].post(f"/api/tasks/{p['task'].pk}/prompts/", prompt, format="json")
        assert response.status_code == 400, response.content
        error = error_of(response)
        assert "at most 64 points (PROMPT_MAX_POINTS); this one has 65" in error["message"]
        assert error["code"] == "limit_exceeded" and error["extra"] == {"field": "points", "limit": 64}
    assert not Interaction.objects.exists()


def test_a_click_at_the_points_limit_is_recorded_for_the_worker(leased, settings) -> None:
    """64 points pass every check: the prompt is stored, then waits for a worker (none runs here)."""
    settings.ENGINE_SESSION_OPEN_TIMEOUT = 0.3
    p = leased()
    points = [[10 + i % 40, 10 + i // 40] for i in range(64)]
    response = p["client"].post(f"/api/tasks/{p['task'].pk}/prompts/",
                                click(p["number"], points=points, labels=[1] * 64), format="json")
    assert response.status_code == 503 and error_of(response)["code"] == "engine_unavailable"
    assert Interaction.objects.get().payload["points"] == [[float(x), float(y)] for x, y in points]


@pytest.mark.parametrize("counts", ["0" * (1024 * 1024 + 1), [1] * (1024 * 1024 + 1)], ids=["compressed", "runs"])
def test_a_mask_prompt_past_the_size_limit_is_refused(leased, counts) -> None:
    p = leased()
    response = p["client"].post(f"/api/tasks/{p['task'].pk}/prompts/",
                                click(p["number"], kind="mask", mask={"size": [H, W], "counts": counts}),
                                format="json")
    assert response.status_code == 400, response.content[:300]
    error = error_of(response)
    assert "larger than the limit for a mask prompt (1048576 bytes of RLE counts" in error["message"]
    assert error["extra"] == {"field": "mask", "limit": 1024 * 1024}
    assert not Interaction.objects.exists()


def test_a_task_past_the_objects_limit_refuses_another(leased) -> None:
    p = leased()  # holds one object
    client, url = p["client"], f"/api/tasks/{p['task'].pk}/objects/"
    for _ in range(63):
        assert client.post(url).status_code == 201
    response = client.post(url)
    assert response.status_code == 400
    error = error_of(response)
    assert "at most 64 objects (TASK_MAX_OBJECTS)" in error["message"] and error["extra"]["limit"] == 64
    assert Masklet.objects.filter(task=p["task"]).count() == 64
    # A removed object makes room again.
    assert client.delete(f"{url}{p['number']}/").status_code == 204
    assert client.post(url).status_code == 201
