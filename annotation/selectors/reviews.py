"""Verification reads: the queue of masklets awaiting a decision, masklets with their current
masks, and the dataset (accepted masklets)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, FloatField, OuterRef, Q, QuerySet, Subquery

from annotation.models import AnnotationTask, Masklet, Review, ReviewComment, VerifierScore
from dataplatform.errors import NotFoundError


def review_queue(*, kind: str | None = None, project=None, video=None,
                 available_at: datetime | None = None) -> QuerySet[Masklet]:
    """Masklets awaiting a decision on their current revision: submitted ones, and automatic
    ones still in draft. With ``available_at``: only those nobody holds a live review lease on."""
    decided = Review.objects.filter(revision_id=OuterRef("current_revision_id"), reversed_at__isnull=True)
    masklets = (Masklet.objects
                .filter(Q(status=Masklet.Status.SUBMITTED) | Q(kind=Masklet.Kind.AUTO, status=Masklet.Status.DRAFT),
                        current_revision__isnull=False)
                .filter(~Exists(decided)))
    if kind is not None:
        masklets = masklets.filter(kind=kind)
    if project is not None:
        masklets = masklets.filter(video__project=project)
    if video is not None:
        masklets = masklets.filter(video=video)
    if available_at is not None:
        masklets = masklets.filter(Q(review_assignee__isnull=True) | Q(review_lease_expires_at__lte=available_at))
    return masklets.annotate(verifier_score=verifier_score_of_current())


def verifier_score_of_current() -> Subquery:
    """The active verifier's score of a masklet's current revision (an annotation on ``Masklet``;
    NULL when there is no active verifier or it has not scored that revision yet)."""
    return Subquery(VerifierScore.objects.filter(revision_id=OuterRef("current_revision_id"), version__is_active=True)
                    .values("score")[:1], output_field=FloatField())


def human_decisions() -> QuerySet[Review]:
    """The decisions people made that stand as labels of "a reviewer accepts this revision": every
    person's Review, and the automatic ones a human audit confirmed."""
    return Review.objects.filter(Q(reviewer__isnull=False) | Q(audited_at__isnull=False, reversed_at__isnull=True))


def masklet_get(*, masklet_id: int, with_masks: bool = True) -> Masklet:
    """One masklet with its video and current revision (``masks`` deferred unless asked)."""
    masklets = Masklet.objects.select_related("video", "label", "current_revision", "current_revision__author")
    if not with_masks:
        masklets = masklets.defer("current_revision__masks")
    masklet = masklets.filter(pk=masklet_id).first()
    if masklet is None:
        raise NotFoundError(f"Masklet {masklet_id} does not exist.")
    return masklet


def dataset_masklets(*, project=None, phases: Iterable[int] | None = None, since: datetime | None = None,
                     until: datetime | None = None, split: str | None = None) -> QuerySet[Masklet]:
    """The dataset: accepted masklets, with their current (accepted) revisions selected.

    ``phases``: phases of the accepted revision; ``since``/``until``: when it was accepted
    (inclusive/exclusive); ``split``: the video's split (train/val/test/unassigned).
    """
    masklets = (Masklet.objects.filter(status=Masklet.Status.ACCEPTED,
                                       current_revision__reviews__decision=Review.Decision.ACCEPT)
                .select_related("video", "current_revision"))
    if project is not None:
        masklets = masklets.filter(video__project=project)
    if phases is not None:
        masklets = masklets.filter(current_revision__phase__in=list(phases))
    if since is not None:
        masklets = masklets.filter(current_revision__reviews__created_at__gte=since)
    if until is not None:
        masklets = masklets.filter(current_revision__reviews__created_at__lt=until)
    if split is not None:
        masklets = masklets.filter(video__split=split)
    return masklets.order_by("video_id", "object_number")


# "frame 40", "frames 12-15", "frames 3 to 9": frame numbers as the UI shows them (from 1).
_FRAME_MENTION = re.compile(r"\bframes?\s+(\d{1,7})(?:\s*(?:-|–|to)\s*(\d{1,7}))?", re.IGNORECASE)
MAX_NAMED_FRAMES = 200


def frames_named(text: str, frame_count: int) -> list[int]:
    """Frame indices (from 0) that a reviewer's text names as frame numbers (from 1), in the video."""
    named: set[int] = set()
    for match in _FRAME_MENTION.finditer(text or ""):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        for number in range(first, min(max(first, last), first + MAX_NAMED_FRAMES) + 1):
            if 1 <= number <= frame_count:
                named.add(number - 1)
    return sorted(named)[:MAX_NAMED_FRAMES]


def review_comments_of(*, masklet: Masklet) -> QuerySet[ReviewComment]:
    """The notes pinned to frames of the masklet's revisions, newest revision first."""
    return (ReviewComment.objects.filter(masklet=masklet).select_related("author", "review")
            .order_by("-revision_id", "frame_index", "id"))


def task_review_feedback(*, task: AnnotationTask) -> dict | None:
    """What a rework task is about: the latest rejection of its masklet (reason, reviewer, the
    notes pinned to frames, and every frame they name); None for a task that is not a rework."""
    if task.masklet_id is None:
        return None
    review = (Review.objects.filter(revision__masklet_id=task.masklet_id, decision=Review.Decision.REJECT)
              .select_related("reviewer").order_by("-created_at", "-id").first())
    if review is None:
        return None
    comments = list(ReviewComment.objects.filter(revision_id=review.revision_id).order_by("frame_index", "id"))
    frame_count = task.video.frame_count
    frames = set(frames_named(review.reason, frame_count)) | {c.frame_index for c in comments}
    return {"reason": review.reason, "reviewer": review.reviewer.username, "decided_at": review.created_at,
            "revision": review.revision_id,
            "comments": [{"id": c.pk, "frame_index": c.frame_index, "text": c.text} for c in comments],
            "frames": sorted(frames)}
