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


MultiPartParser = parsers.MultiPartParser
FormParser = parsers.FormParser

# Every API view's parsers (REST_FRAMEWORK's order), unless it narrows them (an upload: multipart).
DEFAULT_PARSERS = [JSONParser, MultiPartParser, FormParser]
