"""Comments pinned to frames: a reviewer writes them while reviewing or with the decision; the
annotator of the rework task reads them, with the reason and the frames they name."""

from __future__ import annotations

import pytest

from annotation.models import Interaction, ReviewComment
from annotation.selectors.reviews import frames_named
from annotation.services.reviews import review_next_for
from annotation.services.sessions import session_state
from annotation.services.tasks import task_next_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def under_review(ready_video, user_factory, reviewer, masklet_factory, api_client_for):
    author = user_factory("annotator")
    masklet = masklet_factory(ready_video, author=author, status="submitted")
    assert review_next_for(user=reviewer).pk == masklet.pk
    return {"masklet": masklet, "author": author, "reviewer": api_client_for(reviewer),
            "annotator": api_client_for(author), "url": f"/api/masklets/{masklet.pk}"}


def test_a_rework_task_shows_the_reason_and_the_comments_on_their_frames(under_review, ready_video):
    m, reviewer = under_review["masklet"], under_review["reviewer"]
    revision = m.current_revision_id
    noted = reviewer.post(f"{under_review['url']}/comments/",
                          {"revision": revision, "frame_index": 2, "text": "  The tail is cut off.  "}, format="json")
    assert noted.status_code == 201, noted.content
    assert (noted.json()["frame_index"], noted.json()["text"], noted.json()["decision"]) == (2, "The tail is cut off.",
                                                                                            None)
    rejected = reviewer.post(f"{under_review['url']}/reject/", {
        "revision": revision, "reason": "The leash is missing from frame 2 on.",
        "comments": [{"frame_index": 0, "text": "A second dog is included."}]}, format="json")
    assert rejected.status_code == 200, rejected.content
    assert set(ReviewComment.objects.values_list("review_id", flat=True)) == {rejected.json()["review"]["id"]}

    task = task_next_for(user=under_review["author"])
    assert task.pk == rejected.json()["task"]["id"]
    feedback = session_state(task=task)["review"]
    assert feedback["reason"] == "The leash is missing from frame 2 on."
    assert [(c["frame_index"], c["text"]) for c in feedback["comments"]] == [
        (0, "A second dog is included."), (2, "The tail is cut off.")]
    assert feedback["frames"] == [0, 1, 2]  # the comments' frames and "frame 2" (shown from 1)
    listed = under_review["annotator"].get(f"{under_review['url']}/comments/")
    assert listed.status_code == 200 and [c["decision"] for c in listed.json()] == ["reject", "reject"]


def test_comments_are_checked_and_need_the_review_lease(under_review, user_factory, api_client_for):
    m, reviewer, url = under_review["masklet"], under_review["reviewer"], under_review["url"]
    body = {"revision": m.current_revision_id, "frame_index": 1, "text": "Edge off."}
    for bad, field in (({"frame_index": 999}, "frame_index"), ({"text": "   "}, "text"), ({"text": "x" * 1001}, "text")):
        response = reviewer.post(f"{url}/comments/", {**body, **bad}, format="json")
        assert response.status_code == 400, response.content
        assert field in str(response.json()["error"]), response.json()  # the field is named
    other = api_client_for(user_factory("reviewer")).post(f"{url}/comments/", body, format="json")
    assert other.status_code == 409 and "someone else" in other.json()["error"]["message"]
    assert under_review["annotator"].post(f"{url}/comments/", body, format="json").status_code == 403
    stale = reviewer.post(f"{url}/comments/", {**body, "revision": m.current_revision_id + 1000}, format="json")
    assert stale.status_code == 409
    too_many = [{"frame_index": 0, "text": "n"}] * 101
    refused = reviewer.post(f"{url}/reject/", {"revision": m.current_revision_id, "reason": "Bad.",
                                              "comments": too_many}, format="json")
    assert refused.status_code == 400
    assert not ReviewComment.objects.exists()
    accepted = reviewer.post(f"{url}/accept/", {"revision": m.current_revision_id}, format="json")
    assert accepted.status_code == 200
    late = reviewer.post(f"{url}/comments/", body, format="json")
    assert late.status_code == 409 and "already reviewed" in late.json()["error"]["message"]


def test_frames_named_by_a_reason():
    assert frames_named("Missing from frame 40 on; frames 3-5 and frame 900.", 100) == [2, 3, 4, 39]
    assert frames_named("No frame named here.", 10) == []


def test_a_session_shows_the_video_name_and_the_clicks_that_still_count(ready_video, annotator):
    from annotation.services.sessions import session_object_create
    from annotation.services.tasks import task_create

    task_create(video=ready_video)
    task = task_next_for(user=annotator)
    number = session_object_create(task=task, user=annotator).object_number

    def add(kind, **payload):
        return Interaction.objects.create(task=task, user=annotator, kind=kind, frame_index=1, object_number=number,
                                          payload=payload, phase=task.phase)

    add("click+", points=[[10.5, 20]], labels=[1])
    undone = add("click-", points=[[3, 4]], labels=[0])
    add("undo", undoes=undone.pk)
    add("click-", points=[[5, 6]], labels=[0])
    state = session_state(task=task)
    assert state["video"]["name"] == ready_video.name and state["kind"] == "annotate" and state["review"] is None
    assert state["points"] == [{"frame_index": 1, "object_number": number, "point": [10.5, 20], "label": 1},
                               {"frame_index": 1, "object_number": number, "point": [5, 6], "label": 0}]
