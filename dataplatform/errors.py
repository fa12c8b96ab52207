"""One domain exception and one DRF exception handler: every failure in the same JSON shape.

    {"error": {"code": "invalid", "message": "…a sentence a person can act on…", "fields": {...}}}

A request Django refuses to read (a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, more fields than
``DATA_UPLOAD_MAX_NUMBER_FIELDS`` or files than ``DATA_UPLOAD_MAX_NUMBER_FILES``, another
``SuspiciousOperation``) is a refusal, not a server error: ``request_refusal`` names it once,
for API views here and for every other view in ``dataplatform.api.fallback.handler400``. It is
answered 413 or 400 and logged in one line, without a traceback (``refusal_log``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("masklet.api")


class ApplicationError(Exception):
    """A failure the user can act on: a message, optional details and the HTTP status to answer."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, extra: dict[str, Any] | None = None, *, status_code: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ConflictError(ApplicationError):
    """The request lost a race or targets a stale state (e.g. a review of a superseded revision)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(detail)


def error_body(code: str, message: str, fields: dict | None = None, extra: dict | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if extra:
        body["extra"] = extra
    return {"error": body}


def request_refusal(exc: BaseException) -> ApplicationError | None:
    """The refusal of a request that Django would not read (too large, too many fields or files,
    an unreadable or suspicious body), or None when ``exc`` is something else."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return ApplicationError(f"The request body is larger than the limit ({limit // 1024**2} MiB); "
                                "upload files as multipart form data.", {"limit_bytes": limit},
                                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="too_large")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return ApplicationError(f"The request has more than {limit} fields.", {"limit": limit},
                                code="too_many_fields")
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return ApplicationError(f"The request has more than {limit} files.", {"limit": limit},
                                code="too_many_files")
    if isinstance(exc, MultiPartParserError):
        return ApplicationError(f"The multipart body cannot be read: {exc}", code="parse_error")
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return ApplicationError("The request was refused as malformed or suspicious.", code="bad_request")
    return None


def refusal_log(request: HttpRequest, response: HttpResponse, exc: BaseException) -> None:
    """One line for a refused request, without a traceback; Django logs nothing more for it."""
    logger.warning("Refused %s %s (%d, %s): %s", request.method, request.path, response.status_code,
                   exc.__class__.__name__, str(exc).encode("unicode_escape").decode("ascii"))
    response._has_been_logged = True  # Django's own request and security loggers skip it


def _forget_body(request: Any) -> None:
    """A refused body reads as empty from now on (as Django does after such an error), so that
    nothing rendering the answer reads it again."""
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, "_mark_post_parse_error"):
        django_request._mark_post_parse_error()
    if request is not django_request:  # DRF's Request
        request._data = request._full_data = QueryDict("")
        request._files = MultiValueDict()


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    refusal = request_refusal(exc)
    if refusal is not None:
        request = context.get("request")
        response = Response(error_body(refusal.code, refusal.message, extra=refusal.extra),
                            status=refusal.status_code)
        if request is not None:
            _forget_body(request)
            refusal_log(request, response, exc)
        return response
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, extra=exc.extra), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        message = " ".join(exc.messages)
        return Response(error_body("invalid", message, fields=fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        # An unexpected error: logged with its traceback, answered in the same shape.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side; it has been logged."),
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else None
        response.data = error_body("invalid", _first_message(exc.detail), fields=fields)
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(code), _first_message(detail))
    return response
