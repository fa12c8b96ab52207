"""The masklet verifier on the platform (real PostgreSQL): training on human decisions, scores in
the queue, automatic decisions (recorded, reversible, audited, stopping by themselves), and none
before enough human decisions."""

from __future__ import annotations

import random

import pytest

from annotation.models import AnnotationTask, Masklet, Review, RevisionSignals, VerifierScore, VerifierVersion
from annotation.services.reviews import review_next_for
from annotation.services.verifier_decisions import (
    audit_queue,
    review_audit,
    review_reverse,
    verifier_decide_queue,
)
from annotation.services.verifiers import verifier_policy, verifier_policy_update, verifier_train
from dataplatform.errors import ConflictError
from tests.annotation.conftest import box_mask

pytestmark = pytest.mark.django_db

GOOD = {0: box_mask(10, 10, 30, 30), 1: box_mask(11, 10, 31, 30), 2: box_mask(12, 10, 32, 30)}
BAD = {0: box_mask(0, 0, 20, 20), 1: box_mask(40, 25, 60, 45), 2: box_mask(5, 30, 10, 35)}


@pytest.fixture
def history(ready_video, annotator, reviewer, masklet_factory):
    """40 human decisions: consistent masklets accepted, jumping ones rejected."""
    for k in range(40):
        good = k % 2 == 0
        masklet = masklet_factory(ready_video, author=annotator, masks=GOOD if good else BAD,
                                  status="accepted" if good else "rejected")
        Review.objects.create(revision=masklet.current_revision, reviewer=reviewer,
                              decision="accept" if good else "reject", reason="" if good else "drifts")
    return ready_video


@pytest.fixture
def admin(user_factory):
    return user_factory("admin")


def switch_on(admin, **changes):
    values = {"enabled": True, "target_precision": 0.95, "min_decisions": 40, "audit_rate": 0.0, **changes}
    return verifier_policy_update(user=admin, **values)


def test_every_revision_gets_signals_and_training_records_a_version(history, admin):
    assert RevisionSignals.objects.count() == 40
    version = verifier_train(user=admin)
    assert (version.number, version.is_active, version.decisions) == (1, True, 40)
    assert version.metrics["auc"] > 0.9 and version.metrics["precision"] is not None
    again = verifier_train(user=admin)
    assert again.number == 2 and list(VerifierVersion.objects.filter(is_active=True)) == [again]


def test_the_queue_carries_scores_and_the_least_certain_comes_first(history, admin, annotator, reviewer,
                                                                    masklet_factory):
    version = verifier_train(user=admin)
    sure = masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    unsure = masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    VerifierScore.objects.create(revision=sure.current_revision, version=version, score=0.99)
    VerifierScore.objects.create(revision=unsure.current_revision, version=version, score=0.55)
    assert review_next_for(user=reviewer, order="uncertain").pk == unsure.pk
    assert review_next_for(user=reviewer).pk == unsure.pk  # the leased one comes back


def test_no_automatic_decision_without_enough_human_decisions(history, admin, annotator, masklet_factory):
    verifier_train(user=admin)
    switch_on(admin, min_decisions=200)
    waiting = masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    result = verifier_decide_queue()
    assert result["accepted"] == 0 and "Only 40 human decisions" in result["why"]
    assert not Review.objects.filter(revision=waiting.current_revision).exists()
    assert VerifierScore.objects.filter(revision=waiting.current_revision).exists()  # scored all the same


def test_automatic_decisions_are_off_by_default(history, admin, annotator, masklet_factory):
    verifier_train(user=admin)
    masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    assert verifier_decide_queue()["why"] == "Automatic decisions are off."
    assert not Review.objects.filter(verifier_version__isnull=False).exists()


def test_an_automatic_decision_is_a_review_by_the_verifier_and_a_person_reverses_it(
        history, admin, annotator, masklet_factory, user_factory):
    version = verifier_train(user=admin)
    switch_on(admin, auto_reject=True)
    good = masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    bad = masklet_factory(history, author=annotator, masks=BAD, status="submitted")
    assert verifier_decide_queue() == {"accepted": 1, "rejected": 1, "why": ""}
    accept = Review.objects.get(revision=good.current_revision)
    assert (accept.reviewer, accept.verifier_version, accept.decision) == (None, version, "accept")
    assert accept.verifier_score > 0.5
    good.refresh_from_db()
    assert good.status == "accepted"
    assert AnnotationTask.objects.filter(masklet=bad, kind="refine").exists()  # a rejection sends the work back

    person = user_factory("reviewer")
    mine = review_reverse(review=accept, user=person, reason="The object's edge is off on frame 2.")
    accept.refresh_from_db()
    good.refresh_from_db()
    assert (accept.reversed_by, mine.reviewer, mine.decision, good.status) == (person, person, "reject", "rejected")
    with pytest.raises(ConflictError, match="already reversed"):
        review_reverse(review=accept, user=person, reason="again")

    rejected = Review.objects.get(revision=bad.current_revision, reversed_at__isnull=True)
    review_reverse(review=rejected, user=person)
    bad.refresh_from_db()
    assert bad.status == "accepted"
    assert AnnotationTask.objects.get(masklet=bad, kind="refine").status == "cancelled"


def test_a_share_of_automatic_decisions_goes_to_the_audit_queue(history, admin, annotator, masklet_factory):
    verifier_train(user=admin)
    switch_on(admin, audit_rate=0.5)
    for _ in range(20):
        masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    assert verifier_decide_queue(rng=random.Random(1))["accepted"] == 20
    sampled = audit_queue().count()
    assert 3 <= sampled <= 17  # about half, by a seeded draw
    switch_on(admin, audit_rate=0.0)
    masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    verifier_decide_queue()
    assert audit_queue().count() == sampled


def test_automatic_decisions_stop_when_audits_fall_below_the_target(history, admin, annotator, masklet_factory,
                                                                    user_factory, settings):
    settings.VERIFIER_MIN_AUDITS = 2
    verifier_train(user=admin)
    switch_on(admin, audit_rate=1.0)
    for _ in range(2):
        masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    verifier_decide_queue()
    auditor = user_factory("reviewer")
    first, second = list(audit_queue())
    review_audit(review=first, user=auditor, decision="accept")
    assert verifier_policy().enabled  # one audit is not enough to judge
    review_audit(review=second, user=auditor, decision="reject", reason="Not the object.")
    policy = verifier_policy()
    assert not policy.enabled
    assert "confirmed 1 of 2 automatic accepts (50.0%), below the target precision 95.0%" in policy.stopped_reason
    second.refresh_from_db()
    assert second.reversed_at is not None
    assert Masklet.objects.get(pk=second.revision.masklet_id).status == "rejected"
    later = masklet_factory(history, author=annotator, masks=GOOD, status="submitted")
    assert "audits confirmed 1 of 2" in verifier_decide_queue()["why"]
    assert not Review.objects.filter(revision=later.current_revision).exists()
