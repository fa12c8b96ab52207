"""Ownership over HTTP (token clients, real PostgreSQL): a task saves and submits only its own draft
objects, by the holder of its lease; a masklet's masks are read by its authors, its task's
annotator, reviewers and admins; nobody decides on their own work; a decision needs the review
lease (an admin's override is recorded). Also the propagation result, which lands from a worker:
only while its author still holds the task."""

from __future__ import annotations

import pytest

from annotation.models import AnnotationTask, Interaction, Masklet, Review
from annotation.services.propagation import propagation_save, propagation_start
from annotation.services.sessions import session_object_create
from annotation.services.tasks import task_next_for, task_release, task_submit, tasks_create_for_video
from dataplatform.models import Job
from tests.annotation.conftest import box_mask, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_annotators(ready_video, user_factory, masklet_factory):
    """Annotators A and B, each leasing a task on the same video; A's task has an object with masks."""
    task_a, task_b = tasks_create_for_video(video=ready_video, count=2)
    a, b = user_factory("annotator"), user_factory("annotator")
    assert task_next_for(user=a).pk == task_a.pk and task_next_for(user=b).pk == task_b.pk
    object_a = masklet_factory(ready_video, author=a, masklet=session_object_create(task=task_a, user=a),
                               masks={"0": box_mask(0, 0, 8, 8)}, edited_frames=[0])
    return a, b, task_a, task_b, object_a


def test_an_annotator_cannot_submit_another_annotators_work(api_client_for, two_annotators):
    a, b, task_a, task_b, object_a = two_annotators
    response = api_client_for(b).post(f"/api/tasks/{task_b.pk}/submit/", {"masklets": [object_a.pk]}, format="json")
    assert response.status_code == 403, response.content
    error = error_of(response)
    assert error["code"] == "forbidden" and f"Masklets [{object_a.pk}] are not this task's to submit" in error["message"]
    assert error["extra"] == {"masklets": [object_a.pk]}
    assert Masklet.objects.get(pk=object_a.pk).status == "draft"
    assert AnnotationTask.objects.get(pk=task_b.pk).status == "leased"
    assert not Interaction.objects.filter(kind="submit").exists()
    # A's own submit still finds A's work.
    mine = api_client_for(a).post(f"/api/tasks/{task_a.pk}/submit/", {}, format="json")
    assert mine.status_code == 200, mine.content
    assert Masklet.objects.get(pk=object_a.pk).status == "submitted"


def test_a_task_submits_only_drafts(api_client_for, two_annotators, ready_video, masklet_factory):
    a, _, task_a, _, object_a = two_annotators
    candidate = masklet_factory(ready_video, kind="auto", phase=None)  # the automatic generator's, in draft
    accepted = masklet_factory(ready_video, author=a, status="accepted")
    submitted = masklet_factory(ready_video, author=a, masklet=session_object_create(task=task_a, user=a),
                                status="submitted")
    client = api_client_for(a)
    for other in (candidate, accepted, submitted):
        response = client.post(f"/api/tasks/{task_a.pk}/submit/", {"masklets": [object_a.pk, other.pk]},
                               format="json")
        assert response.status_code == 403, response.content
        assert error_of(response)["extra"] == {"masklets": [other.pk]}
    assert Masklet.objects.get(pk=object_a.pk).status == "draft"
    assert [Masklet.objects.get(pk=m.pk).status for m in (candidate, accepted, submitted)] == [
        "draft", "accepted", "submitted"]


def test_saving_and_submitting_need_the_lease(api_client_for, two_annotators):
    a, b, task_a, _, object_a = two_annotators
    for action in ("save", "submit", "propagate"):
        response = api_client_for(b).post(f"/api/tasks/{task_a.pk}/{action}/", {"frame_index": 0}, format="json")
        assert response.status_code == 403 and "not leased to you" in error_of(response)["message"], action
    task_release(task=task_a, user=a)
    released = api_client_for(a).post(f"/api/tasks/{task_a.pk}/save/", {}, format="json")
    assert released.status_code == 409 and "not leased to anyone" in error_of(released)["message"]
    assert Masklet.objects.get(pk=object_a.pk).revisions.count() == 1


def test_masks_are_read_by_authors_the_tasks_annotator_reviewers_and_admins(api_client_for, user_factory,
                                                                           admin_user, reviewer, two_annotators,
                                                                           ready_video, masklet_factory):
    a, b, task_a, task_b, object_a = two_annotators
    url = f"/api/masklets/{object_a.pk}/"
    refused = api_client_for(b).get(url)
    assert refused.status_code == 403, refused.content
    # The same refusal as the task's masks endpoint for the same data.
    task_masks = api_client_for(b).get(f"/api/tasks/{task_a.pk}/masks/")
    assert task_masks.status_code == 403
    assert error_of(refused)["code"] == error_of(task_masks)["code"] == "forbidden"
    assert f"Masklet {object_a.pk} is not yours to read" in error_of(refused)["message"]
    assert api_client_for(user_factory(("annotator", "reviewer"))).get(url).status_code == 200
    for reader in (a, reviewer, admin_user):
        response = api_client_for(reader).get(url)
        assert response.status_code == 200, (reader.username, response.content)
        assert response.json()["current_revision"]["masks"]["0"] == box_mask(0, 0, 8, 8)
    # An object of A's task whose masks A did not write (no author): A reads it as the task's annotator.
    unsigned = masklet_factory(ready_video, author=None, masklet=session_object_create(task=task_a, user=a))
    assert api_client_for(a).get(f"/api/masklets/{unsigned.pk}/").status_code == 200
    assert api_client_for(b).get(f"/api/masklets/{unsigned.pk}/").status_code == 403
    assert api_client_for(user_factory()).get(url).status_code == 403  # no role at all
    assert api_client_for(b).get("/api/masklets/999999/").status_code == 404


