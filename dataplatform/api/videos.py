"""Videos: list and detail (every role), upload and URI registration, split, delete (admins)."""

from __future__ import annotations

import posixpath

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dataplatform.api.base import ApiView, ListApiView, validated_body, validated_query
from dataplatform.api.parsers import FormParser, JSONParser, MultiPartParser
from dataplatform.api.serializers import (
    ErrorSerializer,
    ProjectVideoFilterSerializer,
    VideoDetailSerializer,
    VideoFilterSerializer,
    VideoRegisterSerializer,
    VideoSerializer,
    VideoSplitResultSerializer,
    VideoSplitSerializer,
    VideoUpdateSerializer,
    VideoUploadSerializer,
    VideoWithJobSerializer,
)
from dataplatform.roles import IsAdminRole
from dataplatform.selectors.projects import project_get
from dataplatform.selectors.videos import video_get, video_list
from dataplatform.services.videos import video_delete, video_update, videos_set_split

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
PAGE_PARAMETERS = [OpenApiParameter("page", int, description="1-based page number."),
                   OpenApiParameter("page_size", int, description="Items per page (at most 500).")]


def _video_and_job(video, job) -> dict:
    return VideoWithJobSerializer({"video": video, "job": job}).data


@extend_schema(tags=["videos"])
class VideoListApi(ListApiView):
    @extend_schema(operation_id="videos_list", parameters=[VideoFilterSerializer, *PAGE_PARAMETERS],
                   responses={200: VideoSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        filters = validated_query(request, VideoFilterSerializer)
        if "project" in filters:
            filters["project_id"] = filters.pop("project")
        return self.paginate(request, video_list(**filters), VideoSerializer)


@extend_schema(tags=["videos"])
class ProjectVideosApi(ListApiView):
    """A project's videos (GET), and a video upload into it (POST, multipart, admins)."""

    write_permission_classes = [IsAdminRole]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="projects_videos_list", parameters=[ProjectVideoFilterSerializer,
                                                                    *PAGE_PARAMETERS],
                   responses={200: VideoSerializer(many=True), **ERRORS})
    def get(self, request: Request, project_id: int) -> Response:
        project = project_get(project_id=project_id)
        filters = validated_query(request, ProjectVideoFilterSerializer)
        return self.paginate(request, video_list(project_id=project.pk, **filters), VideoSerializer)

    @extend_schema(operation_id="projects_videos_upload", request={"multipart/form-data": VideoUploadSerializer},
                   responses={201: VideoWithJobSerializer, 503: ErrorSerializer, **ERRORS})
    def post(self, request: Request, project_id: int) -> Response:
        from dataplatform.services.ingest import video_create_from_upload

        project = project_get(project_id=project_id)
        data = validated_body(request, VideoUploadSerializer)
        uploaded = data["file"]
        video, job = video_create_from_upload(project=project, uploaded_file=uploaded,
                                              name=data.get("name") or uploaded.name, user=request.user)
        return Response(_video_and_job(video, job), status=status.HTTP_201_CREATED)


@extend_schema(tags=["videos"])
class ProjectVideoRegisterApi(ApiView):
    """Register a video already in storage (``s3://bucket/key`` or a storage key): ingest reads it there."""

    permission_classes = [IsAdminRole]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(operation_id="projects_videos_register", request=VideoRegisterSerializer,
                   responses={201: VideoWithJobSerializer, 503: ErrorSerializer, **ERRORS})
    def post(self, request: Request, project_id: int) -> Response:
        from dataplatform.services.ingest import video_register_uri

        project = project_get(project_id=project_id)
        data = validated_body(request, VideoRegisterSerializer)
        uri = data["uri"].strip()
        name = data.get("name") or posixpath.basename(uri.rstrip("/")) or uri
        video, job = video_register_uri(project=project, uri=uri, name=name, user=request.user)
        return Response(_video_and_job(video, job), status=status.HTTP_201_CREATED)


@extend_schema(tags=["videos"])
class VideoDetailApi(ApiView):
    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="videos_retrieve", responses={200: VideoDetailSerializer, **ERRORS})
    def get(self, request: Request, video_id: int) -> Response:
        return Response(VideoDetailSerializer(video_get(video_id=video_id)).data)

    @extend_schema(operation_id="videos_update", request=VideoUpdateSerializer,
                   responses={200: VideoDetailSerializer, **ERRORS})
    def patch(self, request: Request, video_id: int) -> Response:
        video = video_get(video_id=video_id)
        data = validated_body(request, VideoUpdateSerializer, partial=True)
        video = video_update(video=video, **data)
        return Response(VideoDetailSerializer(video).data)

    @extend_schema(operation_id="videos_destroy",
                   responses={204: OpenApiResponse(description="Deleted, with its stored files."),
                              409: ErrorSerializer, **ERRORS})
    def delete(self, request: Request, video_id: int) -> Response:
        video_delete(video=video_get(video_id=video_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["videos"])
class VideoSplitApi(ApiView):
    """Assign many videos to one split (train/val/test/unassigned) at once: all or none (admins)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="videos_split", request=VideoSplitSerializer,
                   responses={200: VideoSplitResultSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, VideoSplitSerializer)
        updated = videos_set_split(video_ids=data["videos"], split=data["split"])
        return Response({"updated": updated, "split": data["split"]})
