"""Annotation tasks: annotators take the next task, keep its lease alive, release or submit it;
admins create tasks for a video and list them."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers_queue import (
    TaskAdminUpdateSerializer,
    TaskCreateSerializer,
    TaskFilterSerializer,
    TaskNextSerializer,
    TaskSerializer,
    TaskSubmitSerializer,
)
from annotation.selectors.tasks import task_get, task_get_readable, task_list
from annotation.services.task_admin import task_admin_release, task_admin_reopen, task_admin_update
from annotation.services.tasks import (
    task_heartbeat,
    task_next_for,
    task_release,
    task_submit,
    tasks_create_for_video,
)
from dataplatform.api.base import ApiView, ListApiView, validated_body, validated_query
from dataplatform.api.serializers import ErrorSerializer
from dataplatform.errors import ApplicationError
from dataplatform.models import Project, Video
from dataplatform.roles import IsAdminRole, IsAnnotator

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
LEASE_ERRORS = {**ERRORS, 409: ErrorSerializer}
EMPTY_QUEUE = OpenApiResponse(description="No task is waiting for you.")


def project_or_400(project_id: int | None) -> Project | None:
    """The project a filter names; a project that does not exist is a bad filter (400)."""
    if project_id is None:
        return None
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        raise ApplicationError(f"Project {project_id} does not exist.", {"field": "project"})
    return project


def video_or_400(video_id: int | None) -> Video | None:
    if video_id is None:
        return None
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        raise ApplicationError(f"Video {video_id} does not exist.", {"field": "video"})
    return video


@extend_schema(tags=["tasks"])
class TaskListApi(ListApiView):
    """All tasks (admins), and new tasks for a ready video in its project's phase."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="tasks_list",
                   parameters=[TaskFilterSerializer, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: TaskSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        filters = validated_query(request, TaskFilterSerializer)
        for name in ("project", "video", "assignee"):
            if name in filters:
                filters[f"{name}_id"] = filters.pop(name)
        return self.paginate(request, task_list(**filters), TaskSerializer)

    @extend_schema(operation_id="tasks_create", request=TaskCreateSerializer,
                   responses={201: TaskSerializer(many=True), **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, TaskCreateSerializer)
        tasks = tasks_create_for_video(video=video_or_400(data["video"]), count=data["count"],
                                       priority=data["priority"])
        return Response(TaskSerializer(task_list().filter(pk__in=[t.pk for t in tasks]), many=True).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["tasks"])
class TaskNextApi(ApiView):
    """Lease the next task (or get back the one you hold). 204 when the queue is empty."""

    permission_classes = [IsAnnotator]

    @extend_schema(operation_id="tasks_next", request=TaskNextSerializer,
                   responses={200: TaskSerializer, 204: EMPTY_QUEUE, **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, TaskNextSerializer)
        task = task_next_for(user=request.user, project=project_or_400(data.get("project")),
                             phase=data.get("phase"))
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


@extend_schema(tags=["tasks"])
class TaskDetailApi(ApiView):
    """A task: for the annotator holding it (or kept for), and for admins; admins change its priority
    and whom a queued task is kept for."""

    permission_classes = [IsAnnotator]
    write_permission_classes = [IsAdminRole]

    @extend_schema(operation_id="tasks_retrieve", responses={200: TaskSerializer, **ERRORS})
    def get(self, request: Request, task_id: int) -> Response:
        return Response(TaskSerializer(task_get_readable(task_id=task_id, user=request.user)).data)

    @extend_schema(operation_id="tasks_update", request=TaskAdminUpdateSerializer,
                   responses={200: TaskSerializer, **LEASE_ERRORS})
    def patch(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, TaskAdminUpdateSerializer, partial=True)
        changes = {"priority": data["priority"]} if "priority" in data else {}
        if "assignee" in data:
            changes["assignee_id"] = data["assignee"]
        task = task_admin_update(task=task_get(task_id=task_id), **changes)
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


@extend_schema(tags=["tasks"])
class TaskRequeueApi(ApiView):
    """Take a leased task back from its holder: it returns to the queue (admins)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="tasks_requeue", request=None, responses={200: TaskSerializer, **LEASE_ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        task = task_admin_release(task=task_get(task_id=task_id))
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


@extend_schema(tags=["tasks"])
class TaskReopenApi(ApiView):
    """Put a submitted or cancelled task back in the queue, kept for its last annotator (admins)."""

    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="tasks_reopen", request=None, responses={200: TaskSerializer, **LEASE_ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        task = task_admin_reopen(task=task_get(task_id=task_id))
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


class _OwnTaskApi(ApiView):
    permission_classes = [IsAnnotator]


@extend_schema(tags=["tasks"])
class TaskHeartbeatApi(_OwnTaskApi):
    """Extend your lease (send one every minute or so while working)."""

    @extend_schema(operation_id="tasks_heartbeat", request=None, responses={200: TaskSerializer, **LEASE_ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        task = task_heartbeat(task=task_get(task_id=task_id), user=request.user)
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


@extend_schema(tags=["tasks"])
class TaskReleaseApi(_OwnTaskApi):
    """Give the task back to the queue."""

    @extend_schema(operation_id="tasks_release", request=None, responses={200: TaskSerializer, **LEASE_ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        task = task_release(task=task_get(task_id=task_id), user=request.user)
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)


@extend_schema(tags=["tasks"])
class TaskSubmitApi(_OwnTaskApi):
    """End the task: its masklets go to verification."""

    @extend_schema(operation_id="tasks_submit", request=TaskSubmitSerializer,
                   responses={200: TaskSerializer, **LEASE_ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        data = validated_body(request, TaskSubmitSerializer)
        task = task_submit(task=task_get(task_id=task_id), user=request.user, masklet_ids=data.get("masklets"),
                           client_timestamp=data.get("client_timestamp"))
        return Response(TaskSerializer(task_get(task_id=task.pk)).data)
