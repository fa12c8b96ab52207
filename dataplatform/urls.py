from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("dataplatform.api.urls")),
    path("api/", include("annotation.api.urls")),
    path("", include("dataplatform.web")),  # the web UI: / and /app/… (frontend/dist)
]

if settings.STORAGE_BACKEND == "local":
    # The embedded demo serves its media folder itself; production serves presigned S3 URLs.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))

# API paths answer unknown routes and server errors in the API's JSON error shape.
handler400 = "dataplatform.api.fallback.handler400"
handler404 = "dataplatform.api.fallback.handler404"
handler500 = "dataplatform.api.fallback.handler500"
