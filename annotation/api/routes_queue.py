"""Routes: annotation tasks, verification queue, metrics. Ids use the platform's ``oid``
converter (a bad id is a JSON 404)."""

from django.urls import path, register_converter
from django.urls.converters import get_converters

from annotation.api import labels, metrics, reviews, sessions, tasks, verifier
from dataplatform.api.base import ObjectIdConverter

if "oid" not in get_converters():  # registered by the platform's routes when they load first
    register_converter(ObjectIdConverter, "oid")

urlpatterns = [
    path("tasks/", tasks.TaskListApi.as_view(), name="task-list"),
    path("tasks/next/", tasks.TaskNextApi.as_view(), name="task-next"),
    path("tasks/<oid:task_id>/", tasks.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<oid:task_id>/heartbeat/", tasks.TaskHeartbeatApi.as_view(), name="task-heartbeat"),
    path("tasks/<oid:task_id>/release/", tasks.TaskReleaseApi.as_view(), name="task-release"),
    path("tasks/<oid:task_id>/requeue/", tasks.TaskRequeueApi.as_view(), name="task-requeue"),
    path("tasks/<oid:task_id>/reopen/", tasks.TaskReopenApi.as_view(), name="task-reopen"),
    path("tasks/<oid:task_id>/submit/", tasks.TaskSubmitApi.as_view(), name="task-submit"),
    path("reviews/next/", reviews.ReviewNextApi.as_view(), name="review-next"),
    path("masklets/<oid:masklet_id>/", reviews.MaskletDetailApi.as_view(), name="masklet-detail"),
    path("masklets/<oid:masklet_id>/accept/", reviews.MaskletAcceptApi.as_view(), name="masklet-accept"),
    path("masklets/<oid:masklet_id>/reject/", reviews.MaskletRejectApi.as_view(), name="masklet-reject"),
    path("masklets/<oid:masklet_id>/comments/", reviews.MaskletCommentsApi.as_view(), name="masklet-comments"),
    path("masklets/<oid:masklet_id>/review-release/", reviews.MaskletReviewReleaseApi.as_view(),
         name="masklet-review-release"),
    path("verifier/", verifier.VerifierApi.as_view(), name="verifier"),
    path("verifier/train/", verifier.VerifierTrainApi.as_view(), name="verifier-train"),
    path("verifier/audits/", verifier.AuditListApi.as_view(), name="verifier-audits"),
    path("reviews/<oid:review_id>/audit/", verifier.AuditApi.as_view(), name="review-audit"),
    path("reviews/<oid:review_id>/reverse/", verifier.ReverseApi.as_view(), name="review-reverse"),
    path("metrics/", metrics.MetricsApi.as_view(), name="metrics"),
    path("metrics/dashboard/", metrics.DashboardApi.as_view(), name="metrics-dashboard"),
]
# Interactive sessions (a task's engine session on a GPU worker) and automatic masklets.
urlpatterns += [
    path("tasks/<oid:task_id>/session/", sessions.TaskSessionApi.as_view(), name="task-session"),
    path("tasks/<oid:task_id>/prompts/", sessions.TaskPromptApi.as_view(), name="task-prompts"),
    path("tasks/<oid:task_id>/objects/", sessions.TaskObjectListApi.as_view(), name="task-objects"),
    path("tasks/<oid:task_id>/objects/<str:object_number>/", sessions.TaskObjectDetailApi.as_view(),
         name="task-object-detail"),
    path("tasks/<oid:task_id>/session/progress/", sessions.TaskSessionProgressApi.as_view(),
         name="task-session-progress"),
    path("tasks/<oid:task_id>/undo/", sessions.TaskUndoApi.as_view(), name="task-undo"),
    path("tasks/<oid:task_id>/propagate/", sessions.TaskPropagateApi.as_view(), name="task-propagate"),
    path("tasks/<oid:task_id>/masks/", sessions.TaskMasksApi.as_view(), name="task-masks"),
    path("tasks/<oid:task_id>/save/", sessions.TaskSaveApi.as_view(), name="task-save"),
    path("videos/<oid:video_id>/auto-masklets/", sessions.VideoAutoMaskletsApi.as_view(),
         name="video-auto-masklets"),
]
# A project's label set.
urlpatterns += [
    path("projects/<oid:project_id>/labels/", labels.ProjectLabelListApi.as_view(), name="project-labels"),
    path("projects/<oid:project_id>/labels/<oid:label_id>/", labels.ProjectLabelDetailApi.as_view(),
         name="project-label-detail"),
]
