"""A task's objects are its own: two annotators on one video never see each other's drafts, a
refinement task works on its masklet; removing an object is recorded (``remove``) and changes
neither replay nor the metrics. (No worker needed.)"""

from __future__ import annotations

from django.utils import timezone

from annotation.models import AnnotationTask, Interaction, Masklet
from annotation.selectors.metrics import engine_metrics
from annotation.services.masklets import masklet_create, masklet_revision_create
from annotation.services.sessions import session_events, task_objects
from annotation.services.tasks import task_create, task_next_for, task_submit
from dataplatform.models import Project, Video
from tests.dataplatform.conftest import api_client_for, error_of, user_factory  # noqa: F401 - fixtures
from tests.workers.test_sessions_errors import click

H, W = 48, 64


def ready_video() -> Video:
    project = Project.objects.create(name=f"Objects {timezone.now().timestamp()}", phase=3)
    return Video.objects.create(project=project, name="v.mp4", source_uri="videos/v.mp4",
                                status=Video.Status.READY, frame_count=4, width=W, height=H, source_fps=24.0,
                                annotation_fps=6.0, ready_at=timezone.now())


def numbers(client, task: AnnotationTask) -> list[int]:
    response = client.get(f"/api/tasks/{task.pk}/masks/", {"start": 0, "end": 0})
    assert response.status_code == 200, response.content
    return [m["object_number"] for m in response.json()]


def test_two_annotators_on_one_video_see_only_their_own_objects(
        user_factory, api_client_for) -> None:  # noqa: F811 - fixtures
    video = ready_video()
    alice, bob = user_factory("annotator"), user_factory("annotator")
    task_create(video=video)
    task_create(video=video)
    a_task, b_task = task_next_for(user=alice), task_next_for(user=bob)
    a, b = api_client_for(alice), api_client_for(bob)
    a_first = a.post(f"/api/tasks/{a_task.pk}/objects/").json()["object_number"]
    b_first = b.post(f"/api/tasks/{b_task.pk}/objects/").json()["object_number"]
    a_second = a.post(f"/api/tasks/{a_task.pk}/objects/").json()["object_number"]
    assert (a_first, b_first, a_second) == (0, 1, 2)  # numbered per video, owned per task
    assert numbers(a, a_task) == [0, 2] and numbers(b, b_task) == [1]
    assert set(Masklet.objects.filter(task=a_task).values_list("object_number", flat=True)) == {0, 2}

    # Bob can neither prompt nor remove Alice's drafts: they are not objects of his task.
    response = b.post(f"/api/tasks/{b_task.pk}/prompts/", click(a_first), format="json")
    assert response.status_code == 400
    assert "Object 0 is not an object of this task" in error_of(response)["message"]
    assert b.delete(f"/api/tasks/{b_task.pk}/objects/{a_first}/").status_code == 400
    assert not Interaction.objects.exists()
    assert numbers(a, a_task) == [0, 2]

    # Each submit takes its own task's objects that have masks.
    for user, number in ((alice, a_first), (bob, b_first)):
        masklet_revision_create(masklet=Masklet.objects.get(video=video, object_number=number), masks={},
                                author=user, phase=3, edited_frames=[0])
    task_submit(task=b_task, user=bob)
    statuses = dict(Masklet.objects.values_list("object_number", "status"))
    assert statuses == {0: "draft", 1: "submitted", 2: "draft"}
    task_submit(task=a_task, user=alice)  # object 2 has no masks: left out
    assert dict(Masklet.objects.values_list("object_number", "status")) == {0: "submitted", 1: "submitted",
                                                                            2: "draft"}


def test_a_refinement_task_works_on_its_masklet(user_factory, api_client_for) -> None:  # noqa: F811
    video = ready_video()
    candidate = masklet_create(video=video, kind=Masklet.Kind.AUTO)
    masklet_revision_create(masklet=candidate, masks={}, phase=None, source="auto")
    annotator = user_factory("annotator")
    task_create(video=video, kind=AnnotationTask.Kind.REFINE, masklet=candidate, phase=3)
    task = task_next_for(user=annotator)
    client = api_client_for(annotator)
    assert candidate.task_id is None  # automatic masklets belong to no task
    assert task_objects(task=task) == [candidate] and numbers(client, task) == [candidate.object_number]
    response = client.post(f"/api/tasks/{task.pk}/objects/")
    assert response.status_code == 400 and "cannot add objects" in error_of(response)["message"]


def test_a_removal_is_recorded_and_neither_replayed_nor_counted(
        user_factory, api_client_for) -> None:  # noqa: F811 - fixtures
    video = ready_video()
    annotator = user_factory("annotator")
    task_create(video=video)
    task = task_next_for(user=annotator)
    client = api_client_for(annotator)
    kept = client.post(f"/api/tasks/{task.pk}/objects/").json()
    gone = client.post(f"/api/tasks/{task.pk}/objects/").json()
    prompt = Interaction.objects.create(task=task, user=annotator, kind="click+", frame_index=1,
                                        object_number=kept["object_number"], phase=3,
                                        payload={"points": [[10, 10]], "labels": [1]})

    assert client.delete(f"/api/tasks/{task.pk}/objects/{gone['object_number']}/").status_code == 204

    removal = Interaction.objects.get(kind=Interaction.Kind.REMOVE)
    assert removal.task_id == task.pk and removal.user_id == annotator.pk
    assert removal.object_number == gone["object_number"]
    assert removal.payload == {"masklet": gone["masklet_id"]} and removal.frame_index is None
    assert removal.get_kind_display() == "Object removed"
    assert not Masklet.objects.filter(pk=gone["masklet_id"]).exists()
    assert [e.interaction_id for e in session_events(task=task)] == [prompt.pk]

    kept_masklet = Masklet.objects.get(pk=kept["masklet_id"])
    masklet_revision_create(masklet=kept_masklet, masks={}, author=annotator, phase=3, edited_frames=[1])
    task_submit(task=task, user=annotator)
    row = engine_metrics(group_by="phase")[0]
    assert row.clicks_per_clicked_frame == 1.0  # one click on one frame; the removal is no click
    assert row.tasks == 1 and row.masklets == 1
