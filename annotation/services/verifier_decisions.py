"""Automatic decisions by the verifier, their human audits, and reversals by people.

With the policy on, enough human decisions (``min_decisions``) and an active version, every masklet
waiting for review whose score reaches the auto-accept threshold is accepted by the verifier (and,
when the policy rejects automatically, one at or below the auto-reject threshold is rejected). Such
a decision is a Review with the verifier's version and score instead of a reviewer. A share of them
(``audit_rate``) is sampled into the audit queue: a person confirms or overturns each; overturning
reverses the decision. The audits measure the verifier's real precision; once ``VERIFIER_MIN_AUDITS``
audits exist and it falls below the target, automatic decisions stop and the policy says why.
Any person with the reviewer role may reverse an automatic decision at any time.
"""

from __future__ import annotations

import random

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.models import AnnotationTask, Masklet, MaskletRevision, Review, VerifierPolicy
from annotation.selectors.reviews import human_decisions, review_queue
from annotation.services.reviews import refinement_task_create, review_record
from annotation.services.verifiers import (
    verifier_active,
    verifier_policy,
    verifier_score_queue,
    verifier_thresholds,
)
from dataplatform.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError

MAX_REASON_LENGTH = 2000


def min_audits() -> int:
    return int(getattr(settings, "VERIFIER_MIN_AUDITS", 20))


def verifier_blocked_reason(policy: VerifierPolicy | None = None) -> str:
    """Why automatic decisions are not being made now ('' when they are)."""
    policy = policy or verifier_policy()
    if not policy.enabled:
        return policy.stopped_reason or "Automatic decisions are off."
    count = human_decisions().count()
    if count < policy.min_decisions:
        return f"Only {count} human decisions so far; automatic decisions start at {policy.min_decisions}."
    version = verifier_active()
    if version is None:
        return "No verifier is trained yet: train one."
    if verifier_thresholds(version=version, policy=policy).accept is None and not policy.auto_reject:
        return (f"Verifier v{version.number} reaches no threshold with a held-out precision of "
                f"{policy.target_precision:.1%}: train it on more decisions or lower the target.")
    return ""


def verifier_decide_queue(*, limit: int = 500, rng: random.Random | None = None,
                          masklet_ids: list[int] | None = None) -> dict:
    """Score the queue, then decide automatically what the thresholds allow (``masklet_ids``: of
    those masklets only). Returns counts."""
    rng = rng or random.Random()
    verifier_score_queue(limit=limit)
    policy = verifier_policy()
    why = verifier_blocked_reason(policy)
    if why:
        return {"accepted": 0, "rejected": 0, "why": why}
    version = verifier_active()
    thresholds = verifier_thresholds(version=version, policy=policy)
    waiting = review_queue(available_at=timezone.now()).filter(verifier_score__isnull=False)
    if masklet_ids is not None:
        waiting = waiting.filter(pk__in=masklet_ids)
    candidates = list(waiting.values_list("pk", "current_revision_id", "verifier_score")[:limit])
    counts = {"accepted": 0, "rejected": 0, "why": ""}
    for masklet_id, revision_id, score in candidates:
        if thresholds.accept is not None and score >= thresholds.accept:
            decision = Review.Decision.ACCEPT
            reason = ""
        elif thresholds.reject is not None and score <= thresholds.reject:
            decision = Review.Decision.REJECT
            reason = (f"Verifier v{version.number} scored it {score:.3f}, at or below the auto-reject threshold "
                      f"{thresholds.reject:.3f}.")
        else:
            continue
        with transaction.atomic():
            locked = Masklet.objects.select_for_update(skip_locked=True).filter(pk=masklet_id).first()
            if locked is None or locked.current_revision_id != revision_id or not review_queue(
                    available_at=timezone.now()).filter(pk=masklet_id).exists():
                continue  # a person took it or a new revision landed meanwhile
            review_record(masklet=locked, user=None, revision_id=revision_id, decision=decision, reason=reason,
                          verifier_version=version, verifier_score=score,
                          audit_requested=rng.random() < policy.audit_rate)
            if decision == Review.Decision.REJECT:
                refinement_task_create(masklet=locked)
        counts["accepted" if decision == Review.Decision.ACCEPT else "rejected"] += 1
    return counts


def _check_reviewer(*, review: Review, user) -> None:
    if MaskletRevision.objects.filter(masklet_id=review.revision.masklet_id, author_id=user.pk).exists():
        raise ForbiddenError(f"You authored a revision of masklet {review.revision.masklet_id}: someone else must "
                             "check the verifier's decision on it.", code="own_work")


