"""Reviews: a QA reviewer's decision on one masklet revision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Review(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept"
        REJECT = "reject"

    revision = models.ForeignKey("annotation.MaskletRevision", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField(blank=True)
    # Separation of duties: a decision needs the review lease on the masklet; an admin may decide
    # without it, and that override is kept on the decision for audit.
    lease_override = models.BooleanField(default=False,
                                         help_text="An admin decided without holding the review lease.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One decision per revision: the second of two concurrent reviewers loses.
            models.UniqueConstraint(fields=["revision"], name="review_one_decision_per_revision"),
            models.CheckConstraint(condition=~Q(decision="reject") | ~Q(reason=""),
                                   name="review_reject_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of revision {self.revision_id}"