def test_the_annotator_of_a_refinement_task_reads_its_masklet(api_client_for, user_factory, ready_video,
                                                              masklet_factory):
    candidate = masklet_factory(ready_video, kind="auto", phase=None, status="rejected")
    refine = AnnotationTask.objects.create(video=ready_video, kind="refine", masklet=candidate, phase=3)
    refiner, stranger = user_factory("annotator"), user_factory("annotator")
    url = f"/api/masklets/{candidate.pk}/"
    assert api_client_for(refiner).get(url).status_code == 403
    assert task_next_for(user=refiner).pk == refine.pk
    assert api_client_for(refiner).get(url).status_code == 200
    assert api_client_for(stranger).get(url).status_code == 403


def test_self_review_and_decisions_without_the_lease_are_refused(api_client_for, user_factory, ready_video,
                                                                 masklet_factory):
    both = user_factory(("annotator", "reviewer"))
    own = masklet_factory(ready_video, author=both, status="submitted")
    client = api_client_for(both)
    assert client.post("/api/reviews/next/", {}, format="json").status_code == 204
    for action, body in (("accept", {}), ("reject", {"reason": "Looks wrong."})):
        response = client.post(f"/api/masklets/{own.pk}/{action}/", {"revision": own.current_revision_id, **body},
                               format="json")
        assert response.status_code == 403, response.content
        assert error_of(response)["code"] == "own_work" and "someone else must decide" in error_of(response)["message"]
    unleased = api_client_for(user_factory("reviewer")).post(
        f"/api/masklets/{own.pk}/accept/", {"revision": own.current_revision_id}, format="json")
    assert unleased.status_code == 403 and error_of(unleased)["code"] == "no_review_lease"
    assert not Review.objects.exists() and Masklet.objects.get(pk=own.pk).status == "submitted"
    admin = api_client_for(user_factory("admin"))
    overridden = admin.post(f"/api/masklets/{own.pk}/accept/", {"revision": own.current_revision_id}, format="json")
    assert overridden.status_code == 200, overridden.content
    assert overridden.json()["lease_override"] is True
    assert Review.objects.get().lease_override is True


def _running_propagation(task: AnnotationTask, user, masklet: Masklet) -> Job:
    Interaction.objects.create(task=task, user=user, kind="click+", frame_index=0, object_number=masklet.object_number,
                               payload={"points": [[4.0, 4.0]], "labels": [1]}, phase=task.phase)
    job = propagation_start(task=task, user=user, frame_index=0)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    job.refresh_from_db()
    return job


def test_a_propagation_result_lands_only_while_its_author_holds_the_task(two_annotators):
    a, _, task_a, _, object_a = two_annotators
    job = _running_propagation(task_a, a, object_a)
    result = propagation_save(job=job, masks={object_a.object_number: {1: box_mask(0, 0, 9, 9)}})
    assert list(result["revisions"]) == [str(object_a.object_number)]
    assert Job.objects.get(pk=job.pk).status == "succeeded"

    job = _running_propagation(task_a, a, object_a)
    task_submit(task=task_a, user=a)  # submitted while the propagation ran
    revisions = Masklet.objects.get(pk=object_a.pk).revisions.count()
    assert propagation_save(job=job, masks={object_a.object_number: {2: box_mask(0, 0, 5, 5)}}) == {}
    failed = Job.objects.get(pk=job.pk)
    assert failed.status == "failed" and "not saved" in failed.message and "already submitted" in failed.message
    assert Masklet.objects.get(pk=object_a.pk).revisions.count() == revisions
    assert Masklet.objects.get(pk=object_a.pk).status == "submitted"


def test_a_save_never_changes_an_object_past_draft(api_client_for, two_annotators):
    a, _, task_a, _, object_a = two_annotators
    Interaction.objects.create(task=task_a, user=a, kind="click+", frame_index=1, object_number=object_a.object_number,
                               payload={"points": [[4.0, 4.0]], "labels": [1]}, phase=task_a.phase)
    Masklet.objects.filter(pk=object_a.pk).update(status="accepted")  # decided meanwhile, by whatever path
    response = api_client_for(a).post(f"/api/tasks/{task_a.pk}/save/")
    assert response.status_code == 409, response.content
    assert f"Object {object_a.object_number} is accepted" in error_of(response)["message"]
    assert Masklet.objects.get(pk=object_a.pk).revisions.count() == 1
    Masklet.objects.filter(pk=object_a.pk).update(status="draft")
    saved = api_client_for(a).post(f"/api/tasks/{task_a.pk}/save/")
    assert saved.status_code == 200 and [s["masklet_id"] for s in saved.json()] == [object_a.pk]