def review_reverse(*, review: Review, user, reason: str = "") -> Review:
    """A person reverses an automatic decision: it stays, marked reversed, and the person's opposite
    decision becomes the masklet's (a rejection needs a reason and sends the work back; a reversed
    rejection's refinement task is cancelled if nobody started it). Returns the person's Review."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ApplicationError(f"The reason is longer than {MAX_REASON_LENGTH} characters.")
    with transaction.atomic():
        locked = Review.objects.select_for_update().select_related("revision").filter(pk=review.pk).first()
        if locked is None:
            raise NotFoundError(f"Review {review.pk} does not exist.")
        if not locked.is_automatic:
            raise ConflictError(f"Review {locked.pk} is a person's decision; only the verifier's decisions are "
                                "reversed here.")
        if locked.reversed_at is not None:
            raise ConflictError(f"Review {locked.pk} was already reversed.")
        _check_reviewer(review=locked, user=user)
        masklet = Masklet.objects.select_for_update().get(pk=locked.revision.masklet_id)
        if masklet.current_revision_id != locked.revision_id:
            raise ConflictError(f"Masklet {masklet.pk} has a newer revision; review that one instead.",
                                {"current_revision": masklet.current_revision_id})
        opposite = Review.Decision.REJECT if locked.decision == Review.Decision.ACCEPT else Review.Decision.ACCEPT
        if opposite == Review.Decision.REJECT and not reason:
            raise ApplicationError("A rejection needs a reason the annotator can act on.", {"field": "reason"})
        now = timezone.now()
        Review.objects.filter(pk=locked.pk).update(reversed_by=user, reversed_at=now)
        mine = review_record(masklet=masklet, user=user, revision_id=locked.revision_id, decision=opposite,
                             reason=reason)
        if opposite == Review.Decision.REJECT:
            refinement_task_create(masklet=masklet)
        else:
            AnnotationTask.objects.filter(masklet=masklet, kind=AnnotationTask.Kind.REFINE,
                                          status=AnnotationTask.Status.QUEUED).update(status=AnnotationTask.Status.CANCELLED)
    return mine


def audit_queue():
    """Automatic decisions sampled for a human audit and not audited (nor reversed) yet."""
    return (Review.objects.filter(verifier_version__isnull=False, audit_requested=True, audited_at__isnull=True,
                                  reversed_at__isnull=True)
            .select_related("revision", "verifier_version").order_by("created_at", "id"))


def review_audit(*, review: Review, user, decision: str, reason: str = "") -> Review:
    """A person's audit of a sampled automatic decision: ``decision`` is what they would decide.
    Agreeing confirms it; disagreeing reverses it. Then the audited precision is checked."""
    if decision not in Review.Decision.values:
        raise ApplicationError(f"decision must be accept or reject, got {decision!r}.", {"field": "decision"})
    with transaction.atomic():
        locked = Review.objects.select_for_update().select_related("revision").filter(pk=review.pk).first()
        if locked is None or not locked.is_automatic or not locked.audit_requested:
            raise NotFoundError(f"Review {review.pk} is not an automatic decision waiting for an audit.")
        if locked.audited_at is not None or locked.reversed_at is not None:
            raise ConflictError(f"Review {locked.pk} was already audited or reversed.")
        _check_reviewer(review=locked, user=user)
        Review.objects.filter(pk=locked.pk).update(audit_decision=decision, audited_by=user, audited_at=timezone.now())
        if decision != locked.decision:
            review_reverse(review=locked, user=user, reason=reason)
    verifier_check_audits()
    locked.refresh_from_db()
    return locked


def audit_precision() -> dict:
    """What the audits measured: per kind of automatic decision, how many were audited and how many
    of those the auditors confirmed (the verifier's real precision)."""
    audited = Review.objects.filter(verifier_version__isnull=False, audited_at__isnull=False)
    out = {}
    for decision in Review.Decision.values:
        rows = audited.filter(decision=decision)
        total = rows.count()
        confirmed = rows.filter(audit_decision=decision).count()
        out[decision] = {"audited": total, "confirmed": confirmed,
                         "precision": confirmed / total if total else None}
    return out


def verifier_check_audits() -> VerifierPolicy:
    """Stop automatic decisions when the audited precision fell below the target (once there are
    ``VERIFIER_MIN_AUDITS`` audits of a kind of decision); the policy keeps why."""
    measured = audit_precision()
    with transaction.atomic():
        policy = VerifierPolicy.objects.select_for_update().get(pk=verifier_policy().pk)
        if not policy.enabled:
            return policy
        for decision, m in measured.items():
            if m["audited"] >= min_audits() and m["precision"] < policy.target_precision:
                policy.enabled = False
                policy.stopped_at = timezone.now()
                policy.stopped_reason = (
                    f"Automatic decisions stopped: audits confirmed {m['confirmed']} of {m['audited']} automatic "
                    f"{decision}s ({m['precision']:.1%}), below the target precision {policy.target_precision:.1%}. "
                    "Train the verifier on more decisions or lower the target, then switch them on again.")
                policy.save(update_fields=["enabled", "stopped_at", "stopped_reason", "updated_at"])
                break
    return policy
