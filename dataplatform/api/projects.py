"""Projects: everyone with a role reads them; admins create and change them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dataplatform.api.base import ApiView, ListApiView, validated_body
from dataplatform.api.serializers import (
    ErrorSerializer,
    ProjectCreateSerializer,
    ProjectDetailSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from dataplatform.roles import IsAdminRole
from dataplatform.selectors.projects import project_get, project_list, project_video_counts
from dataplatform.services.projects import project_create, project_update

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def _detail(project) -> dict:
    counts = project_video_counts(project=project)
    return ProjectDetailSerializer(project, context={"video_counts": counts}).data


@extend_schema(tags=["projects"])
class ProjectListApi(ListApiView):
    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="projects_list", responses={200: ProjectSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return self.paginate(request, project_list(), ProjectSerializer)

    @extend_schema(operation_id="projects_create", request=ProjectCreateSerializer,
                   responses={201: ProjectDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, ProjectCreateSerializer)
        project = project_create(**data, created_by=request.user)
        return Response(_detail(project_get(project_id=project.pk)), status=status.HTTP_201_CREATED)


@extend_schema(tags=["projects"])
class ProjectDetailApi(ApiView):
    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="projects_retrieve", responses={200: ProjectDetailSerializer, **ERRORS})
    def get(self, request: Request, project_id: int) -> Response:
        return Response(_detail(project_get(project_id=project_id)))

    @extend_schema(operation_id="projects_update", request=ProjectUpdateSerializer,
                   responses={200: ProjectDetailSerializer, **ERRORS})
    def patch(self, request: Request, project_id: int) -> Response:
        project = project_get(project_id=project_id)
        data = validated_body(request, ProjectUpdateSerializer, partial=True)
        project_update(project=project, **data)
        return Response(_detail(project_get(project_id=project_id)))
