"""The data engine's metrics (the SAM 2 paper's Table 1 columns) and the dashboard's other
figures (throughput per day, acceptance rates, automatic against manual masklets), for admins."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers_queue import MetricsQuerySerializer, MetricsRowSerializer
from annotation.api.tasks import project_or_400
from annotation.models import Masklet
from annotation.selectors.dashboard import MAX_DAYS, dashboard
from annotation.selectors.metrics import engine_metrics
from dataplatform.api.base import MAX_ID, ApiView, validated_query
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
        rows = engine_metrics(group_by=query.get("group_by", "phase"),
                              project=project_or_400(query.get("project")))
        return Response(MetricsRowSerializer([row.as_dict() for row in rows], many=True).data)


class DashboardQuerySerializer(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    days = serializers.IntegerField(required=False, default=30, min_value=1, max_value=MAX_DAYS,
                                    help_text="The window: the last `days` days up to today.")


class ThroughputDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    masklets_submitted = serializers.IntegerField(help_text="Masklets the tasks submitted that day listed.")
    masklets_accepted = serializers.IntegerField(help_text="Accept decisions made that day.")
    frames_annotated = serializers.IntegerField(help_text="Annotated frames of the tasks submitted that day.")


class AcceptanceSerializer(serializers.Serializer):
    label = serializers.CharField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    decided = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="accepted / decided; null if none was.")


class AcceptanceByPhaseSerializer(AcceptanceSerializer):
    phase = serializers.IntegerField(source="key", allow_null=True,
                                     help_text="The decided revision's phase; null when it has none.")


class AcceptanceByKindSerializer(AcceptanceSerializer):
    kind = serializers.ChoiceField(source="key", choices=Masklet.Kind.choices)


class KindStatusSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Masklet.Kind.choices)
    draft = serializers.IntegerField()
    submitted = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    total = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateField(help_text="The window's first day.")
    end = serializers.DateField(help_text="The window's last day (today).")
    throughput = ThroughputDaySerializer(many=True, help_text="One row per day of the window, oldest first.")
    acceptance_by_phase = AcceptanceByPhaseSerializer(many=True, help_text="Decisions made in the window.")
    acceptance_by_kind = AcceptanceByKindSerializer(many=True, help_text="Decisions made in the window.")
    masklets_by_kind = KindStatusSerializer(many=True, help_text="Every masklet by kind and current status.")


@extend_schema(tags=["metrics"])
class DashboardApi(ApiView):
    """Throughput per day (masklets submitted and accepted, frames annotated), acceptance rates per
    phase and per kind, and automatic against manual masklets by status."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="metrics_dashboard", parameters=[DashboardQuerySerializer],
                   responses={200: DashboardSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        query = validated_query(request, DashboardQuerySerializer)
        figures = dashboard(days=query.get("days", 30), project=project_or_400(query.get("project")))
        return Response(DashboardSerializer(figures.as_dict()).data)
