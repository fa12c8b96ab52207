"""The queue API over HTTP (token clients, real PostgreSQL): an annotator's and a reviewer's day,
roles, each bad input's 4xx in the one error shape, and the races (200 concurrent next-task
requests, two reviewers at once)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import AnnotationTask, Interaction, Masklet
from annotation.services.masklets import masklet_revision_create
from annotation.services.reviews import review_next_for
from annotation.services.tasks import tasks_create_for_video
from dataplatform.services.users import user_token
from tests.annotation.conftest import box_mask, error_of

pytestmark = pytest.mark.django_db


def test_an_annotators_and_a_reviewers_day(api_client_for, admin_user, annotator, reviewer, ready_video,
                                           masklet_factory):
    admin, worker, checker = api_client_for(admin_user), api_client_for(annotator), api_client_for(reviewer)
    created = admin.post("/api/tasks/", {"video": ready_video.pk, "count": 2}, format="json")
    assert created.status_code == 201, created.content
    assert [t["status"] for t in created.json()] == ["queued", "queued"]

    task = worker.post("/api/tasks/next/", {}, format="json")
    assert task.status_code == 200, task.content
    task = task.json()
    assert (task["status"], task["assignee"], task["video"], task["phase"]) == (
        "leased", annotator.username, ready_video.pk, 3)
    assert worker.post("/api/tasks/next/", {}, format="json").json()["id"] == task["id"]
    assert worker.get(f"/api/tasks/{task['id']}/").status_code == 200
    assert worker.post(f"/api/tasks/{task['id']}/heartbeat/").status_code == 200

    masklet = masklet_factory(ready_video, author=annotator, masks={"1": box_mask(0, 0, 8, 8)}, edited_frames=[1])
    submitted = worker.post(f"/api/tasks/{task['id']}/submit/",
                            {"client_timestamp": timezone.now().isoformat()}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"

    leased = checker.post("/api/reviews/next/", {"kind": "manual"}, format="json")
    assert leased.status_code == 200, leased.content
    body = leased.json()
    assert (body["id"], body["status"], body["review_assignee"]) == (masklet.pk, "submitted", reviewer.username)
    revision = body["current_revision"]
    assert revision["masks"]["1"]["counts"] and revision["edited_frames"] == [1]

    rejected = checker.post(f"/api/masklets/{masklet.pk}/reject/",
                            {"revision": revision["id"], "reason": "Missed the tail."}, format="json")
    assert rejected.status_code == 200, rejected.content
    rework = rejected.json()["task"]
    assert (rework["kind"], rework["masklet"], rework["assignee"]) == ("refine", masklet.pk, annotator.username)
    assert rejected.json()["review"]["decision"] == "reject"

    again = worker.post("/api/tasks/next/", {}, format="json").json()
    assert again["id"] == rework["id"]
    masklet_revision_create(masklet=masklet, masks={"1": box_mask(0, 0, 9, 9)}, author=annotator, phase=3,
                            edited_frames=[1])
    assert worker.post(f"/api/tasks/{again['id']}/submit/", {}, format="json").status_code == 200
    current = checker.post("/api/reviews/next/", {}, format="json").json()["current_revision"]["id"]
    accepted = checker.post(f"/api/masklets/{masklet.pk}/accept/", {"revision": current}, format="json")
    assert accepted.status_code == 200, accepted.content
    assert Masklet.objects.get(pk=masklet.pk).status == "accepted"
    assert checker.post("/api/reviews/next/", {}, format="json").status_code == 204

    listing = admin.get("/api/tasks/", {"status": "submitted"})
    assert listing.status_code == 200 and listing.json()["count"] == 2
    metrics = admin.get("/api/metrics/", {"group_by": "annotator"})
    assert metrics.status_code == 200, metrics.content
    assert [(row["label"], row["tasks"], row["masklets"]) for row in metrics.json()] == [(annotator.username, 2, 2)]


def test_an_empty_queue_answers_204(api_client_for, annotator, reviewer):
    assert api_client_for(annotator).post("/api/tasks/next/", {}, format="json").status_code == 204
    assert api_client_for(reviewer).post("/api/reviews/next/", {}, format="json").status_code == 204


@pytest.mark.parametrize("method, url, role, expected", [
    ("post", "/api/tasks/next/", "reviewer", 403),
    ("post", "/api/tasks/next/", None, 403),
    ("get", "/api/tasks/", "annotator", 403),
    ("post", "/api/tasks/", "reviewer", 403),
    ("post", "/api/reviews/next/", "annotator", 403),
    ("get", "/api/metrics/", "reviewer", 403),
    ("get", "/api/metrics/", "admin", 200),
    ("post", "/api/reviews/next/", "admin", 204),
])
def test_roles(method, url, role, expected, user_factory, api_client_for):
    response = getattr(api_client_for(user_factory(role)), method)(url, {}, format="json") if method == "post" \
        else api_client_for(user_factory(role)).get(url)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert error_of(response)["code"] == "permission_denied"


def test_no_credentials_is_401(anon_client):
    response = anon_client.post("/api/tasks/next/", {}, format="json")
    assert response.status_code == 401
    error_of(response)


@pytest.mark.parametrize("url, body, status, words", [
    ("/api/tasks/next/", {"phase": 7}, 400, "phase"),
    ("/api/tasks/next/", {"project": "kitchen"}, 400, "project"),
    ("/api/tasks/next/", {"project": 999999}, 400, "Project 999999 does not exist"),
    ("/api/tasks/next/", {"project": 2**70}, 400, "project"),
    ("/api/tasks/nope/heartbeat/", {}, 404, "does not exist"),
    ("/api/tasks/999999/heartbeat/", {}, 404, "Task 999999 does not exist"),
    ("/api/tasks/999999/submit/", {"masklets": "all"}, 400, "masklets"),
    ("/api/tasks/999999/submit/", {"client_timestamp": "yesterday"}, 400, "client_timestamp"),
    ("/api/reviews/next/", {"kind": "robot"}, 400, "kind"),
    ("/api/reviews/next/", {"video": 999999}, 400, "Video 999999 does not exist"),
    ("/api/masklets/999999/accept/", {"revision": 1}, 404, "Masklet 999999 does not exist"),
    ("/api/masklets/1/accept/", {}, 400, "revision"),
    ("/api/masklets/1/reject/", {"revision": -3, "reason": "x"}, 400, "revision"),
])
def test_bad_input_is_a_4xx_with_a_message(url, body, status, words, user_factory, api_client_for):
    client = api_client_for(user_factory(("annotator", "reviewer")))
    response = client.post(url, body, format="json")
    assert response.status_code == status, response.content
    assert words.lower() in error_of(response)["message"].lower()


def test_admin_input_errors(api_client_for, admin_user, video_factory, ready_video):
    admin = api_client_for(admin_user)
    cases = [({"video": video_factory().pk}, "not ready"), ({"video": 999999}, "does not exist"),
             ({"video": ready_video.pk, "count": 0}, "count"), ({}, "video")]
    for body, words in cases:
        response = admin.post("/api/tasks/", body, format="json")
        assert response.status_code == 400, response.content
        assert words in error_of(response)["message"]
    for query, words in [({"group_by": "weather"}, "group_by"), ({"project": 999999}, "does not exist")]:
        response = admin.get("/api/metrics/", query)
        assert response.status_code == 400 and words in error_of(response)["message"]
    assert admin.get("/api/tasks/", {"status": "lost"}).status_code == 400


def test_lease_errors_over_http(api_client_for, user_factory, ready_video):
    [task] = tasks_create_for_video(video=ready_video)
    holder, stranger = user_factory("annotator"), user_factory("annotator")
    api_client_for(holder).post("/api/tasks/next/", {}, format="json")
    other = api_client_for(stranger)
    for action in ("heartbeat", "release", "submit"):
        response = other.post(f"/api/tasks/{task.pk}/{action}/", {}, format="json")
        assert response.status_code == 403 and "not leased to you" in error_of(response)["message"]
    assert other.get(f"/api/tasks/{task.pk}/").status_code == 403
    nothing = api_client_for(holder).post(f"/api/tasks/{task.pk}/submit/", {}, format="json")
    assert nothing.status_code == 400 and "Nothing to submit" in error_of(nothing)["message"]
    api_client_for(holder).post(f"/api/tasks/{task.pk}/release/")
    stale = api_client_for(holder).post(f"/api/tasks/{task.pk}/heartbeat/")
    assert stale.status_code == 409 and "not leased to anyone" in error_of(stale)["message"]


def test_decision_errors_over_http(api_client_for, reviewer, annotator, ready_video, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted")
    old = masklet.current_revision_id
    client = api_client_for(reviewer)
    empty = client.post(f"/api/masklets/{masklet.pk}/reject/", {"revision": old, "reason": "  "}, format="json")
    assert empty.status_code == 400 and "needs a reason" in error_of(empty)["message"]
    masklet_revision_create(masklet=masklet, masks={}, author=annotator, phase=3)
    stale = client.post(f"/api/masklets/{masklet.pk}/accept/", {"revision": old}, format="json")
    assert stale.status_code == 409
    error = error_of(stale)
    assert error["code"] == "conflict" and "not the current revision" in error["message"]
    assert error["extra"] == {"current_revision": Masklet.objects.get(pk=masklet.pk).current_revision_id}
    detail = client.get(f"/api/masklets/{masklet.pk}/")
    assert detail.status_code == 200 and len(detail.json()["current_revision"]["masks"]) == 3
    not_held = client.post(f"/api/masklets/{masklet.pk}/review-release/")
    assert not_held.status_code == 409


def _threaded(calls, threads: int) -> list:
    """Run ``calls`` (zero-argument functions) from ``threads`` threads started together; each
    thread closes its own database connection when it is done."""
    results: list = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(indices):
        try:
            barrier.wait()
            for index in indices:
                results[index] = calls[index]()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(range(i, len(calls), threads),)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=180)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_two_hundred_concurrent_next_requests_never_share_a_task(user_factory, ready_video):
    """200 annotators POST /api/tasks/next/ at once for 120 tasks. The requests run from 40
    threads (5 each, started by one barrier), so at most 40 database connections are open: the
    server's max_connections (100) is shared with other clients."""
    tasks_create_for_video(video=ready_video, count=120)
    tokens = [user_token(user=user_factory("annotator")).key for _ in range(200)]

    def call(token):
        def request():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            response = client.post("/api/tasks/next/", {}, format="json")
            return response.status_code, (response.json() if response.status_code == 200 else None)
        return request

    results = _threaded([call(token) for token in tokens], threads=40)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 120 + [204] * 80
    owners = {body["id"]: body["assignee"] for status, body in results if status == 200}
    assert len(owners) == 120 and len(set(owners.values())) == 120
    assert AnnotationTask.objects.filter(status="leased").count() == 120


@pytest.mark.django_db(transaction=True)
def test_two_deciders_at_once_one_200_one_409(user_factory, ready_video, masklet_factory):
    """The lease holder's double click (accept and reject at once): one decision, one 409."""
    masklet = masklet_factory(ready_video, author=user_factory("annotator"), status="submitted")
    revision = masklet.current_revision_id
    holder = user_factory("reviewer")
    review_next_for(user=holder)
    clients = [APIClient(), APIClient()]
    for client in clients:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=holder).key}")
    calls = [lambda: clients[0].post(f"/api/masklets/{masklet.pk}/accept/", {"revision": revision}, format="json"),
             lambda: clients[1].post(f"/api/masklets/{masklet.pk}/reject/", {"revision": revision, "reason": "No"},
                                     format="json")]
    responses = _threaded(calls, threads=2)
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "already reviewed" in error_of(loser)["message"]
    assert Interaction.objects.count() == 0
