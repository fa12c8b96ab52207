"""The masklet verifier: its versions with their held-out metrics, the policy of automatic
decisions (admins), training a new version (a Job), the audit queue and reversals (reviewers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers_queue import ReviewSerializer
from annotation.models import Review, VerifierPolicy, VerifierVersion
from annotation.services.verifier_decisions import (
    audit_precision,
    audit_queue,
    review_audit,
    review_reverse,
    verifier_blocked_reason,
)
from annotation.services.verifiers import (
    verifier_active,
    verifier_policy,
    verifier_policy_update,
    verifier_thresholds,
    verifier_training_start,
)
from dataplatform.api.base import ApiView, validated_body
from dataplatform.api.serializers import ErrorSerializer, JobSerializer
from dataplatform.errors import NotFoundError
from dataplatform.roles import IsAdminRole, IsReviewer

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
LIST_LIMIT = 50
MAX_REASON = 2000


class VerifierVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = VerifierVersion
        fields = ["number", "is_active", "decisions", "metrics", "created_at"]
        read_only_fields = fields


class VerifierPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = VerifierPolicy
        fields = ["enabled", "target_precision", "auto_reject", "audit_rate", "min_decisions", "stopped_reason",
                  "stopped_at", "updated_at"]
        read_only_fields = ["stopped_reason", "stopped_at", "updated_at"]
        extra_kwargs = {"target_precision": {"min_value": 0.51, "max_value": 1.0},
                        "audit_rate": {"min_value": 0.0, "max_value": 1.0},
                        "min_decisions": {"min_value": 20, "max_value": 1_000_000}}


class ThresholdsSerializer(serializers.Serializer):
    accept = serializers.FloatField(allow_null=True, help_text="Auto-accept at or above this score.")
    reject = serializers.FloatField(allow_null=True, help_text="Auto-reject at or below (when the policy does).")
    held_out_precision = serializers.FloatField(allow_null=True)
    held_out_share = serializers.FloatField(allow_null=True, help_text="Share of held-out decisions auto-accepted.")


class AuditMeasureSerializer(serializers.Serializer):
    audited = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)


class AuditsSerializer(serializers.Serializer):
    accept = AuditMeasureSerializer()
    reject = AuditMeasureSerializer()


class VerifierStateSerializer(serializers.Serializer):
    policy = VerifierPolicySerializer()
    active = VerifierVersionSerializer(allow_null=True)
    thresholds = ThresholdsSerializer(allow_null=True)
    blocked_reason = serializers.CharField(help_text="Why no automatic decision is made now; empty when they are.")
    audits = AuditsSerializer(help_text="The verifier's real precision, measured by human audits.")
    versions = VerifierVersionSerializer(many=True, help_text=f"The latest {LIST_LIMIT} versions.")


def _state() -> dict:
    policy = verifier_policy()
    active = verifier_active()
    return {"policy": policy, "active": active,
            "thresholds": None if active is None else vars(verifier_thresholds(version=active, policy=policy)),
            "blocked_reason": verifier_blocked_reason(policy), "audits": audit_precision(),
            "versions": list(VerifierVersion.objects.order_by("-number")[:LIST_LIMIT])}


@extend_schema(tags=["verifier"])
class VerifierApi(ApiView):
    """The verifier (admins): versions with precision, recall and AUC on held-out decisions, the
    policy of automatic decisions, its thresholds, and what the audits measured. PATCH changes the
    policy (off by default; switching it on clears why it stopped)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="verifier_retrieve", responses={200: VerifierStateSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(VerifierStateSerializer(_state()).data)

    @extend_schema(operation_id="verifier_policy_update", request=VerifierPolicySerializer(partial=True),
                   responses={200: VerifierStateSerializer, **ERRORS})
    def patch(self, request: Request) -> Response:
        serializer = VerifierPolicySerializer(verifier_policy(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        verifier_policy_update(user=request.user, **serializer.validated_data)
        return Response(VerifierStateSerializer(_state()).data)


@extend_schema(tags=["verifier"])
class VerifierTrainApi(ApiView):
    """Train a new verifier version on every human decision so far (admins): a Job; follow it at
    ``/api/jobs/{id}/``. 409 while one is training."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="verifier_train", request=None,
                   responses={202: JobSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        job = verifier_training_start(user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class AutomaticReviewSerializer(ReviewSerializer):
    verifier_version = serializers.IntegerField(source="verifier_version.number", read_only=True, allow_null=True)
    audit_decision = serializers.CharField(read_only=True, help_text="The auditor's decision; empty until audited.")

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "verifier_version", "verifier_score", "audit_requested",
                  "audit_decision", "reversed_at"]
        read_only_fields = fields


@extend_schema(tags=["verifier"])
class AuditListApi(ApiView):
    """The audit queue (reviewers): automatic decisions sampled for a human check, oldest first."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="verifier_audits_list", responses={200: AutomaticReviewSerializer(many=True),
                                                                  **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(AutomaticReviewSerializer(audit_queue()[:LIST_LIMIT], many=True).data)


class AuditSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Review.Decision.choices, help_text="What you decide on the masks.")
    reason = serializers.CharField(max_length=MAX_REASON, required=False, allow_blank=True,
                                   help_text="Needed when you reject what the verifier accepted.")


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_REASON, required=False, allow_blank=True,
                                   help_text="Needed when you reverse an automatic accept (a rejection).")


def _automatic(review_id: int) -> Review:
    review = Review.objects.filter(pk=review_id, verifier_version__isnull=False).first()
    if review is None:
        raise NotFoundError(f"Review {review_id} is not an automatic decision.")
    return review


@extend_schema(tags=["verifier"])
class AuditApi(ApiView):
    """Audit one sampled automatic decision (reviewers): agreeing confirms it, disagreeing reverses
    it; the audits measure the verifier's precision and stop automatic decisions below the target."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="verifier_audit", request=AuditSerializer,
                   responses={200: AutomaticReviewSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request, review_id: int) -> Response:
        data = validated_body(request, AuditSerializer)
        review = review_audit(review=_automatic(review_id), user=request.user, decision=data["decision"],
                              reason=data.get("reason", ""))
        return Response(AutomaticReviewSerializer(review).data)


@extend_schema(tags=["verifier"])
class ReverseApi(ApiView):
    """Reverse an automatic decision (reviewers): your opposite decision replaces it; the automatic
    one stays visible, marked reversed."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="verifier_reverse", request=ReverseSerializer,
                   responses={200: ReviewSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request, review_id: int) -> Response:
        data = validated_body(request, ReverseSerializer)
        mine = review_reverse(review=_automatic(review_id), user=request.user, reason=data.get("reason", ""))
        return Response(ReviewSerializer(mine).data)
