"""Django-level error views that answer API paths in the API's error shape.

DRF's exception handler covers errors raised inside API views. A URL that matches no route, or
an error outside DRF (a middleware), reaches Django's own 404/500 pages instead, which are HTML.
Wire these in the root URLconf (``handler404 = "dataplatform.api.fallback.handler404"`` and
``handler500 = "dataplatform.api.fallback.handler500"``): API paths get JSON, others Django's pages.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from dataplatform.errors import error_body

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it has been logged."),
                            status=500)
    return defaults.server_error(request)
