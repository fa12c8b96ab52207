"""Accounts (admins): list and search, create with roles, change roles, deactivate."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dataplatform.api.base import ApiView, ListApiView, validated_body, validated_query
from dataplatform.api.serializers import (
    ErrorSerializer,
    UserCreateSerializer,
    UserFilterSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from dataplatform.roles import IsAdminRole
from dataplatform.selectors.users import user_get, user_list
from dataplatform.services.users import user_create, user_update

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


@extend_schema(tags=["users"])
class UserListApi(ListApiView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="users_list", parameters=[UserFilterSerializer, OpenApiParameter("page", int),
                                                          OpenApiParameter("page_size", int)],
                   responses={200: UserSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return self.paginate(request, user_list(**validated_query(request, UserFilterSerializer)), UserSerializer)

    @extend_schema(operation_id="users_create", request=UserCreateSerializer,
                   responses={201: UserSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        user = user_create(**validated_body(request, UserCreateSerializer))
        return Response(UserSerializer(user_get(user_id=user.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["users"])
class UserDetailApi(ApiView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="users_retrieve", responses={200: UserSerializer, **ERRORS})
    def get(self, request: Request, user_id: int) -> Response:
        return Response(UserSerializer(user_get(user_id=user_id)).data)

    @extend_schema(operation_id="users_update", request=UserUpdateSerializer, responses={200: UserSerializer, **ERRORS})
    def patch(self, request: Request, user_id: int) -> Response:
        data = validated_body(request, UserUpdateSerializer, partial=True)
        user_update(user=user_get(user_id=user_id), actor=request.user, **data)
        return Response(UserSerializer(user_get(user_id=user_id)).data)
