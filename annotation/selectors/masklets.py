"""Who may change and who may read a masklet: the two ownership rules, in one place.

Change. A task's work (saved prompt answers, propagation results, submit) may land only on the
masklets open to that task, for the person holding its lease (``task_lock_held``):
its own objects while they are drafts, a refinement task's masklet while it is reworked, and
drafts of the video that belong to no task whose current masks the user wrote (made before
objects belonged to tasks). Another task's objects on the same video never are.

Read. A masklet's masks are readable by the authors of its revisions, the assignee of a task that
works on it (the task that added it, or a refinement task of it), reviewers and admins. Anyone
else gets 403, as for another person's task (``task_get_readable``).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from annotation.models import AnnotationTask, Masklet, MaskletRevision
from annotation.selectors.reviews import masklet_get
from dataplatform.errors import ForbiddenError
from dataplatform.roles import REVIEWER, has_role

# Statuses in which a refinement task's masklet takes the task's work: rejected (sent back by a
# reviewer), or an automatic candidate still in draft.
REWORK_STATUSES = (Masklet.Status.REJECTED, Masklet.Status.DRAFT)


def task_masklets_open(*, task: AnnotationTask, user) -> QuerySet[Masklet]:
    """The masklets ``task``'s work may save or submit; ``user`` holds its lease (check that first,
    with ``task_lock_held``)."""
    own_drafts = Q(task_id=task.pk, status=Masklet.Status.DRAFT)
    taskless_drafts = Q(task__isnull=True, status=Masklet.Status.DRAFT, current_revision__author=user)
    opened = own_drafts | taskless_drafts
    if task.masklet_id is not None:
        opened |= Q(pk=task.masklet_id, status__in=REWORK_STATUSES)
    return Masklet.objects.filter(opened, video_id=task.video_id)


def masklet_readers_filter(*, user) -> Q:
    """The masklets whose masks ``user`` may read, as a filter on ``Masklet``."""
    if has_role(user, REVIEWER):  # reviewers and admins read every masklet
        return Q()
    authored = MaskletRevision.objects.filter(masklet_id=OuterRef("pk"), author_id=user.pk)
    refining = AnnotationTask.objects.filter(masklet_id=OuterRef("pk"), assignee_id=user.pk)
    return Q(Exists(authored)) | Q(task__assignee_id=user.pk) | Q(Exists(refining))


def masklet_get_readable(*, masklet_id: int, user, with_masks: bool = True) -> Masklet:
    """The masklet with its current revision, if ``user`` may read its masks (404 if it does not
    exist, 403 if it is not theirs to read)."""
    masklet = masklet_get(masklet_id=masklet_id, with_masks=with_masks)
    if not Masklet.objects.filter(masklet_readers_filter(user=user), pk=masklet.pk).exists():
        raise ForbiddenError(f"Masklet {masklet_id} is not yours to read: its masks are for its authors, "
                             "the annotator of its task, reviewers and admins.")
    return masklet
