"""Routes: model versions and retraining rounds."""

from django.urls import path

from annotation.api import retraining

urlpatterns: list = [
    path("model-versions/", retraining.ModelVersionListApi.as_view(), name="model-version-list"),
    path("model-versions/<oid:version_id>/promote/", retraining.ModelVersionPromoteApi.as_view(),
         name="model-version-promote"),
    path("model-versions/<oid:version_id>/evaluate/", retraining.ModelVersionEvaluateApi.as_view(),
         name="model-version-evaluate"),
    path("retraining-rounds/", retraining.RetrainingRoundListApi.as_view(), name="retraining-round-list"),
    path("retraining-rounds/preview/", retraining.RetrainingPreviewApi.as_view(), name="retraining-preview"),
    path("retraining-rounds/<oid:round_id>/", retraining.RetrainingRoundDetailApi.as_view(),
         name="retraining-round-detail"),
]
