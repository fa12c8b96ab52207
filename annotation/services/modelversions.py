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


def model_version_promote(*, version: ModelVersion, user) -> ModelVersion:
    """Make ``version`` the active one: sessions opened from now on use it. A task keeps the version
    its session first opened with (``annotation.services.sessions.session_model_version``), so open
    sessions are not disturbed. Idempotent: promoting the active version changes nothing.
    """
    with transaction.atomic():
        # Lock every active row (at most one) and the target, in id order, so two promotions serialise.
        list(ModelVersion.objects.select_for_update().filter(is_active=True).order_by("pk"))
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.is_active:
            return locked
        ModelVersion.objects.filter(is_active=True).update(is_active=False)
        now = timezone.now()
        ModelVersion.objects.filter(pk=locked.pk).update(is_active=True, promoted_at=now)
    version.refresh_from_db()
    return version
