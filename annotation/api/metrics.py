"""The data engine's metrics (the SAM 2 paper's Table 1 columns), for admins."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers_queue import MetricsQuerySerializer, MetricsRowSerializer
from annotation.api.tasks import project_or_400
from annotation.selectors.metrics import engine_metrics
from dataplatform.api.base import ApiView, validated_query
from dataplatform.api.serializers import ErrorSerializer
from dataplatform.roles import IsAdminRole

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer}


@extend_schema(tags=["metrics"])
class MetricsApi(ApiView):
    """Per phase, annotator or model version: time per frame, share of frames edited, clicks per
    clicked frame, alignment with phase-1 masks, and counts; with the paper's figures by phase."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="metrics_table", parameters=[MetricsQuerySerializer],
                   responses={200: MetricsRowSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        query = validated_query(request, MetricsQuerySerializer)
        rows = engine_metrics(group_by=query.get("group_by", "phase"), project=project_or_400(query.get("project")))
        return Response(MetricsRowSerializer([row.as_dict() for row in rows], many=True).data)
