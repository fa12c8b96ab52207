"""Verification: reviewers lease masklets from the verification queue and accept or reject them.

The queue holds submitted masklets (manual, or automatic ones refined by an annotator) and
automatic masklets still in draft (straight from the automatic generator), whose current revision
has no decision yet. A reviewer leases one at a time (``REVIEW_LEASE_SECONDS``, default 600 s),
picked with ``SELECT … FOR UPDATE SKIP LOCKED`` like annotation tasks.

A decision names the revision it was made on: when that revision is no longer current the
decision is refused (409). One decision per revision (a unique constraint): of two reviewers
deciding at once, one wins and the other gets 409.

Separation of duties. Nobody decides on a masklet they authored a revision of (403), admins
included, and the queue never hands it to them. A decision needs the review lease on the masklet:
without it 403, or 409 while another reviewer holds it. An admin may decide without the lease
(not while another reviewer holds a live one); the Review records that override
(``lease_override``).

Rejection sends the work back: a manual masklet becomes a refinement task kept for the author of
the rejected revision, in the project's phase; an automatic one becomes a phase-3 refinement task
seeded with its masks (the task's masklet, whose current revision is the candidate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Abs
from django.utils import timezone

from annotation.models import AnnotationTask, Masklet, MaskletRevision, Review
from annotation.selectors.reviews import review_queue
from annotation.services.review_comments import review_comments_attach
from annotation.services.tasks import REWORK_PRIORITY, task_create
from dataplatform.errors import ApplicationError, ConflictError, ForbiddenError
from dataplatform.models import Phase, Project, Video
from dataplatform.roles import is_admin

MAX_REASON_LENGTH = 2000
NO_REASON = "A rejection needs a reason the annotator can act on."


def review_lease_duration() -> timedelta:
    return timedelta(seconds=getattr(settings, "REVIEW_LEASE_SECONDS", 600))


def _authored_by(user) -> Exists:
    """Masklets with a revision ``user`` wrote (a filter on ``Masklet``)."""
    return Exists(MaskletRevision.objects.filter(masklet_id=OuterRef("pk"), author_id=user.pk))


ORDERS = ("oldest", "uncertain")


def review_next_for(*, user, kind: str | None = None, project: Project | None = None,
                    video: Video | None = None, masklet: Masklet | None = None, order: str = "oldest") -> Masklet | None:
    """Lease the next masklet to verify to ``user`` (``masklet``: that one, if it awaits review
    and nobody holds it), or ``None`` when the queue is empty. ``order``: "oldest" first, or
    "uncertain": the verifier's least certain first (score closest to 0.5; unscored ones last).

    A reviewer who holds a live review lease gets that masklet back (lease renewed). Reviewers
    never get masklets they authored a revision of.
    """
    now = timezone.now()
    expires = now + review_lease_duration()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        held = (Masklet.objects.select_for_update(of=("self",))
                .filter(review_assignee=user, review_lease_expires_at__gt=now, pk__in=review_queue().values("pk"))
                .filter(~_authored_by(user))
                .order_by("review_lease_expires_at", "id").first())
        if held is not None:
            Masklet.objects.filter(pk=held.pk).update(review_lease_expires_at=expires)
            held.review_lease_expires_at = expires
            return held
        candidates = review_queue(kind=kind, project=project, video=video, available_at=now)
        if masklet is not None:
            candidates = candidates.filter(pk=masklet.pk)
        if order not in ORDERS:
            raise ApplicationError(f"order must be one of {', '.join(ORDERS)}, got {order!r}.", {"field": "order"})
        ordering = ["updated_at", "id"]
        if order == "uncertain":
            candidates = candidates.annotate(uncertainty=Abs(F("verifier_score") - 0.5))
            ordering = [F("uncertainty").asc(nulls_last=True), "updated_at", "id"]
        masklet = (candidates
                   .filter(~_authored_by(user))
                   .order_by(*ordering)
                   .select_for_update(skip_locked=True, of=("self",))
                   .first())
        if masklet is None:
            return None
        # .update(): the masklet's updated_at orders the queue and must not move on a lease.
        Masklet.objects.filter(pk=masklet.pk).update(review_assignee=user, review_lease_expires_at=expires)
        masklet.review_assignee, masklet.review_lease_expires_at = user, expires
        return masklet


def review_release(*, masklet: Masklet, user) -> None:
    """Give a leased masklet back to the verification queue."""
    updated = Masklet.objects.filter(pk=masklet.pk, review_assignee=user).update(
        review_assignee=None, review_lease_expires_at=None)
    if not updated:
        raise ConflictError(f"Masklet {masklet.pk} is not leased to you for review.")


def review_lock_for_decision(*, masklet: Masklet, user, revision_id: int) -> tuple[Masklet, bool]:
    """The masklet, locked, checked to be decidable on ``revision_id`` by ``user``; and whether the
    decision is an admin's override of the review lease.

    Call inside a transaction: the row lock keeps a new revision from landing between the check
    and the decision.
    """
    locked = Masklet.objects.select_for_update().get(pk=masklet.pk)
    if MaskletRevision.objects.filter(masklet=locked, author_id=user.pk).exists():
        raise ForbiddenError(f"You authored a revision of masklet {locked.pk}: someone else must decide on it.",
                             code="own_work")
    if locked.current_revision_id != revision_id:
        raise ConflictError(
            f"Revision {revision_id} is not the current revision of masklet {locked.pk} any more; "
            "reload the masklet and review its current masks.", {"current_revision": locked.current_revision_id})
    if Review.objects.filter(revision_id=revision_id, reversed_at__isnull=True).exists():
        raise ConflictError(f"Revision {revision_id} was already reviewed.")
    reviewable = (locked.status == Masklet.Status.SUBMITTED
                  or (locked.kind == Masklet.Kind.AUTO and locked.status == Masklet.Status.DRAFT))
    if not reviewable:
        raise ConflictError(f"Masklet {locked.pk} is not awaiting review (status: {locked.status}).")
    if locked.review_assignee_id == user.pk:
        return locked, False  # an expired lease nobody took yet is still the reviewer's
    live = locked.review_lease_expires_at is not None and locked.review_lease_expires_at > timezone.now()
    if locked.review_assignee_id is not None and live:
        raise ConflictError(f"Masklet {locked.pk} is being reviewed by someone else.")
    if not is_admin(user):
        raise ForbiddenError(f"Masklet {locked.pk} is not leased to you for review: take it from the "
                             "verification queue ('next masklet') before deciding.", code="no_review_lease")
    return locked, True


def review_record(*, masklet: Masklet, user, revision_id: int, decision: str, reason: str = "",
                  lease_override: bool = False, verifier_version=None, verifier_score: float | None = None,
                  audit_requested: bool = False) -> Review:
    """Record a decision (a person's, or the verifier's with its version and score) and set the
    masklet's status. Call with the masklet locked and checked; a concurrent decision gives 409."""
    try:
        with transaction.atomic():
            review = Review.objects.create(revision_id=revision_id, reviewer=user, decision=decision, reason=reason,
                                           lease_override=lease_override, verifier_version=verifier_version,
                                           verifier_score=verifier_score, audit_requested=audit_requested)
    except IntegrityError:  # another reviewer's decision on this revision committed first
        raise ConflictError(f"Revision {revision_id} was already reviewed.") from None
    status = Masklet.Status.ACCEPTED if decision == Review.Decision.ACCEPT else Masklet.Status.REJECTED
    Masklet.objects.filter(pk=masklet.pk).update(status=status, review_assignee=None,
                                                 review_lease_expires_at=None, updated_at=timezone.now())
    return review


