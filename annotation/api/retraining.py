"""Model versions and retraining rounds (flow 7): list and promote versions; launch, list and follow rounds.

Admins launch rounds and promote versions; any role may read the model versions (the workspace
shows which one a task uses). A round is followed here (status, step, loss, metrics, resulting
version) or through its Job at ``/api/jobs/{id}/``; cancel it at ``/api/jobs/{id}/cancel/``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.models import ModelVersion, RetrainingRound
from annotation.services.checkpoints import model_version_register
from annotation.services.evaluations import (
    EVALUATION_SPLITS,
    MAX_EVALUATION_VIDEOS,
    model_version_evaluation_launch,
)
from annotation.services.modelversions import model_version_promote
from annotation.services.retraining import HYPERPARAMETERS, retraining_preview, retraining_round_launch
from dataplatform.api.base import MAX_ID, ApiView, ListApiView, validated_body
from dataplatform.api.parsers import FormParser, JSONParser, MultiPartParser
from dataplatform.api.serializers import ErrorSerializer, JobProgressSerializer, JobSerializer
from dataplatform.errors import ApplicationError, NotFoundError
from dataplatform.models import Project
from dataplatform.roles import IsAdminRole

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


# ---- Serializers -----------------------------------------------------------------------------------


class ModelVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who made it; empty for the shipped model or a removed account.")

    class Meta:
        model = ModelVersion
        fields = ["id", "name", "config_name", "checkpoint_key", "parent", "metrics", "is_active", "created_by",
                  "created_at", "promoted_at", "status", "message", "sha256", "size_bytes", "source"]
        read_only_fields = fields


class ModelVersionRegisterSerializer(serializers.Serializer):
    """Exactly one of ``file`` (multipart) and ``checkpoint`` (a storage URI)."""

    name = serializers.CharField(max_length=200, help_text="The new version's name (unique).")
    file = serializers.FileField(required=False, help_text="A .pt or .safetensors checkpoint, at most MAX_CHECKPOINT_MB.")
    checkpoint = serializers.CharField(max_length=1024, required=False,
                                       help_text="s3://bucket/key, or a key in the platform's storage.")
    config = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                   help_text="The engine config, e.g. sam2.1_hiera_l. Default: inferred from the file.")

    def validate(self, attrs: dict) -> dict:
        if ("file" in attrs) == bool(attrs.get("checkpoint", "").strip()):
            raise serializers.ValidationError("Give either a file or a checkpoint storage URI.")
        return attrs


class ModelVersionEvaluateSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                       help_text="The project whose held-out split scores the version.")
    split = serializers.ChoiceField(choices=EVALUATION_SPLITS, default="val",
                                    help_text="val: the development split (the promotion gate's); test: the "
                                              "untouched one, only for reporting.")
    max_videos = serializers.IntegerField(min_value=1, max_value=MAX_EVALUATION_VIDEOS, default=20,
                                          help_text="Score at most this many held-out videos.")


class ModelVersionWithJobSerializer(serializers.Serializer):
    model_version = ModelVersionSerializer()
    job = JobSerializer(help_text="The check of the checkpoint: the version is usable once it succeeds.")


class DataSelectionSerializer(serializers.Serializer):
    """Which accepted masklets to train on (the schema; the service checks the values)."""

    phases = serializers.ListField(child=serializers.IntegerField(), required=False,
                                   help_text="Phases of the accepted revisions (1, 2, 3). Default: all.")
    since = serializers.CharField(required=False, help_text="Accepted at or after (YYYY-MM-DD or ISO time).")
    until = serializers.CharField(required=False, help_text="Accepted before (YYYY-MM-DD or ISO time).")
    project = serializers.IntegerField(required=False, help_text="Only this project's videos.")
    splits = serializers.ListField(child=serializers.CharField(), required=False,
                                   help_text="Video splits to train on: train (default) and/or unassigned. "
                                             "Val videos are held out for the evaluation.")


def _hyper_help() -> str:
    return "; ".join(f"{name} (default {'auto' if d is None else d}, {lo:g}..{hi:g})"
                     for name, (d, lo, hi) in HYPERPARAMETERS.items())


class HyperparametersSerializer(serializers.Serializer):
    steps = serializers.IntegerField(required=False)
    lr = serializers.FloatField(required=False)
    image_encoder_lr = serializers.FloatField(required=False, allow_null=True)
    weight_decay = serializers.FloatField(required=False)
    warmup_steps = serializers.IntegerField(required=False)
    average_decay = serializers.FloatField(required=False, allow_null=True)
    clip_frames = serializers.IntegerField(required=False)
    max_objects = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False)
    eval_videos = serializers.IntegerField(required=False)
    time_limit_minutes = serializers.FloatField(required=False, allow_null=True)


@extend_schema_field(DataSelectionSerializer)
class DataSelectionField(serializers.JSONField):
    """Passed through as given, so that the service names unknown keys instead of dropping them."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object.")
        return data


