"""Verification on the real PostgreSQL: the queue, review leases, accept and reject, the 409s of a
stale revision and of two reviewers at once, rework tasks, and the dataset selector."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import AnnotationTask, Masklet, Review
from annotation.selectors.reviews import dataset_masklets, review_queue
from annotation.services.masklets import masklet_revision_create
from annotation.services.reviews import masklet_accept, masklet_reject, review_next_for, review_release
from annotation.services.tasks import task_next_for
from dataplatform.errors import ApplicationError, ConflictError, ForbiddenError
from dataplatform.models import Project, Video

pytestmark = pytest.mark.django_db


def test_the_queue_holds_submitted_and_undecided_auto_masklets(ready_video, annotator, reviewer, masklet_factory):
    submitted = masklet_factory(ready_video, author=annotator, status="submitted")
    auto = masklet_factory(ready_video, kind="auto", phase=None)
    masklet_factory(ready_video, author=annotator)  # a draft manual masklet: still being annotated
    decided = masklet_factory(ready_video, kind="auto", phase=None, status="accepted")
    Review.objects.create(revision=decided.current_revision, reviewer=reviewer, decision="accept")
    assert set(review_queue()) == {submitted, auto}
    assert list(review_queue(kind="auto")) == [auto]


def test_next_leases_one_masklet_per_reviewer_and_never_their_own(ready_video, user_factory, masklet_factory):
    first, second = user_factory("reviewer"), user_factory(("annotator", "reviewer"))
    own = masklet_factory(ready_video, author=second, status="submitted")
    other = masklet_factory(ready_video, kind="auto", phase=None)
    leased = review_next_for(user=first)
    assert leased.pk == own.pk and leased.review_assignee == first and leased.review_lease_expires_at
    assert review_next_for(user=first).pk == own.pk  # the held masklet comes back
    assert review_next_for(user=second).pk == other.pk
    assert review_next_for(user=user_factory("reviewer")) is None


def test_next_filters_and_expired_review_leases_return(project, video_factory, user_factory, masklet_factory):
    other_project = Project.objects.create(name="Other")
    here = masklet_factory(video_factory(ready=True), kind="auto", phase=None)
    there = masklet_factory(video_factory(project=other_project, ready=True), kind="auto", phase=None)
    first, second = user_factory("reviewer"), user_factory("reviewer")
    assert review_next_for(user=first, project=other_project).pk == there.pk
    assert review_next_for(user=second, video=there.video) is None
    assert review_next_for(user=second, kind="manual") is None
    Masklet.objects.filter(pk=there.pk).update(review_lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert review_next_for(user=second, video=there.video).pk == there.pk
    review_release(masklet=there, user=second)
    assert review_next_for(user=user_factory("reviewer"), project=project).pk == here.pk


def test_accept_adds_the_masklet_to_the_dataset(ready_video, annotator, reviewer, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted", phase=2)
    review_next_for(user=reviewer)
    review = masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)
    masklet.refresh_from_db()
    assert (review.decision, masklet.status, masklet.review_assignee) == ("accept", "accepted", None)
    assert [m.pk for m in dataset_masklets()] == [masklet.pk]
    assert list(dataset_masklets(phases=[1, 3])) == []
    assert list(dataset_masklets(split="train")) == []
    assert list(dataset_masklets(since=timezone.now())) == []
    assert [m.pk for m in dataset_masklets(since=review.created_at, until=timezone.now())] == [masklet.pk]
    assert dataset_masklets()[0].current_revision.phase == 2
    with pytest.raises(ConflictError, match="already reviewed"):
        masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)


def test_a_rejection_needs_a_reason(ready_video, annotator, reviewer, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted")
    for reason in ("", "   ", None):
        with pytest.raises(ApplicationError, match="needs a reason"):
            masklet_reject(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id, reason=reason)
    assert not Review.objects.exists()


def test_a_rejected_manual_masklet_goes_back_to_its_author(project, ready_video, user_factory, reviewer,
                                                           masklet_factory):
    Project.objects.filter(pk=project.pk).update(phase=2)
    author = user_factory("annotator")
    masklet = masklet_factory(ready_video, author=author, status="submitted", phase=2)
    review_next_for(user=reviewer)
    review, task = masklet_reject(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id,
                                  reason="  The leg is missing from frame 2 on.  ")
    assert review.reason == "The leg is missing from frame 2 on."
    assert Masklet.objects.get(pk=masklet.pk).status == "rejected"
    assert (task.kind, task.masklet_id, task.phase, task.status, task.assignee) == (
        "refine", masklet.pk, 2, "queued", author)
    assert task_next_for(user=user_factory("annotator")) is None  # kept for the author
    assert task_next_for(user=author).pk == task.pk


def test_a_rejected_auto_masklet_becomes_a_phase_3_refinement_task(project, ready_video, reviewer, annotator,
                                                                    masklet_factory):
    Project.objects.filter(pk=project.pk).update(phase=1)
    masklet = masklet_factory(ready_video, kind="auto", phase=None)
    review_next_for(user=reviewer)
    _, task = masklet_reject(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id,
                             reason="Two objects merged.")
    assert (task.kind, task.masklet_id, task.phase, task.assignee) == ("refine", masklet.pk, 3, None)
    assert task_next_for(user=annotator).pk == task.pk


def test_a_decision_on_a_stale_revision_is_refused(ready_video, annotator, reviewer, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted")
    seen = masklet.current_revision_id
    masklet_revision_create(masklet=masklet, masks={}, author=annotator, phase=3)
    with pytest.raises(ConflictError, match="not the current revision") as caught:
        masklet_accept(masklet=masklet, user=reviewer, revision_id=seen)
    assert caught.value.extra == {"current_revision": Masklet.objects.get(pk=masklet.pk).current_revision_id}
    with pytest.raises(ConflictError, match="not the current revision"):
        masklet_reject(masklet=masklet, user=reviewer, revision_id=seen, reason="Wrong object.")
    assert not Review.objects.exists()


def test_a_masklet_another_reviewer_holds_is_refused(ready_video, annotator, user_factory, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted")
    holder, other = user_factory("reviewer"), user_factory("reviewer")
    review_next_for(user=holder)
    with pytest.raises(ConflictError, match="someone else"):
        masklet_accept(masklet=masklet, user=other, revision_id=masklet.current_revision_id)


def test_draft_manual_masklets_are_not_decided(ready_video, annotator, reviewer, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator)
    with pytest.raises(ConflictError, match="not awaiting review"):
        masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_decision", ["accept", "reject"])
def test_two_admins_deciding_at_once_one_wins(ready_video, user_factory, masklet_factory, second_decision):
    """Two deciders pass every check at once (admins overriding the lease nobody holds): the row
    lock and the one-decision constraint let one win."""
    masklet = masklet_factory(ready_video, author=user_factory("annotator"), status="submitted")
    reviewers = [user_factory("admin"), user_factory("admin")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(user, decision):
        try:
            barrier.wait()
            if decision == "accept":
                masklet_accept(masklet=masklet, user=user, revision_id=masklet.current_revision_id)
            else:
                masklet_reject(masklet=masklet, user=user, revision_id=masklet.current_revision_id, reason="No.")
            outcomes.append("won")
        except ConflictError:
            outcomes.append("409")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(reviewers[0], "accept")),
               threading.Thread(target=decide, args=(reviewers[1], second_decision))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["409", "won"]
    assert Review.objects.count() == 1
    review = Review.objects.get()
    status = {"accept": "accepted", "reject": "rejected"}[review.decision]
    assert Masklet.objects.get(pk=masklet.pk).status == status
    assert AnnotationTask.objects.count() == (1 if review.decision == "reject" else 0)


def test_the_dataset_filters_by_project_and_split(project, video_factory, reviewer, annotator, masklet_factory):
    other = Project.objects.create(name="Other")
    train = masklet_factory(video_factory(ready=True, split=Video.Split.TRAIN), author=annotator,
                            status="submitted", phase=1)
    elsewhere = masklet_factory(video_factory(project=other, ready=True), author=annotator, status="submitted")
    for masklet in (train, elsewhere):
        review_next_for(user=reviewer, masklet=masklet)
        masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)
    assert [m.pk for m in dataset_masklets(project=project)] == [train.pk]
    assert [m.pk for m in dataset_masklets(split="train", phases=[1])] == [train.pk]
    assert {m.pk for m in dataset_masklets()} == {train.pk, elsewhere.pk}


# ---- Separation of duties ----------------------------------------------------------------------


def _refined_by(masklet: Masklet, user) -> Masklet:
    """A second revision, by ``user``, submitted again (as a refinement task would leave it)."""
    masklet_revision_create(masklet=masklet, masks={}, author=user, phase=3)
    Masklet.objects.filter(pk=masklet.pk).update(status="submitted")
    masklet.refresh_from_db()
    return masklet


@pytest.mark.parametrize("roles", [("annotator", "reviewer"), ("annotator", "admin")])
def test_nobody_decides_on_a_masklet_they_authored_a_revision_of(ready_video, user_factory, masklet_factory,
                                                                 roles):
    author, refiner = user_factory(roles), user_factory(roles)
    masklet = _refined_by(masklet_factory(ready_video, author=author, status="submitted"), refiner)
    # The author of the first revision (no longer current) and of the current one alike.
    for person in (author, refiner):
        assert review_next_for(user=person) is None
        with pytest.raises(ForbiddenError, match=f"You authored a revision of masklet {masklet.pk}"):
            masklet_accept(masklet=masklet, user=person, revision_id=masklet.current_revision_id)
        with pytest.raises(ForbiddenError, match="someone else must decide"):
            masklet_reject(masklet=masklet, user=person, revision_id=masklet.current_revision_id, reason="Mine.")
    assert not Review.objects.exists() and not AnnotationTask.objects.exists()
    assert Masklet.objects.get(pk=masklet.pk).status == "submitted"
    assert review_next_for(user=user_factory("reviewer")).pk == masklet.pk  # anyone else gets it


def test_the_author_holding_a_lease_from_before_still_cannot_decide(ready_video, user_factory, masklet_factory):
    both = user_factory(("annotator", "reviewer"))
    masklet = masklet_factory(ready_video, kind="auto", phase=None)
    assert review_next_for(user=both).pk == masklet.pk
    masklet_revision_create(masklet=masklet, masks={}, author=both, phase=3)  # then they wrote masks of it
    masklet.refresh_from_db()
    assert review_next_for(user=both) is None  # the held lease is not handed back either
    with pytest.raises(ForbiddenError, match="You authored"):
        masklet_accept(masklet=masklet, user=both, revision_id=masklet.current_revision_id)
    assert not Review.objects.exists()


def test_a_decision_needs_the_review_lease(ready_video, annotator, user_factory, masklet_factory):
    masklet = masklet_factory(ready_video, author=annotator, status="submitted")
    holder, other = user_factory("reviewer"), user_factory("reviewer")
    with pytest.raises(ForbiddenError, match=f"Masklet {masklet.pk} is not leased to you for review") as caught:
        masklet_accept(masklet=masklet, user=other, revision_id=masklet.current_revision_id)
    assert caught.value.code == "no_review_lease"
    review_next_for(user=holder)
    with pytest.raises(ConflictError, match="being reviewed by someone else"):
        masklet_reject(masklet=masklet, user=other, revision_id=masklet.current_revision_id, reason="No.")
    assert not Review.objects.exists() and Masklet.objects.get(pk=masklet.pk).status == "submitted"
    # The holder's lease expired and nobody took it: still theirs to decide on.
    Masklet.objects.filter(pk=masklet.pk).update(review_lease_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ForbiddenError, match="not leased to you"):
        masklet_accept(masklet=masklet, user=other, revision_id=masklet.current_revision_id)
    review = masklet_accept(masklet=masklet, user=holder, revision_id=masklet.current_revision_id)
    assert (review.reviewer, review.lease_override) == (holder, False)


def test_an_admin_may_override_the_lease_and_the_override_is_recorded(ready_video, annotator, user_factory,
                                                                      masklet_factory):
    admin, holder = user_factory("admin"), user_factory("reviewer")
    first = masklet_factory(ready_video, author=annotator, status="submitted")
    review = masklet_accept(masklet=first, user=admin, revision_id=first.current_revision_id)
    assert (review.reviewer, review.decision, review.lease_override) == (admin, "accept", True)
    assert Masklet.objects.get(pk=first.pk).status == "accepted"
    second = masklet_factory(ready_video, author=annotator, status="submitted")
    review_next_for(user=holder)
    with pytest.raises(ConflictError, match="being reviewed by someone else"):  # not over a live lease
        masklet_reject(masklet=second, user=admin, revision_id=second.current_revision_id, reason="Blurry.")
    Masklet.objects.filter(pk=second.pk).update(review_lease_expires_at=timezone.now() - timedelta(seconds=1))
    review, _ = masklet_reject(masklet=second, user=admin, revision_id=second.current_revision_id, reason="Blurry.")
    assert review.lease_override is True
    # An admin who leased it decides as a reviewer: no override.
    third = masklet_factory(ready_video, author=annotator, status="submitted")
    assert review_next_for(user=admin).pk == third.pk
    assert masklet_accept(masklet=third, user=admin, revision_id=third.current_revision_id).lease_override is False
