"""What every API view shares: authentication order, parsers, role permissions, pagination, id
parsing, and the checks of every body and query string (``validated_input``).

Token authentication comes first so that a request without credentials is answered 401 with a
``WWW-Authenticate: Token`` header (DRF answers 403 when the first scheme is the session's).
Session authentication stays for the browser, with DRF's CSRF check on unsafe methods.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from dataplatform.api.authentication import CompiledTokenAuthentication
from dataplatform.api.parsers import DEFAULT_PARSERS
from dataplatform.roles import HasAnyRole

# PostgreSQL's bigint: an id past it is simply not found (not a database error).
MAX_ID = 2**63 - 1


class StrictCharField(serializers.CharField):
    """Text that must come as a JSON string: DRF's CharField would turn ``0`` or ``true`` into text,
    accepting a body the schema (``type: string``) forbids."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A yes/no of a body: JSON's true/false, or "true"/"false" in a form. DRF's BooleanField would also
    take 0, 1, "yes", "on"..., values the schema (``type: boolean``) forbids."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):
            return data.lower() == "true"
        self.fail("invalid", input=data)


class QueryBooleanField(serializers.BooleanField):
    """A yes/no filter of a query string: absent is no filter (DRF's BooleanField reads an absent form
    field as false, a checkbox left unticked), and an empty value is refused like any other filter's."""

    default_empty_html = serializers.empty


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Not a valid string.", code="invalid")
        return super().to_internal_value(data)


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
    parser_classes = DEFAULT_PARSERS  # JSON nested too deep is a 400, not a RecursionError
    permission_classes = [HasAnyRole]
    write_permission_classes: list[type[BasePermission]] | None = None

    def get_permissions(self) -> list[BasePermission]:
        classes = self.permission_classes
        if self.write_permission_classes is not None and self.request.method not in SAFE_METHODS:
            classes = self.write_permission_classes
        return [permission() for permission in classes]


class ListSchema(AutoSchema):
    """A list view's schema: only its GET answers a page; another method's list (the tasks a POST
    created) is answered whole, and declared so."""

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None


class ListApiView(ApiView):
    """A paginated list: ``self.paginate(queryset, serializer_class)``."""

    pagination_class = Pagination
    schema = ListSchema()

    def paginate(self, request: Request, queryset: QuerySet, serializer_class: type[serializers.Serializer],
                 **serializer_kwargs: Any) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = serializer_class(page, many=True, **serializer_kwargs).data
        return paginator.get_paginated_response(data)


def _allowed(field: serializers.Field) -> str:
    return ", ".join(str(value) for value in field.choices)


def _naming_allowed(errors: Any, field: serializers.Field) -> Any:
    """``field``'s errors, each refused choice followed by the values allowed (in lists and nested
    serializers too)."""
    if isinstance(field, serializers.ChoiceField) and isinstance(errors, list):
        return [ErrorDetail(f"{error} Allowed: {_allowed(field)}.", code=error.code)
                if getattr(error, "code", None) == "invalid_choice" else error for error in errors]
    if isinstance(field, serializers.ListField) and isinstance(errors, dict):
        return {index: _naming_allowed(error, field.child) for index, error in errors.items()}
    if isinstance(field, serializers.Serializer) and isinstance(errors, dict):
        return {name: _naming_allowed(error, field.fields[name]) if name in field.fields else error
                for name, error in errors.items()}
    return errors


def _empty_values(data: Any, serializer: serializers.Serializer) -> dict[str, list[ErrorDetail]]:
    """The fields given an empty value in a form or a query string.

    DRF reads one as absent when the field is optional: ``?status=`` listed everything and a PATCH
    of ``name=`` changed nothing, both silently. Here it is a value like any other, refused unless
    the field allows blank (a search for "" finds everything) or null.
    """
    if not html.is_html_input(data):
        return {}  # JSON: DRF refuses "" where it is not allowed
    errors = {}
    for name, field in serializer.fields.items():
        if field.read_only or name not in data or getattr(field, "allow_blank", False) or field.allow_null:
            continue
        if any(isinstance(value, str) and not value.strip() for value in data.getlist(name)):
            allowed = f" Allowed: {_allowed(field)}." if isinstance(field, serializers.ChoiceField) else ""
            errors[name] = [ErrorDetail(f"This field may not be empty.{allowed}", code="blank")]
    return errors


def validated_input(data: Any, serializer: serializers.Serializer) -> dict[str, Any]:
    """``serializer``'s validated data, or a 400 naming every bad field: an empty value is one, and a
    refused choice lists the values allowed. Every body and query string of the API goes through here."""
    valid = serializer.is_valid()
    errors = {**(_naming_allowed(serializer.errors, serializer) if not valid else {}),
              **_empty_values(data, serializer)}
    if errors:
        raise serializers.ValidationError(errors)
    return dict(serializer.validated_data)


def validated_query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The query parameters checked by a filter serializer (400 with fields when invalid)."""
    validated = validated_input(request.query_params, serializer_class(data=request.query_params))
    return {key: value for key, value in validated.items() if value not in (None, "")}


def validated_body(request: Request, serializer_class: type[serializers.Serializer],
                   *, partial: bool = False) -> dict[str, Any]:
    return validated_input(request.data, serializer_class(data=request.data, partial=partial))
