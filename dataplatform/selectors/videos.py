"""Video reads, and the URLs a browser fetches a video's frames from."""

from __future__ import annotations

from django.db.models import QuerySet

from dataplatform import storage
from dataplatform.errors import NotFoundError
from dataplatform.models import Video


def video_list(*, project_id: int | None = None, status: str | None = None, split: str | None = None,
               search: str | None = None) -> QuerySet[Video]:
    """Videos, newest first, filtered by project, status, split and a case-insensitive name search."""
    videos = Video.objects.select_related("project")
    if project_id is not None:
        videos = videos.filter(project_id=project_id)
    if status:
        videos = videos.filter(status=status)
    if split:
        videos = videos.filter(split=split)
    if search:
        videos = videos.filter(name__icontains=search)
    return videos.order_by("-created_at", "-id")


def video_get(*, video_id: int) -> Video:
    video = Video.objects.select_related("project").filter(pk=video_id).first()
    if video is None:
        raise NotFoundError(f"Video {video_id} does not exist.")
    return video


def video_frame_urls(*, video: Video) -> list[str]:
    """One URL per annotated frame, in frame order (presigned on S3); none until the video is ready."""
    if video.status != Video.Status.READY:
        return []
    return storage.urls_for([storage.frame_key(video.pk, index) for index in range(video.frame_count)])


def video_thumbnail_url(*, video: Video) -> str | None:
    return storage.url_for(video.thumbnail_key) if video.thumbnail_key else None
