"""Jobs: progress of long work. Admins see every job; others see the jobs they started."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dataplatform.api.base import ApiView, ListApiView, validated_query
from dataplatform.api.serializers import ErrorSerializer, JobFilterSerializer, JobSerializer
from dataplatform.errors import ConflictError
from dataplatform.selectors.jobs import job_get_for, job_list_for
from dataplatform.services.jobs import job_cancel

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


@extend_schema(tags=["jobs"])
class JobListApi(ListApiView):
    @extend_schema(operation_id="jobs_list",
                   parameters=[JobFilterSerializer, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: JobSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        filters = validated_query(request, JobFilterSerializer)
        for name in ("video", "project"):
            if name in filters:
                filters[f"{name}_id"] = filters.pop(name)
        return self.paginate(request, job_list_for(user=request.user, **filters), JobSerializer)


@extend_schema(tags=["jobs"])
class JobDetailApi(ApiView):
    @extend_schema(operation_id="jobs_retrieve", responses={200: JobSerializer, **ERRORS})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobSerializer(job_get_for(user=request.user, job_id=job_id)).data)


@extend_schema(tags=["jobs"])
class JobCancelApi(ApiView):
    """Cancel a queued job at once; a running one is asked to stop and ends as cancelled."""

    @extend_schema(operation_id="jobs_cancel", request=None,
                   responses={200: JobSerializer, 409: ErrorSerializer, **ERRORS})
    def post(self, request: Request, job_id: int) -> Response:
        job = job_get_for(user=request.user, job_id=job_id)
        if job.is_terminal:
            raise ConflictError(f"This job has already {job.status}; there is nothing to cancel.")
        return Response(JobSerializer(job_cancel(job=job)).data)
