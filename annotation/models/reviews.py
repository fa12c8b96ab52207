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
    # A person's decision has a reviewer; an automatic one has the verifier's version and score.
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reviews")
    verifier_version = models.ForeignKey("annotation.VerifierVersion", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="automatic_reviews")
    verifier_score = models.FloatField(null=True, blank=True)
    # An automatic decision sampled for a human audit; the audit's outcome.
    audit_requested = models.BooleanField(default=False)
    audit_decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    audited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    audited_at = models.DateTimeField(null=True, blank=True)
    # A person reversed this (automatic) decision: their own decision is a new Review.
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reversed_at = models.DateTimeField(null=True, blank=True)
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
            # One standing decision per revision: the second of two concurrent reviewers loses.
            # A reversed (automatic) decision stays, beside the person's decision that replaced it.
            models.UniqueConstraint(fields=["revision"], condition=Q(reversed_at__isnull=True),
                                    name="review_one_decision_per_revision"),
            models.CheckConstraint(condition=Q(reviewer__isnull=False, verifier_version__isnull=True)
                                   | Q(reviewer__isnull=True, verifier_version__isnull=False,
                                       verifier_score__isnull=False),
                                   name="review_by_person_or_verifier"),
            models.CheckConstraint(condition=~Q(decision="reject") | ~Q(reason=""),
                                   name="review_reject_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of revision {self.revision_id}"

    @property
    def is_automatic(self) -> bool:
        return self.verifier_version_id is not None


class ReviewComment(models.Model):
    """A reviewer's note pinned to one frame of the revision under review: the annotator of the
    rework task sees it on that frame."""

    masklet = models.ForeignKey("annotation.Masklet", on_delete=models.CASCADE, related_name="review_comments")
    revision = models.ForeignKey("annotation.MaskletRevision", on_delete=models.CASCADE,
                                 related_name="review_comments")
    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.CASCADE, related_name="comments",
                               help_text="The decision it came with (none while the review is under way).")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_comments")
    frame_index = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["frame_index", "id"]
        indexes = [models.Index(fields=["masklet", "revision"], name="review_comment_masklet_rev")]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="review_comment_has_text")]

    def __str__(self) -> str:
        return f"comment on frame {self.frame_index} of revision {self.revision_id}"
