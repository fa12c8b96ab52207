"""The masklet verifier: the signals recorded with each revision, the trained versions, their
scores on revisions, and the policy of automatic decisions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class RevisionSignals(models.Model):
    """What the engine recorded when it made a revision's masks (or what its masks give, for a
    revision made before the engine recorded them): the verifier's inputs."""

    class RecordedBy(models.TextChoices):
        ENGINE = "engine"
        MASKS = "masks"  # recomputed afterwards from the masks alone

    revision = models.OneToOneField("annotation.MaskletRevision", on_delete=models.CASCADE, related_name="signals")
    recorded_by = models.CharField(max_length=8, choices=RecordedBy.choices, default=RecordedBy.ENGINE)
    signals = models.JSONField(help_text="engine.verifier.revision_signals: per frame and per masklet.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"signals of revision {self.revision_id}"


class VerifierVersion(models.Model):
    """One trained verifier, with its metrics on held-out decisions."""

    number = models.PositiveIntegerField(unique=True)
    job = models.OneToOneField("dataplatform.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model = models.BinaryField(help_text="The fitted model (engine.verifier.VerifierModel.to_bytes).")
    sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, help_text="AUC, precision and recall on held-out decisions.")
    held_out_scores = models.JSONField(default=list, help_text="Calibrated out-of-fold score per decision.")
    held_out_labels = models.JSONField(default=list, help_text="The decision (accepted?) per held-out score.")
    decisions = models.PositiveIntegerField(help_text="Human decisions it was trained on.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                               name="verifier_one_active")]

    def __str__(self) -> str:
        return f"verifier v{self.number}"


class VerifierScore(models.Model):
    """A version's score of a revision: the calibrated probability that a reviewer accepts it."""

    revision = models.ForeignKey("annotation.MaskletRevision", on_delete=models.CASCADE,
                                 related_name="verifier_scores")
    version = models.ForeignKey(VerifierVersion, on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["revision", "version"], name="verifier_score_once")]

    def __str__(self) -> str:
        return f"{self.score:.3f} for revision {self.revision_id}"


class VerifierPolicy(models.Model):
    """The platform's one policy of automatic decisions (row id 1). Off by default."""

    enabled = models.BooleanField(default=False)
    target_precision = models.FloatField(default=0.98)
    auto_reject = models.BooleanField(default=False)
    audit_rate = models.FloatField(default=0.10, help_text="Share of automatic decisions sent to a human audit.")
    min_decisions = models.PositiveIntegerField(default=200,
                                                help_text="Human decisions needed before any automatic decision.")
    stopped_reason = models.TextField(blank=True, help_text="Why automatic decisions stopped by themselves.")
    stopped_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(target_precision__gt=0.5, target_precision__lte=1.0),
                                   name="verifier_policy_target_range"),
            models.CheckConstraint(condition=Q(audit_rate__gte=0.0, audit_rate__lte=1.0),
                                   name="verifier_policy_audit_range"),
        ]

    def __str__(self) -> str:
        return f"automatic decisions {'on' if self.enabled else 'off'} (target {self.target_precision:.0%})"
