"""Interactions: every prompt and action in a task, the telemetry the per-phase metrics come from.

Only prompts (clicks, boxes, masks), propagations and undos shape a session's replay; ``submit``
and ``remove`` (an object taken out of the task, recorded before its draft masklet goes) are
telemetry only."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Interaction(models.Model):
    class Kind(models.TextChoices):
        CLICK_POSITIVE = "click+"
        CLICK_NEGATIVE = "click-"
        BOX = "box"
        MASK = "mask"
        PROPAGATE = "propagate"
        UNDO = "undo"
        SUBMIT = "submit"
        REMOVE = "remove", "Object removed"

    task = models.ForeignKey("annotation.AnnotationTask", on_delete=models.CASCADE, related_name="interactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    frame_index = models.IntegerField(null=True, blank=True)
    object_number = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="Points, box, mask RLE, propagation range…")
    client_timestamp = models.DateTimeField(null=True, blank=True)
    server_timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    model_latency_ms = models.FloatField(null=True, blank=True)
    phase = models.PositiveSmallIntegerField(help_text="The task's phase, copied for the metrics.")
    model_version = models.ForeignKey("annotation.ModelVersion", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["server_timestamp", "id"]
        indexes = [models.Index(fields=["task", "server_timestamp"]), models.Index(fields=["phase", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} on frame {self.frame_index} (task {self.task_id})"
