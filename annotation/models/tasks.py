"""Annotation tasks: a unit of an annotator's work, leased so that two people never share one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dataplatform.models import Phase


class AnnotationTask(models.Model):
    class Kind(models.TextChoices):
        ANNOTATE = "annotate", "Segment new objects"
        REFINE = "refine", "Refine a masklet"

    class Status(models.TextChoices):
        QUEUED = "queued"
        LEASED = "leased"
        SUBMITTED = "submitted"
        CANCELLED = "cancelled"

    video = models.ForeignKey("dataplatform.Video", on_delete=models.CASCADE, related_name="tasks")
    masklet = models.ForeignKey("annotation.Masklet", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks", help_text="The masklet to refine, for refinement tasks.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ANNOTATE)
    phase = models.PositiveSmallIntegerField(choices=Phase.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    priority = models.IntegerField(default=0, help_text="Higher first.")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="annotation_tasks")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    model_version = models.ForeignKey("annotation.ModelVersion", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+",
                                      help_text="The model its session uses, fixed when the session opens.")
    # The interactive session: which GPU worker holds its features (its direct queue's routing key).
    session_worker = models.CharField(max_length=255, blank=True)
    session_opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        indexes = [
            models.Index(fields=["status", "phase", "priority", "created_at"]),
            # The queue's pick and the lease expiry scan read only these rows.
            models.Index(fields=["-priority", "created_at", "id"], condition=Q(status="queued"),
                         name="task_queue_pick"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="leased"), name="task_lease_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(phase__in=[1, 2, 3]), name="task_phase_valid"),
            # A leased task has a holder and an expiry; a queued one has neither.
            models.CheckConstraint(
                condition=~Q(status="leased") | Q(assignee__isnull=False, lease_expires_at__isnull=False),
                name="task_lease_complete",
            ),
            models.CheckConstraint(condition=~Q(status="queued") | Q(lease_expires_at__isnull=True),
                                   name="task_queued_not_leased"),
            models.CheckConstraint(condition=~Q(kind="refine") | Q(masklet__isnull=False),
                                   name="task_refine_has_masklet"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} task {self.pk} (phase {self.phase}, {self.status})"
