"""Django-level error views that answer API paths in the API's error shape.

DRF's exception handler covers errors raised inside API views. A URL that matches no route, or
an error outside DRF (a middleware), reaches Django's own 404/500 pages instead, which are HTML.
Wire these in the root URLconf (``handler400``, ``handler404`` and ``handler500`` =
``"dataplatform.api.fallback.handler…"``): API paths get JSON, others Django's pages.

``handler400`` also answers a request refused before any view read it (a form with too many
fields read by the CSRF check, a body over the size limit: ``dataplatform.errors.request_refusal``)
with the refusal's status (413 for a body too large) and one log line, without a traceback.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views import defaults

from dataplatform.errors import error_body, refusal_log, request_refusal

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    refusal = request_refusal(exception) if exception is not None else None
    if refusal is None:
        if _is_api(request):
            return JsonResponse(error_body("bad_request", "The request is malformed."), status=400)
        return defaults.bad_request(request, exception)
    if _is_api(request):
        response: HttpResponse = JsonResponse(error_body(refusal.code, refusal.message, extra=refusal.extra),
                                              status=refusal.status_code)
    else:
        response = HttpResponse(status=refusal.status_code)
        response.content = defaults.ERROR_PAGE_TEMPLATE % {
            "title": f"{response.reason_phrase} ({refusal.status_code})", "details": escape(refusal.message)}
    refusal_log(request, response, exception)
    return response


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it has been logged."),
                            status=500)
    return defaults.server_error(request)
