"""A project's label set, as everyone with a role reads it (never empty: see ``label_default``)."""

from __future__ import annotations

from django.db.models import Count

from annotation.models import Label
from annotation.services.labels import label_default
from dataplatform.errors import NotFoundError
from dataplatform.models import Project


def project_labels(*, project: Project) -> list[Label]:
    """The project's labels, oldest first, each with ``object_count`` (how many masklets have it)."""
    label_default(project=project)
    return list(Label.objects.filter(project=project).annotate(object_count=Count("masklets")).order_by("id"))


def label_get(*, project: Project, label_id: int) -> Label:
    label = Label.objects.filter(project=project, pk=label_id).first()
    if label is None:
        raise NotFoundError(f"Project {project.pk} has no label {label_id}.")
    return label
