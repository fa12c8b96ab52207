"""Routes: exports and imports (SA-V, COCO, DAVIS). Job status: the platform's /api/jobs/{id}/."""

from django.urls import path

from annotation.api import exchange

urlpatterns: list = [
    path("exports/", exchange.ExportCreateApi.as_view(), name="export-create"),
    path("exports/<oid:job_id>/download/", exchange.ExportDownloadApi.as_view(), name="export-download"),
    path("videos/<oid:video_id>/imports/", exchange.VideoImportApi.as_view(), name="video-import"),
]
