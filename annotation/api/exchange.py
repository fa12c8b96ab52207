"""Exports and imports: start the Job here; follow it at ``/api/jobs/{id}/`` (its result has the link).

Admins only: an export holds a project's whole dataset, an import writes ground truth.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.models import Masklet
from annotation.services.exports import (
    ACCEPTED_ONLY,
    FORMATS,
    KINDS,
    MASKLET_SELECTIONS,
    export_download_url,
    export_start,
)
from annotation.services.imports import IMPORT_STATUSES, import_start
from dataplatform.api.base import MAX_ID, ApiView, validated_body
from dataplatform.api.parsers import FormParser, JSONParser, MultiPartParser
from dataplatform.api.serializers import ErrorSerializer, JobSerializer
from dataplatform.errors import ApplicationError
from dataplatform.roles import IsAdminRole
from dataplatform.selectors.jobs import job_get_for
from dataplatform.selectors.projects import project_get
from dataplatform.selectors.videos import video_get

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}

FORMAT_HELP = ("sav: SA-V JSON files per video (manual and auto); coco: COCO instance segmentation with RLE "
               "and tracks; davis: indexed palette PNGs per frame; sav_png: per-object binary PNGs "
               "(SA-V val/test layout). COCO's categories are the project's labels; the other formats have a label "
               "map, labels.json, beside them.")


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS, help_text=FORMAT_HELP)
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                       help_text="Export the project's ready videos…")
    videos = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                   allow_empty=False, min_length=1, max_length=10000, help_text="…or these videos.")
    masklets = serializers.ChoiceField(choices=MASKLET_SELECTIONS, default=ACCEPTED_ONLY,
                                       help_text="accepted (default): the dataset; all: every masklet with masks.")
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=KINDS), default=list(KINDS),
                                  allow_empty=False, min_length=1, max_length=2, help_text="manual and/or auto. Default both.")

    def validate(self, attrs: dict) -> dict:
        if ("project" in attrs) == ("videos" in attrs):
            raise serializers.ValidationError("Give either project or videos.")
        return attrs


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(), allow_empty=False, min_length=1, max_length=3,
        help_text="One or two SA-V JSON files (the video's manual and/or auto file), or one zip of DAVIS PNG "
                  "folders (<video>/<frame>.png indexed, or <video>/<object>/<frame>.png binary); one PNG "
                  "per annotated frame. With them, optionally, the label map (labels.json) of an export: the "
                  "objects get the labels it names (created in the project when missing).")
    status = serializers.ChoiceField(choices=IMPORT_STATUSES, default=Masklet.Status.ACCEPTED,
                                     help_text="Status of the new masklets. Default accepted (ground truth).")
    kind = serializers.ChoiceField(choices=Masklet.Kind.choices, default=Masklet.Kind.MANUAL,
                                   help_text="Kind of masklets read from PNGs; SA-V files carry their own.")


class ExportDownloadSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Presigned on S3; valid for S3_PRESIGNED_EXPIRY seconds.")
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()


@extend_schema(tags=["exchange"])
class ExportCreateApi(ApiView):
    permission_classes = [IsAdminRole]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(operation_id="exports_create", request=ExportCreateSerializer,
                   responses={202: JobSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, ExportCreateSerializer)
        project = project_get(project_id=data["project"]) if "project" in data else None
        job = export_start(format=data["format"], project=project, video_ids=data.get("videos"),
                           masklets=data["masklets"], kinds=data["kinds"], created_by=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["exchange"])
class ExportDownloadApi(ApiView):
    """A fresh download link of a finished export (the link in the Job's result expires)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="exports_download", responses={200: ExportDownloadSerializer, 409: ErrorSerializer,
                                                               **ERRORS})
    def get(self, request: Request, job_id: int) -> Response:
        job = job_get_for(user=request.user, job_id=job_id)
        url = export_download_url(job=job)
        return Response({"url": url, "filename": job.result.get("filename", ""),
                         "size_bytes": job.result.get("size_bytes", 0)})


@extend_schema(tags=["exchange"])
class VideoImportApi(ApiView):
    permission_classes = [IsAdminRole]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="videos_imports_create", request={"multipart/form-data": ImportUploadSerializer},
                   responses={202: JobSerializer, **ERRORS})
    def post(self, request: Request, video_id: int) -> Response:
        video = video_get(video_id=video_id)
        data = validated_body(request, ImportUploadSerializer)
        for uploaded in data["file"]:
            if uploaded.size > settings.MAX_UPLOAD_BYTES:
                raise ApplicationError(f"{uploaded.name} is larger than the upload limit "
                                       f"({settings.MAX_UPLOAD_BYTES // 1024**2} MiB).")
        job = import_start(video=video, uploads=[(f.name, f) for f in data["file"]], status=data["status"],
                           kind=data["kind"], created_by=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
