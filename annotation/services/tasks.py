"""The annotation task queue: create tasks, lease the next one, keep the lease alive, give it back,
submit the work.

Leases. A leased task has an assignee and an expiry (``TASK_LEASE_SECONDS`` from now, default
900 s); heartbeats push the expiry forward. A lease that expired goes back to the queue, lazily
(``task_next_for`` hands expired leases out like queued tasks) and by the periodic
``tasks_expire_leases`` (Celery beat: ``jobs.expire_task_leases``).

Concurrency. ``task_next_for`` picks its task with ``SELECT … FOR UPDATE SKIP LOCKED``: many
annotators asking at once each lock a different row, and nobody waits on another's pick. The
user's own row is locked first, so one person asking twice at once still gets one task.

Reserved tasks. A queued task with an assignee is kept for that person (a rejected manual masklet
goes back to its author): only they lease it. When such a task is released or its lease expires,
it is kept for the author again (see ``_reserved_for``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from annotation.models import AnnotationTask, Interaction, Masklet
from annotation.selectors.masklets import task_masklets_open
from annotation.selectors.tasks import task_lock_held
from dataplatform.errors import ApplicationError, ConflictError, ForbiddenError
from dataplatform.models import Phase, Project, Video

MAX_TASKS_PER_CALL = 1000
# Rework of a rejected masklet comes before new work.
REWORK_PRIORITY = 100


def task_lease_duration() -> timedelta:
    return timedelta(seconds=getattr(settings, "TASK_LEASE_SECONDS", 900))


def _reserved_for() -> Subquery:
    """Who a task returning to the queue is kept for: the author of the current revision of the
    manual masklet it refines; nobody for other tasks (an SQL expression, for bulk updates)."""
    return Subquery(
        Masklet.objects.filter(pk=OuterRef("masklet_id"), kind=Masklet.Kind.MANUAL)
        .values("current_revision__author")[:1]
    )


def tasks_requeue(queryset) -> int:
    """Put tasks back in the queue, unleased; a rework task is kept for its masklet's author again."""
    return queryset.update(status=AnnotationTask.Status.QUEUED, lease_expires_at=None, heartbeat_at=None,
                           assignee=Case(When(kind=AnnotationTask.Kind.REFINE, then=_reserved_for()),
                                         default=Value(None)))


def task_create(*, video: Video, kind: str = AnnotationTask.Kind.ANNOTATE, masklet: Masklet | None = None,
                phase: int | None = None, priority: int = 0, reserved_for=None) -> AnnotationTask:
    """One queued task on a ready video; its phase defaults to the video's project's phase."""
    if video.status != Video.Status.READY:
        raise ApplicationError(f"Video {video.pk} is not ready for annotation (status: {video.status}).")
    if kind == AnnotationTask.Kind.REFINE and masklet is None:
        raise ApplicationError("A refinement task needs the masklet to refine.")
    if masklet is not None and masklet.video_id != video.pk:
        raise ApplicationError(f"Masklet {masklet.pk} belongs to another video.")
    if phase is None:
        phase = Project.objects.values_list("phase", flat=True).get(pk=video.project_id)
    if phase not in Phase.values:
        raise ApplicationError(f"Phase must be one of {Phase.values}, got {phase!r}.")
    return AnnotationTask.objects.create(video=video, kind=kind, masklet=masklet, phase=phase,
                                         priority=priority, assignee=reserved_for)


def tasks_create_for_video(*, video: Video, count: int = 1, priority: int = 0) -> list[AnnotationTask]:
    """``count`` annotation tasks on a ready video, in its project's current phase (admins)."""
    if not 1 <= count <= MAX_TASKS_PER_CALL:
        raise ApplicationError(f"count must be between 1 and {MAX_TASKS_PER_CALL}.")
    with transaction.atomic():
        return [task_create(video=video, priority=priority) for _ in range(count)]


def _lock_user(user) -> None:
    # Serialises one person's queue calls: two "next" at once must not lease them two tasks.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def _held_by(user, now: datetime):
    return AnnotationTask.objects.filter(status=AnnotationTask.Status.LEASED, assignee=user,
                                         lease_expires_at__gt=now)


def task_next_for(*, user, project: Project | None = None, phase: int | None = None) -> AnnotationTask | None:
    """Lease the next task to ``user``, or ``None`` when the queue is empty.

    A user who already holds a live lease gets that task back (its lease renewed), whatever the
    filters: one task at a time. Otherwise the pick is, among queued tasks open to anyone or kept
    for this user and tasks whose lease expired: the user's reserved tasks first, then higher
    priority, then older. Safe under concurrency (``SELECT … FOR UPDATE SKIP LOCKED``).
    """
    now = timezone.now()
    expires = now + task_lease_duration()
    with transaction.atomic():
        _lock_user(user)
        held = _held_by(user, now).select_for_update(of=("self",)).order_by("lease_expires_at", "id").first()
        if held is not None:
            held.lease_expires_at, held.heartbeat_at = expires, now
            held.save(update_fields=["lease_expires_at", "heartbeat_at"])
            return held
        open_to_user = (Q(status=AnnotationTask.Status.QUEUED) & (Q(assignee__isnull=True) | Q(assignee=user))
                        | Q(status=AnnotationTask.Status.LEASED, lease_expires_at__lte=now))
        candidates = AnnotationTask.objects.filter(open_to_user, video__status=Video.Status.READY)
        if project is not None:
            candidates = candidates.filter(video__project=project)
        if phase is not None:
            candidates = candidates.filter(phase=phase)
        task = (candidates
                .annotate(reserved=Case(When(status=AnnotationTask.Status.QUEUED, assignee=user, then=1),
                                        default=0, output_field=IntegerField()))
                .order_by("-reserved", "-priority", "created_at", "id")
                .select_for_update(skip_locked=True, of=("self",))
                .first())
        if task is None:
            return None
        task.status, task.assignee = AnnotationTask.Status.LEASED, user
        task.lease_expires_at, task.heartbeat_at = expires, now
        task.save(update_fields=["status", "assignee", "lease_expires_at", "heartbeat_at"])
        return task


