"""The local storage's media route: a file under MEDIA_ROOT, only for a link that ``storage.urls_for`` signed.

``/media/<key>?expires=…&signature=…`` answers the file at exactly ``key`` while the signature is
valid for that key and that time; anything else is 403 in the API's error shape, whether or not a
file is there (a bare ``/media/<key>`` reveals nothing). A valid link to a file that is gone is 404.
On S3 the browser fetches presigned S3 URLs instead, and this route serves nothing.
"""

from __future__ import annotations

import mimetypes
import os
import time

from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from dataplatform import storage
from dataplatform.errors import error_body


@require_safe
def media_serve(request: HttpRequest, key: str) -> HttpResponse:
    expires = request.GET.get("expires", "")
    try:
        storage.media_signature_check(key=key, expires=expires, signature=request.GET.get("signature", ""))
    except storage.MediaAccessDenied as error:
        return JsonResponse(error_body("forbidden", str(error)), status=403)
    path = _stored_file(key)
    if path is None:
        return JsonResponse(error_body("not_found", "This file is no longer stored."), status=404)
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    response = FileResponse(open(path, "rb"), content_type=content_type,  # noqa: SIM115 - closed by Django
                            as_attachment=not content_type.startswith("image/"), filename=os.path.basename(path))
    response["Cache-Control"] = f"private, max-age={max(0, int(expires) - int(time.time()))}"
    return response


def _stored_file(key: str) -> str | None:
    """The path of the regular file stored at ``key`` under MEDIA_ROOT; None if there is none."""
    if not key or key.startswith("/") or "\\" in key or any(part in ("", ".", "..") for part in key.split("/")):
        return None
    try:
        path = storage.local_path(key)
    except SuspiciousFileOperation:  # outside the media folder
        return None
    return path if path is not None and os.path.isfile(path) else None
