"""Labels: a project's label set (what its objects are: "person", "car"…); every masklet has one."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

MAX_LABEL_NAME = 64
DEFAULT_LABEL_NAME = "object"
DEFAULT_LABEL_COLOR = "#1f77b4"


class Label(models.Model):
    project = models.ForeignKey("dataplatform.Project", on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=MAX_LABEL_NAME, help_text="Unique within the project, e.g. \"person\".")
    color = models.CharField(max_length=7, default=DEFAULT_LABEL_COLOR, help_text="#rrggbb")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name_per_project"),
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9a-f]{6}$"), name="label_color_hex"),
            models.CheckConstraint(condition=~Q(name=""), name="label_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name
