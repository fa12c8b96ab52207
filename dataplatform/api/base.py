"""What every API view shares: authentication order, role permissions, pagination, id parsing.

Token authentication comes first so that a request without credentials is answered 401 with a
``WWW-Authenticate: Token`` header (DRF answers 403 when the first scheme is the session's).
Session authentication stays for the browser, with DRF's CSRF check on unsafe methods.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dataplatform.api.authentication import CompiledTokenAuthentication
from dataplatform.roles import HasAnyRole

# PostgreSQL's bigint: an id past it is simply not found (not a database error).
MAX_ID = 2**63 - 1


class ObjectIdConverter:
    """URL converter for ``<oid:pk>``: any path segment; not a valid id → 0, which no row has.

    Django's ``<int:...>`` answers a non-number with its HTML 404 page, outside the API's error
    shape; with this converter the view answers a JSON 404 instead.
    """

    regex = r"[^/]+"

    def to_python(self, value: str) -> int:
        if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
            return int(value)
        return 0

    def to_url(self, value: Any) -> str:
        return str(value)


class Pagination(PageNumberPagination):
    """``?page=N`` (a page past the end, or not a number: 404 in the error shape), ``?page_size=``
    (not a whole number: 400; DRF would silently use the default instead)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int | None:
        value = request.query_params.get(self.page_size_query_param)
        if value is not None and not (value.isascii() and value.removeprefix("-").isdigit()):
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"Items per page is a whole number (at most {self.max_page_size}); "
                                              f"got {value!r}."]})
        return super().get_page_size(request)


class ApiView(APIView):
    """Any role may read; ``write_permission_classes`` (if set) guard the unsafe methods."""

    authentication_classes = [CompiledTokenAuthentication, SessionAuthentication]
    permission_classes = [HasAnyRole]
    write_permission_classes: list[type[BasePermission]] | None = None

    def get_permissions(self) -> list[BasePermission]:
        classes = self.permission_classes
        if self.write_permission_classes is not None and self.request.method not in SAFE_METHODS:
            classes = self.write_permission_classes
        return [permission() for permission in classes]


class ListApiView(ApiView):
    """A paginated list: ``self.paginate(queryset, serializer_class)``."""

    pagination_class = Pagination

    def paginate(self, request: Request, queryset: QuerySet, serializer_class: type[serializers.Serializer],
                 **serializer_kwargs: Any) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = serializer_class(page, many=True, **serializer_kwargs).data
        return paginator.get_paginated_response(data)


def validated_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The query parameters checked by a filter serializer (400 with fields when invalid)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {key: value for key, value in serializer.validated_data.items() if value not in (None, "")}


def validated_body(request: Request, serializer_class: type[serializers.Serializer],
                   *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
