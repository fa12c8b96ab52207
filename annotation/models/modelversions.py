"""Model versions (SAM 2 checkpoints) and the retraining rounds that make new ones."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        VALIDATING = "validating"  # registered; its checkpoint is being checked: not usable yet
        READY = "ready"
        FAILED = "failed"  # its checkpoint did not load: never usable (message says why)

    name = models.CharField(max_length=200, unique=True)
    config_name = models.CharField(max_length=64, help_text="The engine config, e.g. micro or sam2.1_hiera_t.")
    engine_config = models.JSONField(default=dict, blank=True, help_text="Overrides of the named config.")
    checkpoint_key = models.CharField(max_length=1024, blank=True,
                                      help_text="Storage key of the weights; empty: the shipped weights.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    metrics = models.JSONField(default=dict, blank=True, help_text="J&F on the held-out split, per protocol.")
    is_active = models.BooleanField(default=False, help_text="The version new sessions use.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY, db_index=True)
    message = models.TextField(blank=True, help_text="Why the checkpoint was refused, when it was.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the checkpoint file as registered.")
    size_bytes = models.BigIntegerField(default=0)
    source = models.CharField(max_length=1024, blank=True, help_text="Where the checkpoint was registered from.")
    validation_job = models.OneToOneField("dataplatform.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="validated_model_version")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="modelversion_one_active"),
        ]

    def __str__(self) -> str:
        return self.name


class RetrainingRound(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        EVALUATING = "evaluating"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    base_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="rounds_based_here")
    data_selection = models.JSONField(default=dict, help_text="Phases, date range, split of accepted masklets.")
    hyperparameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    job = models.OneToOneField("dataplatform.Job", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="retraining_round")
    resulting_version = models.OneToOneField(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                             related_name="made_by_round")
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="succeeded") | Q(resulting_version__isnull=False),
                                   name="round_succeeded_has_version"),
        ]

    def __str__(self) -> str:
        return f"retraining round {self.pk} ({self.status})"
