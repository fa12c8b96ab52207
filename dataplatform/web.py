"""The web UI: ``/`` and every client route under ``/app/`` answer the built ``frontend/dist/index.html``.

The build's assets are static files (``/static/``, whitenoise; STATICFILES_DIRS includes
``frontend/dist`` when it exists). Without a build, these routes answer a page that says how to
make one, instead of a bare 404.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Masklet: web UI not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}
code,pre{{background:#f3f3f3;padding:.1rem .3rem}}pre{{padding:.75rem}}</style></head>
<body><h1>The web UI is not built yet</h1>
<p>Masklet's API is running (<a href="/api/docs/">API docs</a>), but <code>{path}</code> is missing.
Build the web UI once (Node.js 20.19 or newer):</p>
<pre>make frontend</pre>
<p>(or by hand: <code>cd frontend &amp;&amp; npm install --no-save &amp;&amp; npm run build</code>)</p>
<p>then reload this page. For development with live reload, run <code>npm run dev</code> in
<code>frontend/</code> next to the Django server (see <code>frontend/README.md</code>).</p>
</body></html>
"""


def index_path() -> Path:
    return settings.BASE_DIR / "frontend" / "dist" / "index.html"


@require_safe
@never_cache
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The single-page app's shell; the client router picks the screen from the path."""
    path = index_path()
    try:
        html = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        shown = path.relative_to(settings.BASE_DIR) if path.is_relative_to(settings.BASE_DIR) else path.name
        return HttpResponse(MISSING_BUILD.format(path=escape(str(shown))), status=503)
    return HttpResponse(html)


# Only "" and "app/…": /api/, /admin/, /media/ and /static/ keep their own routes.
urlpatterns = [re_path(r"^(?:app(?:/.*)?)?$", index, name="web-index")]
