"""Model version writes."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import ModelVersion

DEFAULT_MODEL_VERSION_NAME = "micro-shipped"


def model_version_ensure_default() -> ModelVersion:
    """Make sure one model version is active: the shipped weights of ENGINE_DEFAULT_CONFIG.

    Idempotent. When some version is active already (a promoted retrained one), it stays active
    and is returned; otherwise the default version is created if missing and activated.
    """
    active = ModelVersion.objects.filter(is_active=True).first()
    if active is not None:
        return active
    try:
        with transaction.atomic():
            version, _ = ModelVersion.objects.get_or_create(
                name=DEFAULT_MODEL_VERSION_NAME,
                defaults={"config_name": settings.ENGINE_DEFAULT_CONFIG, "checkpoint_key": ""},
            )
            ModelVersion.objects.filter(pk=version.pk).update(is_active=True, promoted_at=timezone.now())
    except IntegrityError:  # another process activated a version at the same moment
        pass
    return ModelVersion.objects.get(is_active=True)
