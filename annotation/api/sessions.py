"""Interactive sessions: open a task's engine session, prompt it, manage objects, undo, propagate,
read the latest masks; and automatic masklets of a video (admins)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.labels import LabelRefSerializer
from annotation.selectors.tasks import task_get, task_get_readable
from annotation.services.automasklets import PARAMS, automasklets_start
from annotation.services.propagation import DIRECTIONS, propagation_start
from annotation.services.sessions import (
    session_object_create,
    session_object_delete,
    session_object_label,
    session_object_state,
    session_open,
    session_progress,
    session_prompt,
    session_save,
    session_undo,
    task_masks_latest,
)
from dataplatform.api.base import MAX_ID, ApiView, validated_body, validated_query
from dataplatform.api.serializers import ErrorSerializer, JobSerializer
from dataplatform.errors import NotFoundError
from dataplatform.roles import IsAdminRole, IsAnnotator
from dataplatform.selectors.videos import video_get

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer, 502: ErrorSerializer, 503: ErrorSerializer}
MAX_FRAME = 10_000_000


class RleSerializer(serializers.Serializer):
    size = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    counts = serializers.CharField(trim_whitespace=False, allow_blank=True)


class SessionVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    frame_count = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    frames = serializers.ListField(child=serializers.CharField(), help_text="Frame URLs, in order.")


class SessionObjectSerializer(serializers.Serializer):
    object_number = serializers.IntegerField(help_text="The object's number in its video: the same in the "
                                                       "workspace, review and exports.")
    masklet_id = serializers.IntegerField()
    label = LabelRefSerializer()


class ObjectCreateSerializer(serializers.Serializer):
    label = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                     help_text="A label of the project (default: its first label).")


class ObjectLabelSerializer(serializers.Serializer):
    label = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                     help_text="A label of the project (absent: nothing changes).")


class SessionPointSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField()
    object_number = serializers.IntegerField()
    point = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, help_text="[x, y] pixels")
    label = serializers.IntegerField(help_text="1 positive, 0 negative.")


class FeedbackCommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    frame_index = serializers.IntegerField()
    text = serializers.CharField()


class ReviewFeedbackSerializer(serializers.Serializer):
    reason = serializers.CharField()
    reviewer = serializers.CharField()
    decided_at = serializers.DateTimeField()
    revision = serializers.IntegerField(help_text="The rejected revision.")
    comments = FeedbackCommentSerializer(many=True, help_text="The reviewer's notes pinned to frames.")
    frames = serializers.ListField(child=serializers.IntegerField(),
                                   help_text="Frames (from 0) the notes and the reason name.")


class SessionSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    kind = serializers.CharField(help_text="annotate, or refine (a rework after a rejection).")
    video = SessionVideoSerializer()
    objects = SessionObjectSerializer(many=True)
    labels = LabelRefSerializer(many=True, help_text="The project's label set, for new objects.")
    phase = serializers.IntegerField()
    model_version = serializers.IntegerField(allow_null=True)
    model_version_name = serializers.CharField(allow_null=True, help_text="The model version's name, as the workspace shows it.")
    worker = serializers.CharField(help_text="The GPU worker holding the session.")
    points = SessionPointSerializer(many=True, help_text="The clicks that still count (the markers).")
    review = ReviewFeedbackSerializer(allow_null=True, help_text="A rework task: the rejection it is about.")


class PromptSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField(min_value=0, max_value=MAX_FRAME)
    object_number = serializers.IntegerField(min_value=0, max_value=MAX_FRAME)
    kind = serializers.ChoiceField(choices=["click", "box", "mask"])
    points = serializers.JSONField(required=False, help_text="[[x, y], ...] in pixels (click; optional with a box).")
    labels = serializers.JSONField(required=False, help_text="One per point: 1 positive, 0 negative.")
    box = serializers.JSONField(required=False, help_text="[x0, y0, x1, y1] in pixels (box).")
    mask = serializers.JSONField(required=False, help_text="COCO RLE of the frame's size (mask).")
    client_timestamp = serializers.DateTimeField(required=False)


class PromptAnswerSerializer(serializers.Serializer):
    interaction = serializers.IntegerField()
    frame_index = serializers.IntegerField()
    object_number = serializers.IntegerField()
    mask = RleSerializer()
    latency_ms = serializers.FloatField(help_text="The model's time on the worker.")
    round_trip_ms = serializers.FloatField(help_text="API to worker and back.")


class UndoAnswerSerializer(PromptAnswerSerializer):
    undone = serializers.IntegerField(help_text="The interaction undone.")
    undone_kind = serializers.CharField(help_text="What it was: click+, click-, box, mask or propagate "
                                                  "(then every frame's masks are the ones from before it).")


class SessionProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(allow_null=True, help_text="Events replayed so far; null: no recompute.")
    total = serializers.IntegerField(allow_null=True)


class ClientTimestampSerializer(serializers.Serializer):
    client_timestamp = serializers.DateTimeField(required=False)


class PropagateSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField(min_value=0, max_value=MAX_FRAME)
    direction = serializers.ChoiceField(choices=DIRECTIONS, default="forward")
    client_timestamp = serializers.DateTimeField(required=False)


class MasksQuerySerializer(serializers.Serializer):
    object_number = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FRAME)
    start = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FRAME, default=0)
    end = serializers.IntegerField(required=False, min_value=0, max_value=MAX_FRAME)


class ObjectMasksSerializer(serializers.Serializer):
    object_number = serializers.IntegerField()
    masklet_id = serializers.IntegerField()
    revision = serializers.IntegerField(allow_null=True)
    masks = serializers.DictField(child=RleSerializer(), help_text="Frame index → COCO RLE.")


class AutoMaskletsSerializer(serializers.Serializer):
    points_per_side = serializers.IntegerField(required=False, min_value=PARAMS["points_per_side"][1],
                                               max_value=PARAMS["points_per_side"][2])
    points_per_batch = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    pred_iou_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    stability_score_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    box_nms_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    crop_n_layers = serializers.IntegerField(required=False, min_value=0, max_value=3)
    min_region_area = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    max_masklets = serializers.IntegerField(required=False, min_value=1, max_value=1000)


def _object_number(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_FRAME:
        raise NotFoundError(f"There is no object {value!r}.")
    return int(value)


class _SessionApi(ApiView):
    permission_classes = [IsAnnotator]


@extend_schema(tags=["sessions"])
class TaskSessionApi(_SessionApi):
    """Open (or reopen) the task's engine session on a GPU worker: the video, objects and phase."""

    @extend_schema(operation_id="tasks_session_open", request=None, responses={200: SessionSerializer, **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        return Response(session_open(task=task_get(task_id=task_id), user=request.user))


@extend_schema(tags=["sessions"])
class TaskPromptApi(_SessionApi):
    """A click, box or mask on a frame: recorded, then answered with the object's mask there."""

    @extend_schema(operation_id="tasks_prompt", request=PromptSerializer,
                   responses={200: PromptAnswerSerializer, **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, PromptSerializer)
        answer = session_prompt(task_id=task_id, user=request.user, kind=data["kind"],
                                frame_index=data["frame_index"], object_number=data["object_number"],
                                data=data, client_timestamp=data.get("client_timestamp"))
        return Response(answer)


@extend_schema(tags=["sessions"])
class TaskObjectListApi(_SessionApi):
    """Add an object (a new draft masklet) to the task's video."""

    @extend_schema(operation_id="tasks_objects_create", request=ObjectCreateSerializer,
                   responses={201: SessionObjectSerializer, **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, ObjectCreateSerializer)
        masklet = session_object_create(task=task_get(task_id=task_id), user=request.user, label_id=data.get("label"))
        return Response(session_object_state(masklet), status=status.HTTP_201_CREATED)


@extend_schema(tags=["sessions"])
class TaskObjectDetailApi(_SessionApi):
    """Change the label of an object of the task; remove a draft object (its prompts stop counting)."""

    @extend_schema(operation_id="tasks_objects_update", request=ObjectLabelSerializer,
                   responses={200: SessionObjectSerializer, **ERRORS})
    def patch(self, request: Request, task_id: int, object_number: str) -> Response:
        data = validated_body(request, ObjectLabelSerializer)
        masklet = session_object_label(task=task_get(task_id=task_id), user=request.user,
                                       object_number=_object_number(object_number), label_id=data.get("label"))
        return Response(session_object_state(masklet))

    @extend_schema(operation_id="tasks_objects_delete", request=None, responses={204: None, **ERRORS})
    def delete(self, request: Request, task_id: int, object_number: str) -> Response:
        session_object_delete(task=task_get(task_id=task_id), user=request.user,
                              object_number=_object_number(object_number))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["sessions"])
class TaskUndoApi(_SessionApi):
    """Undo the latest interaction (a prompt or a propagation): the mask of its object on its frame
    after the undo. The session goes back to its snapshot of the state before it, else replays."""

    @extend_schema(operation_id="tasks_undo", request=ClientTimestampSerializer,
                   responses={200: UndoAnswerSerializer, **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, ClientTimestampSerializer)
        return Response(session_undo(task=task_get(task_id=task_id), user=request.user,
                                     client_timestamp=data.get("client_timestamp")))


@extend_schema(tags=["sessions"])
class TaskPropagateApi(_SessionApi):
    """Propagate the task's objects from a frame: a Job (progress, cancel via the jobs API)."""

    @extend_schema(operation_id="tasks_propagate", request=PropagateSerializer,
                   responses={202: JobSerializer, **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, PropagateSerializer)
        job = propagation_start(task=task_get(task_id=task_id), user=request.user, frame_index=data["frame_index"],
                                direction=data["direction"], client_timestamp=data.get("client_timestamp"))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class SavedObjectSerializer(serializers.Serializer):
    object_number = serializers.IntegerField()
    masklet_id = serializers.IntegerField()
    revision = serializers.IntegerField()


@extend_schema(tags=["sessions"])
class TaskSaveApi(_SessionApi):
    """Save the latest masks of the task's objects as new revisions (those changed since their
    current revision): phase 1's prompt answers, corrections made after the last propagation."""

    @extend_schema(operation_id="tasks_save", request=None, responses={200: SavedObjectSerializer(many=True), **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        return Response(session_save(task=task_get(task_id=task_id), user=request.user))


@extend_schema(tags=["sessions"])
class TaskMasksApi(_SessionApi):
    """The latest mask of each frame per object: prompt answers, else the current revision."""

    @extend_schema(operation_id="tasks_masks", parameters=[MasksQuerySerializer],
                   responses={200: ObjectMasksSerializer(many=True), **ERRORS})
    def get(self, request: Request, task_id: int) -> Response:
        query = validated_query(request, MasksQuerySerializer)
        task = task_get_readable(task_id=task_id, user=request.user)
        return Response(task_masks_latest(task=task, object_number=query.get("object_number"),
                                          start=query.get("start", 0), end=query.get("end")))


@extend_schema(tags=["sessions"])
class TaskSessionProgressApi(_SessionApi):
    """How far the session is in recomputing a state (an undo without a snapshot, a rebuild)."""

    @extend_schema(operation_id="tasks_session_progress", responses={200: SessionProgressSerializer, **ERRORS})
    def get(self, request: Request, task_id: int) -> Response:
        return Response(session_progress(task=task_get_readable(task_id=task_id, user=request.user)))


@extend_schema(tags=["sessions"])
class VideoAutoMaskletsApi(ApiView):
    """Make automatic masklets for a ready video (admins): a GPU Job; they go to verification."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="videos_auto_masklets", request=AutoMaskletsSerializer,
                   responses={202: JobSerializer, **ERRORS})
    def post(self, request: Request, video_id: int) -> Response:
        data = validated_body(request, AutoMaskletsSerializer)
        job = automasklets_start(video=video_get(video_id=video_id), user=request.user, params=data)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