def masklet_accept(*, masklet: Masklet, user, revision_id: int, comments: Sequence[Mapping] = ()) -> Review:
    """Accept the masklet's current revision (``revision_id``): it joins the dataset. ``user``
    holds the masklet's review lease (or is an admin, recorded as an override) and authored none
    of its revisions. ``comments``: notes pinned to frames ({frame_index, text}), kept with it."""
    with transaction.atomic():
        locked, override = review_lock_for_decision(masklet=masklet, user=user, revision_id=revision_id)
        review = review_record(masklet=locked, user=user, revision_id=revision_id, decision=Review.Decision.ACCEPT,
                         lease_override=override)
        review_comments_attach(masklet=locked, review=review, user=user, comments=comments)
    masklet.refresh_from_db()
    return review


def masklet_reject(*, masklet: Masklet, user, revision_id: int, reason: str,
                   comments: Sequence[Mapping] = ()) -> tuple[Review, AnnotationTask]:
    """Reject the masklet's current revision with a reason; returns the review and the refinement
    task it creates (manual: kept for the revision's author, project phase; auto: phase 3).
    ``comments``: notes pinned to frames ({frame_index, text}) that the rework task shows, with
    those made while reviewing."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(NO_REASON, {"field": "reason"})
    if len(reason) > MAX_REASON_LENGTH:
        raise ApplicationError(f"The reason is longer than {MAX_REASON_LENGTH} characters.")
    with transaction.atomic():
        locked, override = review_lock_for_decision(masklet=masklet, user=user, revision_id=revision_id)
        review = review_record(masklet=locked, user=user, revision_id=revision_id, decision=Review.Decision.REJECT,
                               reason=reason, lease_override=override)
        review_comments_attach(masklet=locked, review=review, user=user, comments=comments)
        task = refinement_task_create(masklet=locked)
    masklet.refresh_from_db()
    return review, task


def refinement_task_create(*, masklet: Masklet) -> AnnotationTask:
    """The work a rejection sends back: a manual masklet's refinement task is kept for the author of
    the rejected revision, in the project's phase; an automatic one's is phase 3, seeded with it."""
    video = Video.objects.get(pk=masklet.video_id)
    if masklet.kind == Masklet.Kind.MANUAL:
        author = MaskletRevision.objects.get(pk=masklet.current_revision_id).author
        return task_create(video=video, kind=AnnotationTask.Kind.REFINE, masklet=masklet,
                           priority=REWORK_PRIORITY, reserved_for=author)
    return task_create(video=video, kind=AnnotationTask.Kind.REFINE, masklet=masklet,
                       phase=Phase.SAM2_FULL, priority=REWORK_PRIORITY)
