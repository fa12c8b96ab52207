"""Project reads."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from dataplatform.errors import NotFoundError
from dataplatform.models import Project, Video


def project_list() -> QuerySet[Project]:
    return Project.objects.annotate(video_count=Count("videos")).order_by("name")


def project_get(*, project_id: int) -> Project:
    project = project_list().filter(pk=project_id).first()
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def project_video_counts(*, project: Project) -> dict[str, int]:
    """Number of videos per status, every status present (0 when none), plus ``total``."""
    aggregates = {status: Count("pk", filter=Q(status=status)) for status in Video.Status.values}
    counts = Video.objects.filter(project=project).aggregate(total=Count("pk"), **aggregates)
    return {key: int(value or 0) for key, value in counts.items()}