@extend_schema_field(HyperparametersSerializer)
class HyperparametersField(DataSelectionField):
    pass


class RetrainingLaunchSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                            help_text="The model version to fine-tune. Default: the active one.")
    data_selection = DataSelectionField(required=False, default=dict)
    hyperparameters = HyperparametersField(required=False, default=dict, help_text=_hyper_help())


class RetrainingSelectionSerializer(serializers.Serializer):
    data_selection = DataSelectionField(required=False, default=dict)


class RetrainingPreviewCellSerializer(serializers.Serializer):
    phase = serializers.IntegerField(allow_null=True)
    split = serializers.CharField()
    masklets = serializers.IntegerField(help_text="Accepted masklets of this phase on videos of this split.")
    videos = serializers.IntegerField()
    use = serializers.ChoiceField(choices=["train", "held out", "not used"])


class RetrainingPreviewSerializer(serializers.Serializer):
    selection = serializers.DictField(help_text="The data selection, normalised (defaults filled in).")
    description = serializers.CharField()
    cells = RetrainingPreviewCellSerializer(many=True)
    train_masklets = serializers.IntegerField(help_text="0: the round would be refused (nothing to train on).")
    train_videos = serializers.IntegerField()
    held_out_masklets = serializers.IntegerField(help_text="The val split's accepted masklets (the evaluation).")
    held_out_videos = serializers.IntegerField()


