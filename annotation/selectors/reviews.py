"""Verification reads: the queue of masklets awaiting a decision, masklets with their current
masks, and the dataset (accepted masklets)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, FloatField, OuterRef, Q, QuerySet, Subquery

from annotation.models import Masklet, Review, VerifierScore
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
    masklets = Masklet.objects.select_related("video", "current_revision", "current_revision__author")
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
