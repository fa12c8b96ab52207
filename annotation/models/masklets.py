"""Masklets (an object tracked through a video) and their immutable revisions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dataplatform.models import Phase


class ImmutableRowError(Exception):
    """Raised on an attempt to change a row that is never edited in place."""


class Masklet(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual"
        AUTO = "auto"

    class Status(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    video = models.ForeignKey("dataplatform.Video", on_delete=models.CASCADE, related_name="masklets")
    object_number = models.PositiveIntegerField(help_text="The object's number within its video (SA-V's index).")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MANUAL, db_index=True)
    # PROTECT: a label in use cannot vanish (the label set's delete answers 409 first).
    label = models.ForeignKey("annotation.Label", on_delete=models.PROTECT, related_name="masklets",
                              help_text="What the object is; a label of its video's project.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # The task whose annotator added the object: a task sees its own objects only, so two people
    # annotating the same video never see each other's drafts.
    task = models.ForeignKey("annotation.AnnotationTask", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="created_masklets", db_index=True,
                             help_text="The task that added it; empty for automatic and imported masklets.")
    # RESTRICT, not PROTECT: a revision can't be deleted alone, but deleting the video takes both.
    current_revision = models.OneToOneField("annotation.MaskletRevision", null=True, blank=True,
                                            on_delete=models.RESTRICT, related_name="current_of")
    # Verification lease: a reviewer holds the masklet while deciding.
    review_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    review_lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["video_id", "object_number"]
        indexes = [
            # The verification queue's scan.
            models.Index(fields=["updated_at", "id"], condition=Q(status__in=["submitted", "draft"]),
                         name="masklet_review_queue"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["video", "object_number"], name="masklet_unique_object_per_video"),
            models.CheckConstraint(
                condition=Q(review_assignee__isnull=True, review_lease_expires_at__isnull=True)
                | Q(review_assignee__isnull=False, review_lease_expires_at__isnull=False),
                name="masklet_review_lease_complete",
            ),
            models.CheckConstraint(condition=Q(status="draft") | Q(current_revision__isnull=False),
                                   name="masklet_decided_has_revision"),
        ]

    def __str__(self) -> str:
        return f"masklet {self.object_number} of video {self.video_id}"


class MaskletRevision(models.Model):
    """One version of a masklet's masks. Never updated in place: a change is a new revision."""

    masklet = models.ForeignKey(Masklet, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(help_text="1, 2, 3… within the masklet.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.RESTRICT, related_name="children")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", help_text="Empty for automatic masklets and imports.")
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, null=True, blank=True)
    model_version = models.ForeignKey("annotation.ModelVersion", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    # {"<frame index>": {"size": [H, W], "counts": "..."}} over every annotated frame; an absent
    # object is an explicit all-zero RLE, as in SA-V files.
    masks = models.JSONField()
    edited_frames = models.JSONField(default=list, blank=True, help_text="Frame indices edited by hand.")
    edited_frame_count = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Edited frames when only their number is known (imported SA-V files); else len(edited_frames).")
    stability_scores = models.JSONField(null=True, blank=True, help_text="Per frame, automatic masklets only.")
    source = models.CharField(max_length=32, blank=True, help_text="annotation, propagation, auto, import…")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["masklet_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["masklet", "number"], name="revision_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
            models.CheckConstraint(condition=Q(phase__isnull=True) | Q(phase__in=[1, 2, 3]),
                                   name="revision_phase_valid"),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of masklet {self.masklet_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError("A masklet revision is never edited in place: create a new revision.")
        super().save(*args, **kwargs)