def task_heartbeat(*, task: AnnotationTask, user) -> AnnotationTask:
    """Extend the user's lease on the task to ``TASK_LEASE_SECONDS`` from now."""
    now = timezone.now()
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        locked.lease_expires_at, locked.heartbeat_at = now + task_lease_duration(), now
        locked.save(update_fields=["lease_expires_at", "heartbeat_at"])
    return locked


def task_release(*, task: AnnotationTask, user) -> AnnotationTask:
    """Give the task back to the queue (kept for its reserved annotator, if any)."""
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        tasks_requeue(AnnotationTask.objects.filter(pk=locked.pk))
    locked.refresh_from_db()
    return locked


def tasks_expire_leases(*, now: datetime | None = None) -> list[int]:
    """Return every task whose lease expired to the queue; the ids returned. Periodic."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(AnnotationTask.objects.filter(status=AnnotationTask.Status.LEASED, lease_expires_at__lte=now)
                   .select_for_update(skip_locked=True).values_list("pk", flat=True))
        if ids:
            tasks_requeue(AnnotationTask.objects.filter(pk__in=ids))
    return ids


def _masklets_to_submit(*, task: AnnotationTask, user, masklet_ids: Iterable[int] | None) -> list[Masklet]:
    """The masklets a submit sends to verification, locked: those named (each must be open to the
    task, else 403 naming them), else a refinement task's masklet, else the open ones with masks."""
    opened = task_masklets_open(task=task, user=user).select_for_update(of=("self",))
    if masklet_ids is not None:
        ids = sorted(set(masklet_ids))
        masklets = list(opened.filter(pk__in=ids))
        refused = sorted(set(ids) - {m.pk for m in masklets})
        if refused:
            raise ForbiddenError(f"Masklets {refused} are not this task's to submit: a task submits its own "
                                 "objects while they are drafts (a refinement task, its masklet under rework).",
                                 {"masklets": refused})
    elif task.masklet_id is not None:
        masklets = list(opened.filter(pk=task.masklet_id))
    else:
        masklets = list(opened.filter(current_revision__isnull=False))
    if not masklets:
        raise ApplicationError("Nothing to submit: this task has no masklet with masks yet.")
    for masklet in masklets:
        if masklet.current_revision_id is None:
            raise ApplicationError(f"Masklet {masklet.pk} has no masks yet; segment it or leave it out.")
        if masklet.current_revision.reviews.exists():
            raise ConflictError(f"The current masks of masklet {masklet.pk} were already reviewed; "
                                "change them before submitting again.")
    return masklets


def task_submit(*, task: AnnotationTask, user, masklet_ids: Iterable[int] | None = None,
                client_timestamp: datetime | None = None) -> AnnotationTask:
    """End the task: its masklets go to verification, a ``submit`` interaction is recorded.

    The masklets: ``masklet_ids`` when given, else the refined masklet of a refinement task, else
    the task's draft objects that have masks; always among the masklets open to the task
    (``task_masklets_open``: never another task's objects, nor a masklet past draft). Each needs
    masks that were not reviewed yet.
    """
    from annotation.services.sessions import session_save  # sessions builds on this module

    now = timezone.now()
    with transaction.atomic():
        locked = task_lock_held(task=task, user=user)
        # Prompt answers not yet saved as revisions (phase 1 never propagates) are saved first,
        # so what the annotator saw is what goes to verification.
        session_save(task=locked, user=user)
        masklets = _masklets_to_submit(task=locked, user=user, masklet_ids=masklet_ids)
        Masklet.objects.filter(pk__in=[m.pk for m in masklets]).update(
            status=Masklet.Status.SUBMITTED, review_assignee=None, review_lease_expires_at=None, updated_at=now)
        Interaction.objects.create(
            task=locked, user=user, kind=Interaction.Kind.SUBMIT, phase=locked.phase,
            model_version_id=locked.model_version_id, client_timestamp=client_timestamp or now,
            payload={"masklets": [{"masklet": m.pk, "revision": m.current_revision_id} for m in masklets]},
        )
        locked.status, locked.submitted_at = AnnotationTask.Status.SUBMITTED, now
        locked.lease_expires_at = None
        locked.save(update_fields=["status", "submitted_at", "lease_expires_at"])
    return locked