class RetrainingRoundSerializer(serializers.ModelSerializer):
    base_version = ModelVersionSerializer(read_only=True)
    resulting_version = ModelVersionSerializer(read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField()
    step = serializers.SerializerMethodField()
    loss = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                              help_text="Who launched it; empty if the account is gone.")

    class Meta:
        model = RetrainingRound
        fields = ["id", "status", "message", "base_version", "data_selection", "hyperparameters", "job", "progress",
                  "step", "loss", "metrics", "resulting_version", "created_by", "created_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field(JobProgressSerializer)
    def get_progress(self, obj: RetrainingRound) -> dict:
        job = obj.job
        if job is None:
            return {"done": 0, "total": 0, "percent": None}
        done, total = job.progress_done, job.progress_total
        percent = 100.0 if obj.status == RetrainingRound.Status.SUCCEEDED else (
            round(100.0 * min(done, total) / total, 1) if total else None)
        return {"done": done, "total": total, "percent": percent}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_step(self, obj: RetrainingRound) -> int | None:
        return (obj.job.result or {}).get("step") if obj.job else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_loss(self, obj: RetrainingRound) -> float | None:
        """The latest training loss (the mean of the last 20 steps once the round is done)."""
        return (obj.job.result or {}).get("loss") if obj.job else None

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_metrics(self, obj: RetrainingRound) -> dict | None:
        """The resulting version's metrics: J&F per protocol on the val split (``val``) and the base's on the
        same videos (``val_base``), steps, final loss, the data trained on."""
        return obj.resulting_version.metrics if obj.resulting_version else None


# ---- Views ------------------------------------------------------------------------------------------


def _version_get(version_id: int) -> ModelVersion:
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise NotFoundError(f"Model version {version_id} does not exist.")
    return version


def _rounds():
    return RetrainingRound.objects.select_related("base_version", "resulting_version", "job", "created_by",
                                                  "base_version__created_by", "resulting_version__created_by")


@extend_schema(tags=["models"])
class ModelVersionListApi(ListApiView):
    """The model versions (any role); register a checkpoint (POST, admins): an upload or a storage URI.

    The answer (202) carries the new version, ``validating``, and its Job: the version becomes
    ``ready`` when the checkpoint loads, or ``failed`` with the reason in ``message``."""

    write_permission_classes = [IsAdminRole]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(operation_id="model_versions_list", responses={200: ModelVersionSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return self.paginate(request, ModelVersion.objects.select_related("created_by"), ModelVersionSerializer)

    @extend_schema(operation_id="model_versions_register",
                   request={"multipart/form-data": ModelVersionRegisterSerializer,
                            "application/json": ModelVersionRegisterSerializer},
                   responses={202: ModelVersionWithJobSerializer, 409: ErrorSerializer, 413: ErrorSerializer,
                              **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, ModelVersionRegisterSerializer)
        upload = data.get("file")
        version, job = model_version_register(
            name=data["name"], checkpoint=data.get("checkpoint", ""), upload=upload,
            upload_name=upload.name if upload is not None else "", config_name=data.get("config", ""),
            user=request.user)
        return Response(ModelVersionWithJobSerializer({"model_version": version, "job": job}).data,
                        status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["models"])
class ModelVersionPromoteApi(ApiView):
    """Make this version the active one: new sessions use it; open tasks keep theirs."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="model_versions_promote", request=None,
                   responses={200: ModelVersionSerializer, **ERRORS})
    def post(self, request: Request, version_id: int) -> Response:
        version = model_version_promote(version=_version_get(version_id), user=request.user)
        return Response(ModelVersionSerializer(version).data)


@extend_schema(tags=["models"])
class ModelVersionEvaluateApi(ApiView):
    """Score this version on a project's held-out split with the semi-supervised protocols (GT mask,
    one click, box), as a retraining round does: a Job (202); the scores land in the version's
    ``metrics.evaluations["<project>/<split>"]`` (per protocol: jf, j, f, objects, per_object)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="model_versions_evaluate", request=ModelVersionEvaluateSerializer,
                   responses={202: JobSerializer, **ERRORS})
    def post(self, request: Request, version_id: int) -> Response:
        version = _version_get(version_id)
        data = validated_body(request, ModelVersionEvaluateSerializer)
        project = Project.objects.filter(pk=data["project"]).first()
        if project is None:
            raise NotFoundError(f"Project {data['project']} does not exist.")
        job = model_version_evaluation_launch(version=version, project=project, split=data["split"],
                                              max_videos=data["max_videos"], user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["models"])
class RetrainingRoundListApi(ListApiView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="retraining_rounds_list",
                   responses={200: RetrainingRoundSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return self.paginate(request, _rounds(), RetrainingRoundSerializer)

    @extend_schema(operation_id="retraining_rounds_create", request=RetrainingLaunchSerializer,
                   responses={202: RetrainingRoundSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, RetrainingLaunchSerializer)
        if "base_version" in data:
            base = _version_get(data["base_version"])
        else:
            base = ModelVersion.objects.filter(is_active=True).first()
            if base is None:
                raise ApplicationError("No model version is active: give base_version.")
        launched = retraining_round_launch(base_version=base, data_selection=data["data_selection"],
                                           hyperparameters=data["hyperparameters"], user=request.user)
        return Response(RetrainingRoundSerializer(_rounds().get(pk=launched.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["models"])
class RetrainingRoundDetailApi(ApiView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="retraining_rounds_retrieve", responses={200: RetrainingRoundSerializer, **ERRORS})
    def get(self, request: Request, round_id: int) -> Response:
        found = _rounds().filter(pk=round_id).first()
        if found is None:
            raise NotFoundError(f"Retraining round {round_id} does not exist.")
        return Response(RetrainingRoundSerializer(found).data)


@extend_schema(tags=["models"])
class RetrainingPreviewApi(ApiView):
    """The data a round with this selection would use, per phase and split, before launching it."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="retraining_rounds_preview", request=RetrainingSelectionSerializer,
                   responses={200: RetrainingPreviewSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, RetrainingSelectionSerializer)
        return Response(RetrainingPreviewSerializer(retraining_preview(data_selection=data["data_selection"])).data)
