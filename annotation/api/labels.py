"""A project's label set: everyone with a role reads it; admins add, rename, recolour and delete
labels (a label in use cannot be deleted: 409)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.models.labels import MAX_LABEL_NAME
from annotation.selectors.labels import label_get, project_labels
from annotation.services.labels import label_create, label_delete, label_update
from dataplatform.api.base import ApiView, validated_body
from dataplatform.api.serializers import ErrorSerializer
from dataplatform.roles import IsAdminRole
from dataplatform.selectors.projects import project_get

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer}


class LabelRefSerializer(serializers.Serializer):
    """A label as shown next to an object."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField(help_text="#rrggbb")


class LabelSerializer(LabelRefSerializer):
    project = serializers.IntegerField(source="project_id")
    objects = serializers.IntegerField(help_text="How many objects (masklets) have this label.")


class LabelCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_LABEL_NAME)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, help_text="#rrggbb; default: the next "
                                   "colour of a palette.", error_messages={"invalid": "A colour is #rrggbb, e.g. #1f77b4."})


class LabelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_LABEL_NAME, required=False)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, help_text="#rrggbb",
                                   error_messages={"invalid": "A colour is #rrggbb, e.g. #1f77b4."})


def _with_count(label) -> dict:
    """The label as the API gives it, with how many objects have it (counted here unless annotated)."""
    count = label.object_count if hasattr(label, "object_count") else label.masklets.count()
    return LabelSerializer({"id": label.pk, "name": label.name, "color": label.color, "project_id": label.project_id,
                            "objects": count}).data


@extend_schema(tags=["labels"])
class ProjectLabelListApi(ApiView):
    """The project's label set (any role; never empty); add a label (admins)."""

    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="projects_labels_list", responses={200: LabelSerializer(many=True), **ERRORS})
    def get(self, request: Request, project_id: int) -> Response:
        return Response([_with_count(label) for label in project_labels(project=project_get(project_id=project_id))])

    @extend_schema(operation_id="projects_labels_create", request=LabelCreateSerializer,
                   responses={201: LabelSerializer, **ERRORS})
    def post(self, request: Request, project_id: int) -> Response:
        project = project_get(project_id=project_id)
        data = validated_body(request, LabelCreateSerializer)
        label = label_create(project=project, name=data["name"], color=data.get("color"))
        return Response(_with_count(label), status=status.HTTP_201_CREATED)


@extend_schema(tags=["labels"])
class ProjectLabelDetailApi(ApiView):
    """Rename or recolour a label; delete an unused one (409 while objects have it). Admins."""

    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="projects_labels_update", request=LabelUpdateSerializer,
                   responses={200: LabelSerializer, **ERRORS})
    def patch(self, request: Request, project_id: int, label_id: int) -> Response:
        label = label_get(project=project_get(project_id=project_id), label_id=label_id)
        data = validated_body(request, LabelUpdateSerializer, partial=True)
        return Response(_with_count(label_update(label=label, name=data.get("name"), color=data.get("color"))))

    @extend_schema(operation_id="projects_labels_delete", request=None, responses={204: None, **ERRORS})
    def delete(self, request: Request, project_id: int, label_id: int) -> Response:
        label_delete(label=label_get(project=project_get(project_id=project_id), label_id=label_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
