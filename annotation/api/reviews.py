"""Verification: reviewers take masklets from the queue, see their current masks, accept or
reject them (with a reason)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers_queue import (
    AcceptSerializer,
    CommentCreateSerializer,
    CommentSerializer,
    MaskletDetailSerializer,
    RejectionSerializer,
    RejectSerializer,
    ReviewNextSerializer,
    ReviewSerializer,
    TaskSerializer,
)
from annotation.api.tasks import project_or_400, video_or_400
from annotation.selectors.masklets import masklet_get_readable
from annotation.selectors.reviews import masklet_get, review_comments_of
from annotation.selectors.tasks import task_get
from annotation.services.review_comments import review_comment_create
from annotation.services.reviews import masklet_accept, masklet_reject, review_next_for, review_release
from dataplatform.api.base import ApiView, validated_body
from dataplatform.api.serializers import ErrorSerializer
from dataplatform.errors import ForbiddenError
from dataplatform.roles import REVIEWER, IsReviewer, has_role

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
DECISION_ERRORS = {**ERRORS, 409: ErrorSerializer}


@extend_schema(tags=["reviews"])
class ReviewNextApi(ApiView):
    """Lease the next masklet to verify (or get back the one you hold), with its current masks.
    204 when nothing awaits review."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="reviews_next", request=ReviewNextSerializer,
                   responses={200: MaskletDetailSerializer,
                              204: OpenApiResponse(description="Nothing awaits review."), **ERRORS})
    def post(self, request: Request) -> Response:
        data = validated_body(request, ReviewNextSerializer)
        masklet = review_next_for(user=request.user, kind=data.get("kind"),
                                  project=project_or_400(data.get("project")), video=video_or_400(data.get("video")),
                                  order=data["order"])
        if masklet is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(MaskletDetailSerializer(masklet_get_readable(masklet_id=masklet.pk, user=request.user)).data)


@extend_schema(tags=["masklets"])
class MaskletDetailApi(ApiView):
    """A masklet with its current revision's masks: for the authors of its revisions, the annotator
    of its task, reviewers and admins (403 for anyone else)."""

    @extend_schema(operation_id="masklets_retrieve", responses={200: MaskletDetailSerializer, **ERRORS})
    def get(self, request: Request, masklet_id: int) -> Response:
        return Response(MaskletDetailSerializer(masklet_get_readable(masklet_id=masklet_id, user=request.user)).data)


@extend_schema(tags=["reviews"])
class MaskletAcceptApi(ApiView):
    """Accept the revision you reviewed: the masklet joins the dataset."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="masklets_accept", request=AcceptSerializer,
                   responses={200: ReviewSerializer, **DECISION_ERRORS})
    def post(self, request: Request, masklet_id: int) -> Response:
        data = validated_body(request, AcceptSerializer)
        review = masklet_accept(masklet=masklet_get(masklet_id=masklet_id, with_masks=False), user=request.user,
                                revision_id=data["revision"], comments=data.get("comments", []))
        return Response(ReviewSerializer(review).data)


@extend_schema(tags=["reviews"])
class MaskletRejectApi(ApiView):
    """Reject the revision you reviewed, with a reason: it goes back to an annotator as a
    refinement task (its author for a manual masklet; phase 3 for an automatic one)."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="masklets_reject", request=RejectSerializer,
                   responses={200: RejectionSerializer, **DECISION_ERRORS})
    def post(self, request: Request, masklet_id: int) -> Response:
        data = validated_body(request, RejectSerializer)
        review, task = masklet_reject(masklet=masklet_get(masklet_id=masklet_id, with_masks=False),
                                      user=request.user, revision_id=data["revision"], reason=data["reason"],
                                      comments=data.get("comments", []))
        return Response({"review": ReviewSerializer(review).data,
                         "task": TaskSerializer(task_get(task_id=task.pk)).data})


@extend_schema(tags=["reviews"])
class MaskletReviewReleaseApi(ApiView):
    """Give a masklet you leased for review back to the verification queue."""

    permission_classes = [IsReviewer]

    @extend_schema(operation_id="masklets_review_release", request=None,
                   responses={204: OpenApiResponse(description="Released."), **DECISION_ERRORS})
    def post(self, request: Request, masklet_id: int) -> Response:
        review_release(masklet=masklet_get(masklet_id=masklet_id, with_masks=False), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["reviews"])
class MaskletCommentsApi(ApiView):
    """Notes pinned to frames of a masklet's revisions. Reviewers add them while reviewing (holding
    the review lease, as for a decision); whoever may read the masklet reads them (the annotator
    of its rework task included)."""

    @extend_schema(operation_id="masklets_comments_list", responses={200: CommentSerializer(many=True), **ERRORS})
    def get(self, request: Request, masklet_id: int) -> Response:
        masklet = masklet_get_readable(masklet_id=masklet_id, user=request.user, with_masks=False)
        return Response(CommentSerializer(review_comments_of(masklet=masklet), many=True).data)

    @extend_schema(operation_id="masklets_comments_create", request=CommentCreateSerializer,
                   responses={201: CommentSerializer, **DECISION_ERRORS})
    def post(self, request: Request, masklet_id: int) -> Response:
        if not has_role(request.user, REVIEWER):
            raise ForbiddenError("Only reviewers comment on a masklet under review.")
        data = validated_body(request, CommentCreateSerializer)
        comment = review_comment_create(masklet=masklet_get(masklet_id=masklet_id, with_masks=False),
                                        user=request.user, revision_id=data["revision"],
                                        frame_index=data["frame_index"], text=data["text"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
