"""Job reads. Admins see every job; other users see the jobs they started."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from dataplatform.errors import NotFoundError
from dataplatform.models import Job
from dataplatform.roles import is_admin


def job_list_for(*, user, kind: str | None = None, status: str | None = None, video_id: int | None = None,
                 project_id: int | None = None) -> QuerySet[Job]:
    jobs = Job.objects.all()
    if not is_admin(user):
        jobs = jobs.filter(created_by=user)
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    if video_id is not None:
        jobs = jobs.filter(video_id=video_id)
    if project_id is not None:
        # A job names its project, or only its video (whose project counts).
        jobs = jobs.filter(Q(project_id=project_id) | Q(video__project_id=project_id))
    return jobs.order_by("-created_at", "-id")


def job_get_for(*, user, job_id: int) -> Job:
    """A job the user may see; someone else's job is answered as not found (no existence leak)."""
    job = job_list_for(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFoundError(f"Job {job_id} does not exist.")
    return job
