"""Request parsers of every API view (``ApiView.parser_classes``): DRF's, with bounds.

Python's JSON decoder recurses once per nested array or object: a body nested thousands deep
(``[[[[…]]]]``, a few kilobytes) ended in a ``RecursionError``, a 500. ``JSONParser`` refuses any
body nested deeper than ``JSON_MAX_DEPTH`` with a 400 parse error; no request of the API needs
more than a handful of levels.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Arrays and objects inside one another; the API's deepest body (a mask prompt) uses 3.
JSON_MAX_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests arrays and objects more than ``limit`` deep (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested more than ``JSON_MAX_DEPTH`` deep is a parse error (400)."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        message = f"JSON parse error - the body is nested more than {JSON_MAX_DEPTH} levels deep."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if isinstance(data, dict | list) and json_depth_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(message)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser; a body with content in which no part names a form field is a parse
    error (400). Django skips a part without a named Content-Disposition, so a body of garbage
    between boundaries was read as an empty form, and an endpoint whose fields are all optional
    (``POST /api/tasks/next/``) acted on it. An empty form (the closing boundary alone) stays one.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> parsers.DataAndFiles:
        parsed = super().parse(stream, media_type, parser_context)
        request = (parser_context or {}).get("request")
        if parsed.data or parsed.files or request is None:
            return parsed
        boundary = (media_type or "").partition("boundary=")[2].split(";")[0].strip().strip('"')
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > len(f"--{boundary}--\r\n") + 2:
            raise ParseError("Multipart form parse error - no part of the body names a form field.")
        return parsed


FormParser = parsers.FormParser

# Every API view's parsers (REST_FRAMEWORK's order), unless it narrows them (an upload: multipart).
DEFAULT_PARSERS = [JSONParser, MultiPartParser, FormParser]
