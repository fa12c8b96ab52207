from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dataplatform.signed_media import media_serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("dataplatform.api.urls")),
    path("api/", include("annotation.api.urls")),
    # Local storage's files, by signed link only (storage.urls_for); on S3 links go to the bucket.
    re_path(r"^media/(?P<key>.*)$", media_serve, name="media"),
    path("", include("dataplatform.web")),  # the web UI: / and /app/… (frontend/dist)
]

# API paths answer unknown routes and server errors in the API's JSON error shape.
handler400 = "dataplatform.api.fallback.handler400"
handler404 = "dataplatform.api.fallback.handler404"
handler500 = "dataplatform.api.fallback.handler500"
