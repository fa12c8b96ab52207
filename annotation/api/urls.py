"""Annotation API routes (mounted at /api/): one module of routes per part of the domain."""

from annotation.api.routes_exchange import urlpatterns as exchange_urlpatterns
from annotation.api.routes_models import urlpatterns as models_urlpatterns
from annotation.api.routes_queue import urlpatterns as queue_urlpatterns

urlpatterns = [*queue_urlpatterns, *exchange_urlpatterns, *models_urlpatterns]
